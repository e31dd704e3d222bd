//! The vertical controller (spec §10.9): from the DPA's active vertical recommendation, the
//! resources pods get (forced resources, constraints, recommendation ID — `constraints`, shared
//! with the `/autoscaling` webhook), then either a rollout of the target workload (pod-template
//! annotations `rolloutAt` and `rec-id`, `rollout`) or in-place `pods/resize` with its eviction and
//! rollout fallbacks (`inplace`). `applied` records the `RecommendationApplied` event of pods the
//! recommendation reached (§10.10). `pods` classifies the target's pods from the pod index.

mod applied;
pub mod constraints;
mod inplace;
mod pods;
mod rollout;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::jiff::Timestamp;
use kube::core::GroupVersionKind;
use parking_lot::Mutex;

pub use applied::run_applied_events;
pub use constraints::{Constrained, VerticalInputs, constrain, is_burstable, is_paused, parse_forced};

use super::context::Context;
use super::crd::{ApplyPolicyMode, UpdateStrategy};
use super::dpa_store::TargetKey;
use super::model::{ConditionError, PodAutoscalerInternal, ProcessResult, Reason, ScalingStep, VerticalValues};

/// `"true"` stops every action of the autoscaler.
pub const PAUSE_ANNOTATION: &str = "autoscaling.datadoghq.com/pause";
/// JSON list of `{name, requests, limits}` overriding the recommendation.
pub const FORCE_RESOURCES_ANNOTATION: &str = "autoscaling.datadoghq.com/force-resources";
/// JSON object of preview features, e.g. `{"burstable": true}`.
pub const PREVIEW_ANNOTATION: &str = "autoscaling.datadoghq.com/preview";
/// Pod-template annotation a rollout trigger sets (RFC 3339).
pub const ROLLOUT_AT_ANNOTATION: &str = "autoscaling.datadoghq.com/rolloutAt";

/// `applyPolicy.update.resizePendingPeriod` default: deferred resizes are evicted after it.
pub const DEFAULT_RESIZE_PENDING_PERIOD: Duration = Duration::from_secs(600);
/// `applyPolicy.update.rolloutFallbackDelay` default: pods stuck longer escalate to a rollout.
pub const DEFAULT_ROLLOUT_FALLBACK_DELAY: Duration = Duration::from_secs(1200);
/// Requeue while a rollout is awaited, and when the target has no pods.
pub const ROLLOUT_CHECK_REQUEUE: Duration = Duration::from_secs(120);
/// Requeue while an in-place resize is in progress.
pub const IN_PLACE_REQUEUE: Duration = Duration::from_secs(30);
/// Least time between two rollouts bypassing one in progress.
pub const MIN_DELAY_BETWEEN_ROLLOUTS: Duration = Duration::from_secs(600);
/// How long the answer to "does the API serve `pods/resize`" is kept.
const RESIZE_DISCOVERY_TTL: Duration = Duration::from_secs(900);

/// Vertical action types (`status.vertical.lastAction.type`).
pub const ROLLOUT_TRIGGERED: &str = "RolloutTriggered";
pub const RESIZE_TRIGGERED: &str = "ResizeTriggered";
pub const RESIZE_COMPLETED: &str = "ResizeCompleted";

/// The vertical [`ScalingStep`]; keeps the `pods/resize` discovery answer between syncs.
#[derive(Default)]
pub struct VerticalController {
    resize_supported: Mutex<Option<(bool, Instant)>>,
}

impl ScalingStep for VerticalController {
    fn sync<'a>(
        &'a self,
        ctx: &'a Context,
        dpa: &'a mut PodAutoscalerInternal,
        now: Timestamp,
    ) -> BoxFuture<'a, ProcessResult> {
        Box::pin(self.run(ctx, dpa, now))
    }
}

/// One sync's view of the DPA: its target and the resources pods should get.
pub(crate) struct Plan {
    pub target: TargetKey,
    /// `<group>/<version>, Kind=<kind>` as Go prints a GroupVersionKind (messages).
    pub gvk: String,
    pub constrained: Constrained,
}

impl VerticalController {
    async fn run(&self, ctx: &Context, dpa: &mut PodAutoscalerInternal, now: Timestamp) -> ProcessResult {
        if !vertical_enabled(dpa) {
            clear_vertical_state(dpa);
            return ProcessResult::NoRequeue;
        }
        let Some(values) = dpa.active.vertical.clone().filter(|v| !v.hash.is_empty()) else {
            dpa.vertical_action_error = None;
            dpa.vertical_constrained = None;
            dpa.vertical_limited = None;
            return ProcessResult::NoRequeue;
        };
        let inputs = VerticalInputs::of(&dpa.spec, &dpa.annotations);
        let constrained = match constrain(&values.resources, &values.hash, &inputs) {
            Ok(c) => c,
            Err(e) => {
                dpa.vertical_constrained = None;
                dpa.vertical_limited = None;
                dpa.vertical_action_error = Some(e);
                return ProcessResult::NoRequeue;
            }
        };
        dpa.vertical_constrained = Some(VerticalValues {
            source: values.source,
            timestamp: values.timestamp,
            resources: constrained.resources.clone(),
            hash: constrained.id.clone(),
        });
        dpa.vertical_limited = constrained.limited.clone();

        let plan = Plan { target: target_of(dpa), gvk: gvk_string(dpa), constrained };
        let pods = ctx.pods.pods_of(&plan.target);
        if pods.is_empty() {
            tracing::debug!(dpa = %dpa.id(), target = %plan.target, "no pods for the target yet");
            return ProcessResult::RequeueAfter(ROLLOUT_CHECK_REQUEUE);
        }
        let pods = pods::classify(pods, &plan.constrained.id);
        dpa.vertical_scaled = Some(pods.completed() as i32);

        if let Err(reason) = patching_strategy(dpa, &values) {
            dpa.vertical_action_error = Some(ConditionError::new(Reason::PolicyRestricted, reason));
            return ProcessResult::NoRequeue;
        }
        if !ctx.is_leader() {
            return ProcessResult::NoRequeue;
        }
        if self.rollout_required(ctx, dpa, &plan).await {
            return rollout::sync(ctx, dpa, &plan, &pods, now).await;
        }
        inplace::sync(ctx, dpa, &plan, &pods, now).await
    }

