//! The in-place path (spec §10.9 step 7): pods not on the recommendation get `pods/resize` (then
//! the `rec-id` annotation); pods whose resize cannot happen are evicted through the Eviction API
//! (PDB-aware) so their controller recreates them with the webhook's resources, and the whole
//! target falls back to a rollout when resizing is forbidden or a pod stays stuck too long.
//! Deferred resizes and transient API errors are retried, never taken for infeasible.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, EvictParams, Patch, PatchParams};
use kube::runtime::events::EventType;
use serde_json::{Map, Value, json};

use super::constraints::{compare, is_sentinel};
use super::pods::{ClassifiedPod, PodStatus, Pods, allowed_disruptions};
use super::{
    DEFAULT_RESIZE_PENDING_PERIOD, DEFAULT_ROLLOUT_FALLBACK_DELAY, IN_PLACE_REQUEUE, Plan, RESIZE_COMPLETED,
    RESIZE_TRIGGERED, error_code, error_message, rollout,
};
use crate::workload::REC_ID_ANNOTATION;
use crate::workload::context::Context;
use crate::workload::crd::{ContainerResources, VerticalAction};
use crate::workload::model::{ConditionError, PodAutoscalerInternal, ProcessResult, Reason};
use crate::workload::pod_index::{ContainerResourceEntry, PodEntry, RESTART_ON_CPU, RESTART_ON_MEMORY};

/// How long one eviction may take: the client retries a 429 (a PDB refusal) with backoff for
/// minutes, which must not hold the reconcile; still refused after this, the PDB blocks it.
const EVICTION_WAIT: Duration = Duration::from_secs(5);

/// How a resize attempt ended.
enum Patched {
    Done,
    /// The pod is gone.
    Gone,
    /// RBAC does not allow `pods/resize` (or the annotation).
    Forbidden,
    /// A transient failure (throttled, server error, conflict, connection): try again next sync.
    Retry,
    /// Refused for good: evict the pod instead.
    Refused,
}

pub async fn sync(
    ctx: &Context,
    dpa: &mut PodAutoscalerInternal,
    plan: &Plan,
    pods: &Pods,
    now: Timestamp,
) -> ProcessResult {
    let id = plan.constrained.id.as_str();
    let mut failed: Vec<&ClassifiedPod> = Vec::new();
    let mut forbidden = false;
    let needs_patch: Vec<&ClassifiedPod> = pods.with(PodStatus::NeedsPatch).collect();
    if !needs_patch.is_empty() {
        if dpa.vertical_last_action.as_ref().is_none_or(|a| a.version != id) {
            let action = VerticalAction { time: Time(now), version: id.to_string(), type_: RESIZE_TRIGGERED.into() };
            dpa.vertical_last_action = Some(action);
            dpa.vertical_action_error = None;
            dpa.vertical_evicted = Some(0);
        }
        let percent = ctx.settings.disruption_tolerance_percent;
        let mut budget = allowed_disruptions(pods.len(), pods.disrupted(), percent);
        for pod in needs_patch {
            if disruptive(&pod.entry, &plan.constrained.resources) {
                if budget == 0 {
                    tracing::debug!(dpa = %dpa.id(), pod = %pod.name, "disruptive resize held: disruption budget spent");
                    continue;
                }
                budget -= 1;
            }
            match resize(ctx, &plan.target.namespace, pod, &plan.constrained.resources, id).await {
                Patched::Done | Patched::Gone | Patched::Retry => {}
                Patched::Forbidden => forbidden = true,
                Patched::Refused => failed.push(pod),
            }
        }
    }

    let mut to_evict: Vec<&ClassifiedPod> =
        pods.with(PodStatus::Error).chain(pods.with(PodStatus::Infeasible)).collect();
    to_evict.extend(failed);
    let update = dpa.spec.apply_policy.as_ref().and_then(|p| p.update.as_ref());
    let pending_period = seconds(update.and_then(|u| u.resize_pending_period), DEFAULT_RESIZE_PENDING_PERIOD);
    let fallback_delay = seconds(update.and_then(|u| u.rollout_fallback_delay), DEFAULT_ROLLOUT_FALLBACK_DELAY);
    let triggered_at = dpa.vertical_last_action.as_ref().map(|a| a.time.0.as_second());
    if triggered_at.is_some_and(|t| now.as_second() - t > pending_period) {
        to_evict.extend(pods.with(PodStatus::Deferred));
    }

    let stuck = to_evict.iter().any(|p| p.since != 0 && now.as_second() - p.since > fallback_delay);
    if forbidden || stuck {
        let why =
            if forbidden { "pods/resize is forbidden" } else { "pods stuck longer than the rollout fallback delay" };
        tracing::info!(dpa = %dpa.id(), "in-place resize falls back to a rollout: {why}");
        if !rollout::supported(&plan.target.kind) {
            dpa.vertical_action_error = Some(rollout::unsupported(&plan.target.kind));
            return ProcessResult::RequeueAfter(IN_PLACE_REQUEUE);
        }
        return rollout::trigger(ctx, dpa, plan, now).await;
    }

    evict(ctx, dpa, &plan.target.namespace, &to_evict).await;

    if pods.completed() == pods.len() {
        if dpa.vertical_last_action.as_ref().is_some_and(|a| a.type_ == RESIZE_TRIGGERED) {
            let note = format!("All {} pods resized successfully for autoscaler {}", pods.len(), dpa.id());
            ctx.dpa_event(dpa, EventType::Normal, "ResizeSuccessful", note).await;
            let action = VerticalAction { time: Time(now), version: id.to_string(), type_: RESIZE_COMPLETED.into() };
            dpa.vertical_last_action = Some(action);
            dpa.vertical_action_error = None;
        }
        return ProcessResult::NoRequeue;
    }
    ProcessResult::RequeueAfter(IN_PLACE_REQUEUE)
}

