//! The horizontal reconcile step: read the target's Scale, decide, write `spec.replicas` when the
//! decision moves it (leader only, `applyPolicy.mode: Apply` only), and record the outcome in the
//! DPA: the action, the limit reason, or the error with its reason.

use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;

use super::compute::{
    Bounds, ScaleDecision, ScaleInputs, compute_scale_action, fallback_direction, pinned_decision, pinned_replicas,
};
use super::history;
use crate::workload::context::Context;
use crate::workload::crd::{ApplyPolicyMode, DatadogPodAutoscalerSpec, ScalingStrategy};
use crate::workload::model::{ConditionError, PodAutoscalerInternal, ProcessResult, Reason, ScalingStep};
use crate::workload::scale::{ScaleClient, ScaleError, parse_gvk};

/// Event reason of a successful scale.
pub const SUCCESSFUL_SCALE_EVENT: &str = "SuccessfulScale";
/// Event reason of a failed scale.
pub const FAILED_SCALE_EVENT: &str = "FailedScale";

/// `"true"` stops every action (recommendations are still computed elsewhere).
const PAUSE_ANNOTATION: &str = "autoscaling.datadoghq.com/pause";

/// False when both `scaleUp` and `scaleDown` strategies are `Disabled`.
pub fn horizontal_enabled(spec: &DatadogPodAutoscalerSpec) -> bool {
    let disabled = |p: Option<&crate::workload::crd::ScalingPolicy>| {
        p.and_then(|p| p.strategy).is_some_and(|s| s == ScalingStrategy::Disabled)
    };
    let policy = spec.apply_policy.as_ref();
    !(disabled(policy.and_then(|p| p.scale_up.as_ref())) && disabled(policy.and_then(|p| p.scale_down.as_ref())))
}

fn clear_horizontal_state(dpa: &mut PodAutoscalerInternal) {
    dpa.horizontal_last_actions.clear();
    dpa.horizontal_last_recommendations.clear();
    dpa.horizontal_limit_reason = None;
    dpa.horizontal_action_error = None;
}

/// A failed or forbidden action: the error replaces the limit reason.
fn record_error(dpa: &mut PodAutoscalerInternal, error: ConditionError) {
    dpa.horizontal_action_error = Some(error);
    dpa.horizontal_limit_reason = None;
}

/// A decision carried out (or with nothing to do): the action joins the history when it moved
/// the count; its limit reason replaces the last one (a move without one clears it).
fn record_decision(dpa: &mut PodAutoscalerInternal, decision: &ScaleDecision, now: Timestamp) {
    dpa.horizontal_action_error = None;
    let moved = decision.to != decision.from;
    if moved {
        let retention = history::actions_retention(dpa.spec.apply_policy.as_ref());
        history::push_action(&mut dpa.horizontal_last_actions, decision.action(now), retention, now);
    }
    if let Some(reason) = &decision.limited_reason {
        dpa.horizontal_limit_reason = Some(reason.clone());
    } else if moved {
        dpa.horizontal_limit_reason = None;
    }
}

/// The horizontal [`ScalingStep`].
#[derive(Default)]
pub struct HorizontalController {
    scale: Arc<ScaleClient>,
}

impl HorizontalController {
    /// A controller sharing `scale` (and its discovery cache) with other users.
    pub fn new(scale: Arc<ScaleClient>) -> Self {
        HorizontalController { scale }
    }