    /// The rollout path is taken when in-place scaling is off, the DPA asks for rollouts, runtime
    /// values (GOMEMLIMIT, set only at pod creation) are recommended, or the API has no `pods/resize`.
    async fn rollout_required(&self, ctx: &Context, dpa: &PodAutoscalerInternal, plan: &Plan) -> bool {
        let strategy = dpa.spec.apply_policy.as_ref().and_then(|p| p.update.as_ref()).and_then(|u| u.strategy);
        let runtime =
            plan.constrained.resources.iter().any(|r| r.runtime.as_ref().is_some_and(|v| v.gomemlimit.is_some()));
        !ctx.settings.in_place_vertical_scaling
            || strategy == Some(UpdateStrategy::TriggerRollout)
            || runtime
            || !self.resize_supported(ctx).await
    }

    /// Whether core/v1 lists `pods/resize` (cached 15 minutes; a failed discovery is retried).
    async fn resize_supported(&self, ctx: &Context) -> bool {
        if let Some((supported, at)) = *self.resize_supported.lock()
            && at.elapsed() < RESIZE_DISCOVERY_TTL
        {
            return supported;
        }
        match ctx.client.list_core_api_resources("v1").await {
            Ok(list) => {
                let supported = list.resources.iter().any(|r| r.name == "pods/resize");
                *self.resize_supported.lock() = Some((supported, Instant::now()));
                supported
            }
            Err(e) => {
                tracing::warn!(error = %e, "discovery of core/v1 failed: cannot tell whether pods/resize is served");
                false
            }
        }
    }
}

/// Vertical scaling is on unless `applyPolicy.update.strategy` is `Disabled`.
pub fn vertical_enabled(dpa: &PodAutoscalerInternal) -> bool {
    let strategy = dpa.spec.apply_policy.as_ref().and_then(|p| p.update.as_ref()).and_then(|u| u.strategy);
    strategy != Some(UpdateStrategy::Disabled)
}

/// Forgets every vertical outcome (vertical scaling disabled).
fn clear_vertical_state(dpa: &mut PodAutoscalerInternal) {
    dpa.vertical_last_action = None;
    dpa.vertical_action_error = None;
    dpa.vertical_limited = None;
    dpa.vertical_constrained = None;
    dpa.vertical_scaled = None;
    dpa.vertical_evicted = None;
}

/// Whether pods may be changed, or why not (reason `PolicyRestricted`): the pause annotation,
/// `applyPolicy.mode` other than `Apply`, `update.strategy: Disabled`.
pub fn patching_strategy(dpa: &PodAutoscalerInternal, values: &VerticalValues) -> Result<(), String> {
    if is_paused(&dpa.annotations) {
        return Err(format!(
            "vertical scaling disabled: autoscaling locally paused by the {PAUSE_ANNOTATION} annotation"
        ));
    }
    let Some(policy) = dpa.spec.apply_policy.as_ref() else { return Ok(()) };
    let mode = policy.mode.unwrap_or_default();
    if mode != ApplyPolicyMode::Apply {
        return Err(format!(
            "vertical scaling disabled due to applyMode: {mode:?} not allowing recommendations from source: {}",
            values.source
        ));
    }
    match policy.update.as_ref().and_then(|u| u.strategy) {
        Some(UpdateStrategy::Disabled) => {
            Err("vertical scaling disabled due to update strategy set to disabled".into())
        }
        _ => Ok(()),
    }
}

/// The DPA's target workload, keyed as the pod index keys it.
pub fn target_of(dpa: &PodAutoscalerInternal) -> TargetKey {
    TargetKey::of(&dpa.namespace, &dpa.spec.target_ref)
}

fn gvk_string(dpa: &PodAutoscalerInternal) -> String {
    let gvk = dpa.target_gvk.clone().unwrap_or_else(|| {
        let api_version = dpa.spec.target_ref.api_version.as_deref().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        GroupVersionKind::gvk(group, version, &dpa.spec.target_ref.kind)
    });
    let group_version =
        if gvk.group.is_empty() { gvk.version.clone() } else { format!("{}/{}", gvk.group, gvk.version) };
    format!("{group_version}, Kind={}", gvk.kind)
}

/// A `kube` error as a short message (the API's own message when it answered).
pub(crate) fn error_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        e => e.to_string(),
    }
}

/// The HTTP status code of an API error.
pub(crate) fn error_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
