//! The horizontal scaling decision (spec §10.7 `computeScaleAction`), pure: from the target's
//! current `spec.replicas`, the active recommendation, the constraints, the apply policy and the
//! histories, the replica count to scale to, why it differs from the recommendation, or the
//! condition error that forbids scaling, and when to look again.
//!
//! Order of the steps, as the DCA does them: replicas at 0 disable scaling; a current count
//! outside min/max jumps straight to the bound; the stabilization windows; the min/max clamp; the
//! fallback direction (local recommendations only); the scaling rules (with the requeue after the
//! oldest in-window action leaves its period); last, the apply mode and direction strategies.

mod rules;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::history::before;
use crate::workload::crd::{
    ApplyPolicy, ApplyPolicyMode, Constraints, DatadogPodAutoscalerSpec, FallbackDirection, HorizontalAction,
    HorizontalTarget, ScalingStrategy,
};
use crate::workload::model::{ConditionError, Reason, ValueSource};

/// Annotation pinning the replica count (`"28"`), bypassing constraints, stabilization and rules.
pub const FORCE_REPLICAS_ANNOTATION: &str = "autoscaling.datadoghq.com/force-replicas";

/// Which way a decision moves the replica count (`noScale`, `scaleUp`, `scaleDown` in messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleDirection {
    NoScale,
    ScaleUp,
    ScaleDown,
}

impl ScaleDirection {
    pub fn of(current: i32, target: i32) -> Self {
        match current.cmp(&target) {
            std::cmp::Ordering::Less => ScaleDirection::ScaleUp,
            std::cmp::Ordering::Greater => ScaleDirection::ScaleDown,
            std::cmp::Ordering::Equal => ScaleDirection::NoScale,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScaleDirection::NoScale => "noScale",
            ScaleDirection::ScaleUp => "scaleUp",
            ScaleDirection::ScaleDown => "scaleDown",
        }
    }
}

impl fmt::Display for ScaleDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `constraints.minReplicas` (default 1) and `maxReplicas` (default unbounded; ignored when
/// below the minimum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub min: i32,
    pub max: i32,
}

impl Bounds {
    pub fn of(constraints: Option<&Constraints>) -> Self {
        let min = constraints.and_then(|c| c.min_replicas).unwrap_or(1);
        let max = constraints.and_then(|c| c.max_replicas).filter(|max| *max >= min).unwrap_or(i32::MAX);
        Bounds { min, max }
    }
}

/// The direction the local fallback may scale in, when the spec has a `fallback` section
/// (`direction` defaults to `ScaleUp`); `None` without one: no restriction.
pub fn fallback_direction(spec: &DatadogPodAutoscalerSpec) -> Option<FallbackDirection> {
    spec.fallback
        .as_ref()
        .map(|f| f.horizontal.as_ref().and_then(|h| h.direction).unwrap_or(FallbackDirection::ScaleUp))
}

/// The count the `force-replicas` annotation pins; invalid values (not an integer ≥ 1) are
/// ignored, as the DCA does.
pub fn pinned_replicas(annotations: &std::collections::BTreeMap<String, String>) -> Option<i32> {
    annotations.get(FORCE_REPLICAS_ANNOTATION)?.trim().parse::<i32>().ok().filter(|n| *n >= 1)
}

/// Everything the decision reads.
#[derive(Clone, Debug)]
pub struct ScaleInputs<'a> {
    /// The target's current `spec.replicas`.
    pub current: i32,
    /// The active recommendation's replica count.
    pub recommended: i32,
    /// The active recommendation's source.
    pub source: ValueSource,
    pub bounds: Bounds,
    pub policy: Option<&'a ApplyPolicy>,
    /// See [`fallback_direction`].
    pub fallback_direction: Option<FallbackDirection>,
    /// Recent active recommendations, oldest first.
    pub recommendations: &'a [HorizontalTarget],
    /// Recent scaling actions, oldest first.
    pub actions: &'a [HorizontalAction],
    pub now: Timestamp,
}

/// A decision: scale from `from` to `to` (equal: nothing to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleDecision {
    pub from: i32,
    pub to: i32,
    /// The recommendation the decision started from (none when pinned without one).
    pub recommended: Option<i32>,
    /// Why `to` differs from the recommendation.
    pub limited_reason: Option<String>,
    /// Look again after this long (a scaling rule limited the decision).
    pub requeue_after: Option<Duration>,
}

impl ScaleDecision {
    /// The action to record once the target was scaled, at `now`.
    pub fn action(&self, now: Timestamp) -> HorizontalAction {
        HorizontalAction {
            time: Time(now),
            replicas: self.from,
            to_replicas: self.to,
            recommended_replicas: self.recommended,
            limited_reason: self.limited_reason.clone(),
        }
    }
}

fn scaling_disabled_at_zero() -> ConditionError {
    ConditionError::new(Reason::ScalingDisabled, "scaling disabled as current replicas is set to 0")
}

/// The decision while `force-replicas` pins the count: straight to `pin`, nothing else applies
/// (a target scaled to 0 stays disabled).
pub fn pinned_decision(current: i32, pin: i32, recommended: Option<i32>) -> Result<ScaleDecision, ConditionError> {
    if current == 0 {
        return Err(scaling_disabled_at_zero());
    }
    Ok(ScaleDecision {
        from: current,
        to: pin,
        recommended,
        limited_reason: Some(format!("replica count pinned to {pin} by the {FORCE_REPLICAS_ANNOTATION} annotation")),
        requeue_after: None,
    })
}

