//! The rollout path (spec §10.9 step 6): Deployments, Argo Rollouts and StatefulSets get the
//! recommendation through a rollout, triggered by annotating their pod template with
//! `rolloutAt` and `rec-id`; the `/autoscaling` webhook patches the pods it creates.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::events::EventType;
use serde_json::json;

use super::pods::Pods;
use super::{MIN_DELAY_BETWEEN_ROLLOUTS, Plan, ROLLOUT_AT_ANNOTATION, ROLLOUT_CHECK_REQUEUE, ROLLOUT_TRIGGERED};
use crate::workload::REC_ID_ANNOTATION;
use crate::workload::context::Context;
use crate::workload::crd::VerticalAction;
use crate::workload::model::{ConditionError, PodAutoscalerInternal, ProcessResult, Reason};

/// What to do about a rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every pod carries the recommendation.
    Complete,
    /// A rollout for it was triggered, or another one is under way.
    Wait,
    Trigger,
}

/// The kinds a rollout can be triggered on.
pub fn supported(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet" | "Rollout")
}

pub async fn sync(
    ctx: &Context,
    dpa: &mut PodAutoscalerInternal,
    plan: &Plan,
    pods: &Pods,
    now: Timestamp,
) -> ProcessResult {
    if !supported(&plan.target.kind) {
        dpa.vertical_action_error = Some(unsupported(&plan.target.kind));
        return ProcessResult::NoRequeue;
    }
    let in_progress =
        if &*plan.target.kind == "StatefulSet" { pods.several_revisions() } else { pods.several_owners() };
    match decide(dpa, plan, pods, in_progress, now) {
        Decision::Complete => {
            dpa.vertical_action_error = None;
            ProcessResult::NoRequeue
        }
        Decision::Wait => ProcessResult::RequeueAfter(ROLLOUT_CHECK_REQUEUE),
        Decision::Trigger => trigger(ctx, dpa, plan, now).await,
    }
}

/// `UnsupportedTargetKind` for a target no rollout can be triggered on.
pub fn unsupported(kind: &str) -> ConditionError {
    ConditionError::new(
        Reason::UnsupportedTargetKind,
        format!(
            "automatic rollout not available for target Kind: {kind}. Applying to existing PODs require manual trigger"
        ),
    )
}

/// Complete when every pod carries the ID; wait when a rollout for this ID was triggered, or when
/// another rollout is under way — unless the recommendation raises a limit or forces resources,
/// which bypasses it at most once per [`MIN_DELAY_BETWEEN_ROLLOUTS`]; else trigger.
pub fn decide(dpa: &PodAutoscalerInternal, plan: &Plan, pods: &Pods, in_progress: bool, now: Timestamp) -> Decision {
    let id = plan.constrained.id.as_str();
    if pods.all_on(id) {
        return Decision::Complete;
    }
    let last = dpa.vertical_last_action.as_ref();
    if last.is_some_and(|a| a.type_ == ROLLOUT_TRIGGERED && a.version == id) {
        return Decision::Wait;
    }
    if in_progress {
        let bypass = plan.constrained.forced || pods.limit_increase(&plan.constrained.resources, id);
        if !bypass {
            tracing::debug!(dpa = %dpa.id(), "a rollout is under way; waiting for it before applying {id}");
            return Decision::Wait;
        }
        let min_delay = SignedDuration::try_from(MIN_DELAY_BETWEEN_ROLLOUTS).unwrap_or(SignedDuration::MAX);
        if last.is_some_and(|a| a.time.0.checked_add(min_delay).is_ok_and(|t| t > now)) {
            return Decision::Wait;
        }
        tracing::info!(dpa = %dpa.id(), "a rollout is under way but {id} raises limits or forces resources: bypassing it");
    }
    Decision::Trigger
}

/// Annotates the target's pod template (strategic merge; merge patch for Argo Rollouts, a custom
/// resource) and records the action and its event.
pub async fn trigger(ctx: &Context, dpa: &mut PodAutoscalerInternal, plan: &Plan, now: Timestamp) -> ProcessResult {
    let target = &plan.target;
    let id = plan.constrained.id.clone();
    let rollout_at = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = json!({"spec": {"template": {"metadata": {"annotations": {
        ROLLOUT_AT_ANNOTATION: rollout_at, REC_ID_ANNOTATION: id}}}}});
    let (group, version) = target.api_version.rsplit_once('/').unwrap_or(("", &target.api_version));
    let plural = format!("{}s", target.kind.to_lowercase());
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, &target.kind), &plural);
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &target.namespace, &resource);
    let patch = if &*target.kind == "Rollout" { Patch::Merge(&body) } else { Patch::Strategic(&body) };
    match api.patch(&target.name, &PatchParams::default(), &patch).await {
        Ok(_) => {
            tracing::info!(dpa = %dpa.id(), gvk = %plan.gvk, name = %target.name, "rollout triggered for {id}");
            let note = format!("Successfully triggered rollout on target:{}/{}", plan.gvk, target.name);
            ctx.dpa_event(dpa, EventType::Normal, "SuccessfulTriggerRollout", note).await;
            dpa.vertical_last_action =
                Some(VerticalAction { time: Time(now), version: id, type_: ROLLOUT_TRIGGERED.into() });
            dpa.vertical_action_error = None;
            ProcessResult::RequeueAfter(ROLLOUT_CHECK_REQUEUE)
        }
        Err(e) => {
            let message = format!(
                "failed to trigger rollout for gvk: {}, name: {}, err: {}",
                plan.gvk,
                target.name,
                super::error_message(&e)
            );
            tracing::warn!(dpa = %dpa.id(), "{message}");
            ctx.dpa_event(dpa, EventType::Warning, "FailedTriggerRollout", message.clone()).await;
            dpa.vertical_action_error = Some(ConditionError::new(Reason::RolloutFailed, message));
            ProcessResult::Requeue
        }
    }
}