/// A period in seconds: the DPA's when positive, else the default.
fn seconds(configured: Option<i32>, default: Duration) -> i64 {
    configured.filter(|s| *s > 0).map_or(default.as_secs() as i64, i64::from)
}

/// PATCH `pods/<name>/resize` with the recommended resources, then the pod's `rec-id`.
async fn resize(
    ctx: &Context,
    namespace: &str,
    pod: &ClassifiedPod,
    resources: &[ContainerResources],
    id: &str,
) -> Patched {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    if let Some(body) = resize_patch(&pod.entry, resources) {
        let result =
            api.patch_subresource("resize", &pod.name, &PatchParams::default(), &Patch::Strategic(&body)).await;
        if let Err(e) = result {
            return failure(namespace, &pod.name, "resize", &e);
        }
    }
    let annotation = json!({"metadata": {"annotations": {REC_ID_ANNOTATION: id}}});
    match api.patch(&pod.name, &PatchParams::default(), &Patch::Merge(&annotation)).await {
        Ok(_) => Patched::Done,
        Err(e) => failure(namespace, &pod.name, "annotate", &e),
    }
}

fn failure(namespace: &str, pod: &str, what: &str, e: &kube::Error) -> Patched {
    let message = error_message(e);
    match error_code(e) {
        Some(404) => Patched::Gone,
        Some(403) => {
            tracing::warn!(pod = %format!("{namespace}/{pod}"), "{what} forbidden: {message}");
            Patched::Forbidden
        }
        Some(409 | 429 | 500..) | None => {
            tracing::warn!(pod = %format!("{namespace}/{pod}"), "{what} failed, retrying next sync: {message}");
            Patched::Retry
        }
        Some(_) => {
            tracing::warn!(pod = %format!("{namespace}/{pod}"), "{what} refused, will evict: {message}");
            Patched::Refused
        }
    }
}