    /// One horizontal pass over `dpa` (the DPA is locked by the caller).
    pub async fn reconcile(&self, ctx: &Context, dpa: &mut PodAutoscalerInternal, now: Timestamp) -> ProcessResult {
        if !horizontal_enabled(&dpa.spec) {
            clear_horizontal_state(dpa);
            return ProcessResult::NoRequeue;
        }
        if dpa.annotation(PAUSE_ANNOTATION) == Some("true") {
            return ProcessResult::NoRequeue;
        }
        history::observe_active_recommendation(dpa, now);

        let target = dpa.spec.target_ref.clone();
        let api_version = target.api_version.as_deref().unwrap_or_default();
        let Some(gvk) = dpa.target_gvk.clone().or_else(|| parse_gvk(api_version, &target.kind)) else {
            dpa.error = Some(ConditionError::new(
                Reason::InvalidTargetRef,
                format!("invalid targetRef of {}: apiVersion {api_version:?}, kind {:?}", dpa.id(), target.kind),
            ));
            return ProcessResult::NoRequeue;
        };
        let scale = match self.scale.get(&ctx.client, &dpa.namespace, &gvk, &target.name).await {
            Ok(scale) => scale,
            Err(ScaleError::NotFound(message)) => {
                dpa.error = Some(ConditionError::new(Reason::TargetNotFound, format!("scale target {message}")));
                dpa.current_replicas = None;
                dpa.scaled_replicas = None;
                return ProcessResult::NoRequeue;
            }
            Err(e) => {
                let message = format!("failed to get scale subresource for autoscaler {}, err: {e}", dpa.id());
                record_error(dpa, ConditionError::new(Reason::ScaleFailed, message));
                return ProcessResult::Requeue;
            }
        };
        let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        dpa.scaled_replicas = Some(current);

        let decision = match self.decide(dpa, current, now) {
            Some(Ok(decision)) => decision,
            Some(Err(error)) => {
                record_error(dpa, error);
                return ProcessResult::NoRequeue;
            }
            None => return ProcessResult::NoRequeue,
        };
        let after = decision.requeue_after.map_or(ProcessResult::NoRequeue, ProcessResult::RequeueAfter);
        if decision.to == decision.from {
            record_decision(dpa, &decision, now);
            return after;
        }
        // Leadership is checked at write time: a lost lease between read and write writes nothing.
        if !ctx.is_leader() {
            return ProcessResult::NoRequeue;
        }
        let (namespace, name) = (&dpa.namespace, &target.name);
        match self.scale.set_replicas(&ctx.client, &gvk, &scale, decision.to).await {
            Ok(_) => {
                let note = format!(
                    "Scaled target: {namespace}/{name} from {} replicas to {} replicas",
                    decision.from, decision.to
                );
                record_decision(dpa, &decision, now);
                dpa.scaled_replicas = Some(decision.to);
                ctx.dpa_event(dpa, EventType::Normal, SUCCESSFUL_SCALE_EVENT, note).await;
                after
            }
            Err(e) => {
                let message =
                    format!("failed to scale target: {namespace}/{name} to {} replicas, err: {e}", decision.to);
                ctx.dpa_event(dpa, EventType::Warning, FAILED_SCALE_EVENT, message.clone()).await;
                record_error(dpa, ConditionError::new(Reason::ScaleFailed, message));
                ProcessResult::Requeue
            }
        }
    }

    /// The decision for `current` replicas: pinned by `force-replicas` (Apply mode only), else
    /// computed from the active recommendation; `None` with neither.
    fn decide(
        &self,
        dpa: &PodAutoscalerInternal,
        current: i32,
        now: Timestamp,
    ) -> Option<Result<ScaleDecision, ConditionError>> {
        let mode = dpa.spec.apply_policy.as_ref().and_then(|p| p.mode).unwrap_or_default();
        let active = dpa.active.horizontal.as_ref();
        if mode == ApplyPolicyMode::Apply
            && let Some(pin) = pinned_replicas(&dpa.annotations)
        {
            return Some(pinned_decision(current, pin, active.map(|a| a.replicas)));
        }
        let active = active?;
        let inputs = ScaleInputs {
            current,
            recommended: active.replicas,
            source: active.source,
            bounds: Bounds::of(dpa.spec.constraints.as_ref()),
            policy: dpa.spec.apply_policy.as_ref(),
            fallback_direction: fallback_direction(&dpa.spec),
            recommendations: &dpa.horizontal_last_recommendations,
            actions: &dpa.horizontal_last_actions,
            now,
        };
        Some(compute_scale_action(&inputs))
    }
}

impl ScalingStep for HorizontalController {
    fn sync<'a>(
        &'a self,
        ctx: &'a Context,
        dpa: &'a mut PodAutoscalerInternal,
        now: Timestamp,
    ) -> BoxFuture<'a, ProcessResult> {
        Box::pin(self.reconcile(ctx, dpa, now))
    }
}