/// The scaling decision of spec §10.7 steps 1–7.
pub fn compute_scale_action(i: &ScaleInputs<'_>) -> Result<ScaleDecision, ConditionError> {
    if i.current == 0 {
        return Err(scaling_disabled_at_zero());
    }
    let original = i.recommended;
    let Bounds { min, max } = i.bounds;

    // Outside the bounds: back to the closest one in one step, without stabilization or rules.
    // (The DCA skips the policy check here too; a Preview-mode DPA still never acts.)
    let bound = if i.current < min {
        Some(min)
    } else if i.current > max {
        Some(max)
    } else {
        None
    };
    if let Some(bound) = bound {
        check_apply_mode(i.policy, i.source)?;
        return Ok(ScaleDecision {
            from: i.current,
            to: bound,
            recommended: Some(original),
            limited_reason: Some(format!(
                "current replica count is outside of min/max constraints, scaling back to closest boundary: {bound} replicas"
            )),
            requeue_after: None,
        });
    }

    let (mut target, mut limited_reason) = stabilize(i, original);

    if target > max {
        target = max;
        limited_reason = Some(format!(
            "desired replica count limited to {max} (originally {original}) due to max replicas constraint"
        ));
    } else if target < min {
        target = min;
        limited_reason = Some(format!(
            "desired replica count limited to {min} (originally {original}) due to min replicas constraint"
        ));
    }

    let direction = ScaleDirection::of(i.current, target);
    if direction != ScaleDirection::NoScale
        && i.source == ValueSource::Local
        && let Some(allowed) = i.fallback_direction
        && !fallback_allows(allowed, direction)
    {
        return Err(ConditionError::new(
            Reason::FallbackRestricted,
            format!("scaling disabled as fallback in the scaling direction ({direction}) is disabled"),
        ));
    }

    let mut requeue_after = None;
    if let Some(policy) = i.policy {
        let limited = match direction {
            ScaleDirection::ScaleUp => rules::limit_scale_up(i, policy.scale_up.as_ref(), target),
            ScaleDirection::ScaleDown => rules::limit_scale_down(i, policy.scale_down.as_ref(), target),
            ScaleDirection::NoScale => None,
        };
        if let Some(limited) = limited {
            target = limited.replicas;
            limited_reason = Some(limited.reason);
            // Rounded to the next second so the event has left the window when we look again.
            requeue_after = Some(Duration::from_secs(limited.expires_in.as_secs()) + Duration::from_secs(1));
        }
    }

    check_apply_mode(i.policy, i.source)?;
    check_direction_strategy(i.policy, direction)?;
    Ok(ScaleDecision { from: i.current, to: target, recommended: Some(original), limited_reason, requeue_after })
}

fn fallback_allows(allowed: FallbackDirection, direction: ScaleDirection) -> bool {
    match allowed {
        FallbackDirection::All => true,
        FallbackDirection::ScaleUp => direction == ScaleDirection::ScaleUp,
        FallbackDirection::ScaleDown => direction == ScaleDirection::ScaleDown,
    }
}

fn window(policy: Option<&crate::workload::crd::ScalingPolicy>) -> Duration {
    let secs = policy.and_then(|p| p.stabilization_window_seconds).unwrap_or(0);
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Step 3: over the recommendations generated within each window (and the current one), never
/// scale up past the lowest of the up window, never down past the highest of the down window.
fn stabilize(i: &ScaleInputs<'_>, recommended: i32) -> (i32, Option<String>) {
    let up_cutoff = before(i.now, window(i.policy.and_then(|p| p.scale_up.as_ref())));
    let down_cutoff = before(i.now, window(i.policy.and_then(|p| p.scale_down.as_ref())));
    let (mut up, mut down) = (recommended, recommended);
    for rec in i.recommendations {
        let Some(generated) = rec.generated_at.as_ref().map(|t| t.0) else { continue };
        if generated > up_cutoff {
            up = up.min(rec.desired_replicas);
        }
        if generated > down_cutoff {
            down = down.max(rec.desired_replicas);
        }
    }
    let stabilized = i.current.max(up).min(down);
    if stabilized == recommended {
        return (stabilized, None);
    }
    let reason = format!(
        "desired replica count adjusted to {stabilized} (originally {recommended}) due to stabilization window"
    );
    (stabilized, Some(reason))
}

fn mode_name(mode: ApplyPolicyMode) -> &'static str {
    match mode {
        ApplyPolicyMode::Apply => "Apply",
        ApplyPolicyMode::Preview => "Preview",
    }
}

/// Step 7, first half: only `applyPolicy.mode: Apply` (the default) acts on recommendations.
fn check_apply_mode(policy: Option<&ApplyPolicy>, source: ValueSource) -> Result<(), ConditionError> {
    match policy.and_then(|p| p.mode) {
        None | Some(ApplyPolicyMode::Apply) => Ok(()),
        Some(mode) => Err(ConditionError::new(
            Reason::PolicyRestricted,
            format!(
                "horizontal scaling disabled due to applyMode: {} not allowing recommendations from source: {source}",
                mode_name(mode)
            ),
        )),
    }
}

/// Step 7, second half: a `Disabled` strategy forbids its direction.
fn check_direction_strategy(policy: Option<&ApplyPolicy>, direction: ScaleDirection) -> Result<(), ConditionError> {
    let disabled = |p: Option<&crate::workload::crd::ScalingPolicy>| {
        p.and_then(|p| p.strategy).is_some_and(|s| s == ScalingStrategy::Disabled)
    };
    let message = match direction {
        ScaleDirection::ScaleUp if disabled(policy.and_then(|p| p.scale_up.as_ref())) => {
            "upscaling disabled by strategy"
        }
        ScaleDirection::ScaleDown if disabled(policy.and_then(|p| p.scale_down.as_ref())) => {
            "downscaling disabled by strategy"
        }
        _ => return Ok(()),
    };
    Err(ConditionError::new(Reason::PolicyRestricted, message))
}