/// The strategic-merge body of `pods/resize` for the pod's containers that have a recommendation
/// (in the pod's order); a removal sentinel deletes the limit. None when no container matches.
pub fn resize_patch(pod: &PodEntry, resources: &[ContainerResources]) -> Option<Value> {
    let containers: Vec<Value> = pod
        .containers
        .iter()
        .filter_map(|c| resources.iter().find(|r| *r.name == *c.name))
        .map(|reco| {
            let mut out = Map::new();
            if let Some(requests) = reco.requests.as_ref().filter(|r| !r.is_empty()) {
                out.insert("requests".into(), json!(requests));
            }
            if let Some(limits) = reco.limits.as_ref().filter(|l| !l.is_empty()) {
                let limits: Map<String, Value> = limits
                    .iter()
                    .map(|(k, q)| (k.clone(), if is_sentinel(q) { Value::Null } else { json!(q) }))
                    .collect();
                out.insert("limits".into(), Value::Object(limits));
            }
            json!({"name": reco.name, "resources": out})
        })
        .collect();
    (!containers.is_empty()).then(|| json!({"spec": {"containers": containers}}))
}

/// The resize changes a resource whose resize policy restarts the container.
pub fn disruptive(pod: &PodEntry, resources: &[ContainerResources]) -> bool {
    pod.containers.iter().any(|c| {
        let Some(reco) = resources.iter().find(|r| *r.name == *c.name) else { return false };
        (c.restart_on_resize & RESTART_ON_CPU != 0 && changes(c, reco, "cpu"))
            || (c.restart_on_resize & RESTART_ON_MEMORY != 0 && changes(c, reco, "memory"))
    })
}

fn changes(c: &ContainerResourceEntry, reco: &ContainerResources, resource: &str) -> bool {
    let (request, limit) = match resource {
        "cpu" => (c.cpu_request.as_deref(), c.cpu_limit.as_deref()),
        _ => (c.memory_request.as_deref(), c.memory_limit.as_deref()),
    };
    let differs = |wanted: Option<&Quantity>, have: Option<&str>| {
        let Some(wanted) = wanted else { return false };
        if is_sentinel(wanted) {
            return have.is_some();
        }
        let have = have.map(|h| Quantity(h.to_string()));
        have.is_none_or(|h| compare(wanted, &h) != Some(std::cmp::Ordering::Equal))
    };
    differs(reco.requests.as_ref().and_then(|r| r.get(resource)), request)
        || differs(reco.limits.as_ref().and_then(|l| l.get(resource)), limit)
}

/// Evicts the pods through the Eviction API, stopping at the first PDB refusal; counts the
/// evictions and reports them in one event.
async fn evict(ctx: &Context, dpa: &mut PodAutoscalerInternal, namespace: &str, pods: &[&ClassifiedPod]) {
    if pods.is_empty() {
        return;
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let (mut evicted, mut failed, mut blocked) = (0, 0, false);
    for pod in pods {
        let Ok(result) = tokio::time::timeout(EVICTION_WAIT, api.evict(&pod.name, &EvictParams::default())).await
        else {
            tracing::info!(pod = %format!("{namespace}/{}", pod.name), "eviction still refused after {EVICTION_WAIT:?}");
            blocked = true;
            break;
        };
        match result {
            Ok(_) => evicted += 1,
            Err(e) if error_code(&e) == Some(404) => tracing::debug!(pod = %pod.name, "already gone"),
            Err(e) if error_code(&e) == Some(429) => {
                tracing::info!(pod = %format!("{namespace}/{}", pod.name), "eviction refused: {}", error_message(&e));
                blocked = true;
                break;
            }
            Err(e) => {
                failed += 1;
                let message = format!("error while evicting pod {namespace}/{}: {}", pod.name, error_message(&e));
                tracing::warn!(dpa = %dpa.id(), "{message}");
                dpa.vertical_action_error = Some(ConditionError::new(Reason::FailedToEvict, message));
            }
        }
    }
    dpa.vertical_evicted = Some(dpa.vertical_evicted.unwrap_or(0) + evicted);
    let mut parts = Vec::new();
    if evicted > 0 {
        parts.push(format!("{evicted} evicted"));
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if blocked {
        parts.push("PDB blocked further evictions".to_string());
    }
    if parts.is_empty() {
        return;
    }
    let (type_, reason) = if failed > 0 || blocked {
        (EventType::Warning, "FailedToEvict")
    } else {
        (EventType::Normal, "InPlaceEvicted")
    };
    let note = format!("In-place resize eviction: {} ({} pods pending)", parts.join(", "), pods.len());
    ctx.dpa_event(dpa, type_, reason, note).await;
}
