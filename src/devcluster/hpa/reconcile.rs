//! One sync of one HPA, as kube-controller-manager's `reconcileAutoscaler`: get the target's scale,
//! compute a proposal per metric (the largest wins), normalize it, scale, then write the status
//! (only when it changed) and emit the Events the real controller emits.

use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;

use super::super::selector::LabelSelector;
use super::api::{EventType, HpaApi};
use super::calc::Tolerances;
use super::metrics::{self, Failure, MetricContext, Proposal};
use super::normalize::{Behavior, HpaMemory};
use super::status::{ABLE_TO_SCALE, HpaStatus, SCALING_ACTIVE, SCALING_LIMITED};

/// Controller-wide knobs (kube-controller-manager flags).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, used when an HPA has no behavior
    /// (or no scaleDown stabilization window).
    pub downscale_stabilization: Duration,
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: f64,
}

/// Now, monotonic (windows and policy periods) and wall-clock (timestamps written to status).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub mono: Instant,
    pub wall: OffsetDateTime,
}

impl Clock {
    pub fn now() -> Clock {
        Clock { mono: Instant::now(), wall: OffsetDateTime::now_utc() }
    }

    /// metav1.Time rendering: RFC 3339, whole seconds, UTC.
    pub fn rfc3339(&self) -> String {
        let t = self.wall.replace_nanosecond(0).unwrap_or(self.wall);
        t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    }
}

/// `schema.ParseGroupVersion`.
pub fn parse_group_version(gv: &str) -> Result<(String, String), String> {
    match gv.split('/').collect::<Vec<_>>().as_slice() {
        [""] => Ok((String::new(), String::new())),
        [version] => Ok((String::new(), (*version).to_string())),
        [group, version] => Ok(((*group).to_string(), (*version).to_string())),
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

/// The per-HPA sync state threaded through the steps below.
struct Sync<'a, A: HpaApi> {
    api: &'a A,
    hpa: &'a Value,
    original: HpaStatus,
    status: HpaStatus,
    now: String,
}

impl<A: HpaApi> Sync<'_, A> {
    async fn event(&self, type_: EventType, reason: &str, message: &str) {
        self.api.record_event(self.hpa, type_, reason, message).await;
    }

    /// `updateStatusIfNeeded`.
    async fn write_status(&self) -> Result<(), String> {
        if self.status == self.original {
            return Ok(());
        }
        let mut next = self.hpa.clone();
        next["status"] = self.status.to_json();
        if let Err(e) = self.api.update_status(&next).await {
            self.event(EventType::Warning, "FailedUpdateStatus", &e).await;
            let name = self.hpa["metadata"]["name"].as_str().unwrap_or_default();
            return Err(format!("failed to update status for {name}: {e}"));
        }
        Ok(())
    }

    async fn fail_get_scale(&mut self, e: String, returned: String) -> Result<(), String> {
        self.event(EventType::Warning, "FailedGetScale", &e).await;
        let msg = format!("the HPA controller was unable to get the target's current scale: {e}");
        self.status.set_condition(ABLE_TO_SCALE, false, "FailedGetScale", msg, &self.now);
        if let Err(e) = self.write_status().await {
            tracing::warn!(error = %e, "HPA status not written");
        }
        Err(returned)
    }

    /// `setStatus`: replicas and metrics replaced, conditions and lastScaleTime kept.
    fn set_status(&mut self, current: i32, desired: i32, metrics: Vec<Value>, rescaled: bool) {
        self.status.current_replicas = current;
        self.status.desired_replicas = desired;
        self.status.current_metrics = metrics;
        self.status.observed_generation = self.hpa["metadata"]["generation"].as_i64();
        if rescaled {
            self.status.last_scale_time = Some(self.now.clone());
        }
    }
}

/// Reconciles one HPA (an autoscaling/v2 object). The error is what kube-controller-manager
/// would log for this sync; conditions and Events are already recorded when it returns.
pub async fn reconcile<A: HpaApi>(
    api: &A,
    hpa: &Value,
    memory: &mut HpaMemory,
    settings: &Settings,
    clock: &Clock,
) -> Result<(), String> {
    let original = HpaStatus::from_json(&hpa["status"]);
    let mut s = Sync { api, hpa, status: original.clone(), original, now: clock.rfc3339() };
    let spec = &hpa["spec"];
    let ns = hpa["metadata"]["namespace"].as_str().unwrap_or_default();
    let target = &spec["scaleTargetRef"];
    let (kind, name) = (target["kind"].as_str().unwrap_or_default(), target["name"].as_str().unwrap_or_default());
    let reference = format!("{kind}/{ns}/{name}");
    let (group, version) = match parse_group_version(target["apiVersion"].as_str().unwrap_or_default()) {
        Ok(gv) => gv,
        Err(e) => {
            return s.fail_get_scale(e.clone(), format!("invalid API version in scale target reference: {e}")).await;
        }
    };
    let scale = match api.get_scale(ns, &group, &version, kind, name).await {
        Ok(scale) => scale,
        Err(e) => {
            return s
                .fail_get_scale(e.clone(), format!("failed to query scale subresource for {reference}: {e}"))
                .await;
        }
    };
    let ok_scale = "the HPA controller was able to get the target's current scale";
    s.status.set_condition(ABLE_TO_SCALE, true, "SucceededGetScale", ok_scale, &s.now);
    let current = scale.spec_replicas();
    memory.record_initial(current, clock.mono);
    let min = spec["minReplicas"].as_i64().and_then(|v| i32::try_from(v).ok()).unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().and_then(|v| i32::try_from(v).ok()).unwrap_or(0);
    let behavior = Behavior::from_spec(&spec["behavior"], settings.downscale_stabilization);

    let (mut desired, mut reason, mut statuses, mut rescale) = (0, String::new(), Vec::new(), true);
    let mut returned = Ok(());
    if current == 0 && min != 0 {
        rescale = false;
        let msg = "scaling is disabled since the replica count of the target is zero";
        s.status.set_condition(SCALING_ACTIVE, false, "ScalingDisabled", msg, &s.now);
    } else if current > max {
        reason = "Current number of replicas above Spec.MaxReplicas".into();
        desired = max;
    } else if current < min {
        reason = "Current number of replicas below Spec.MinReplicas".into();
        desired = min;
    } else {
        let tolerances = tolerances(behavior.as_ref(), settings.tolerance);
        let computed = compute_all(&mut s, &scale, tolerances, clock).await;
        statuses = computed.statuses;
        if computed.replicas == -1 {
            let err = computed.error.unwrap_or_default();
            s.set_status(current, s.status.desired_replicas, statuses, false);
            if let Err(e) = s.write_status().await {
                tracing::warn!(error = %e, "HPA status not written");
            }
            s.event(EventType::Warning, "FailedComputeMetricsReplicas", &err).await;
            return Err(format!(
                "failed to compute desired number of replicas based on listed metrics for {reference}: {err}"
            ));
        }
        if let Some(e) = computed.error {
            returned = Err(e);
        }
        let mut rescale_metric = String::new();
        if computed.replicas > desired {
            desired = computed.replicas;
            rescale_metric = computed.metric;
        }
        if desired > current {
            reason = format!("{rescale_metric} above target");
        }
        if desired < current {
            reason = "All metrics below target".into();
        }
        let n = match &behavior {
            None => memory.normalize(current, desired, min, max, settings.downscale_stabilization, clock.mono),
            Some(b) => memory.normalize_with_behavior(b, current, desired, min, max, clock.mono),
        };
        s.status.set_condition(ABLE_TO_SCALE, true, n.able.0, n.able.1, &s.now);
        s.status.set_condition(SCALING_LIMITED, n.limited.0, n.limited.1.0, n.limited.1.1, &s.now);
        desired = n.replicas;
        rescale = desired != current;
    }

    if rescale {
        if let Err(e) = api.update_scale(ns, &scale, desired).await {
            let msg = format!("New size: {desired}; reason: {reason}; error: {e}");
            s.event(EventType::Warning, "FailedRescale", &msg).await;
            let cond = format!("the HPA controller was unable to update the target scale: {e}");
            s.status.set_condition(ABLE_TO_SCALE, false, "FailedUpdateScale", cond, &s.now);
            s.set_status(current, s.status.desired_replicas, statuses, false);
            if let Err(e) = s.write_status().await {
                tracing::warn!(error = %e, "HPA status not written");
            }
            return Err(format!("failed to rescale {reference}: {e}"));
        }
        let msg = format!("the HPA controller was able to update the target scale to {desired}");
        s.status.set_condition(ABLE_TO_SCALE, true, "SucceededRescale", msg, &s.now);
        s.event(EventType::Normal, "SuccessfulRescale", &format!("New size: {desired}; reason: {reason}")).await;
        memory.store_scale_event(behavior.as_ref(), current, desired, clock.mono);
    } else {
        desired = current;
    }
    s.set_status(current, desired, statuses, rescale);
    s.write_status().await?;
    returned
}

/// `behavior.*.tolerance` where set, else the controller's tolerance.
fn tolerances(behavior: Option<&Behavior>, default: f64) -> Tolerances {
    let up = behavior.and_then(|b| b.scale_up.tolerance).unwrap_or(default);
    let down = behavior.and_then(|b| b.scale_down.tolerance).unwrap_or(default);
    Tolerances { down, up }
}

struct Computed {
    /// -1 when nothing can be done.
    replicas: i32,
    metric: String,
    statuses: Vec<Value>,
    error: Option<String>,
}

/// `computeReplicasForMetrics`.
async fn compute_all<A: HpaApi>(
    s: &mut Sync<'_, A>,
    scale: &super::api::Scale,
    tolerances: Tolerances,
    clock: &Clock,
) -> Computed {
    let fail =
        |error: String| Computed { replicas: -1, metric: String::new(), statuses: Vec::new(), error: Some(error) };
    let selector_text = scale.selector();
    if selector_text.is_empty() {
        s.event(EventType::Warning, "SelectorRequired", "selector is required").await;
        let msg = "the HPA target's scale is missing a selector";
        s.status.set_condition(SCALING_ACTIVE, false, "InvalidSelector", msg, &s.now);
        return fail("selector is required".into());
    }
    let selector = match LabelSelector::parse(selector_text) {
        Ok(sel) => sel,
        Err(e) => {
            let msg = format!("couldn't convert selector into a corresponding internal selector object: {e}");
            s.event(EventType::Warning, "InvalidSelector", &msg).await;
            s.status.set_condition(SCALING_ACTIVE, false, "InvalidSelector", msg.clone(), &s.now);
            return fail(msg);
        }
    };
    let ns = s.hpa["metadata"]["namespace"].as_str().unwrap_or_default();
    let ctx = MetricContext {
        api: s.api,
        namespace: ns,
        spec_replicas: scale.spec_replicas(),
        status_replicas: scale.status_replicas(),
        pod_selector: &selector,
        tolerances,
        now: clock.wall,
    };
    let specs = s.hpa["spec"]["metrics"].as_array().cloned().unwrap_or_default();
    // A metric that failed leaves a zero MetricStatus, which Go serializes as `{"type": ""}`.
    let mut statuses = vec![serde_json::json!({"type": ""}); specs.len()];
    let (mut replicas, mut metric, mut first_failure, mut invalid) = (0, String::new(), None::<Failure>, 0);
    for (i, spec) in specs.iter().enumerate() {
        match metrics::compute(&ctx, spec).await {
            Ok(Proposal { replicas: r, name, status }) => {
                statuses[i] = status;
                if replicas == 0 || r > replicas {
                    (replicas, metric) = (r, name);
                }
            }
            Err(f) => {
                s.event(EventType::Warning, &f.reason, &f.event).await;
                invalid += 1;
                first_failure.get_or_insert(f);
            }
        }
    }
    let error = first_failure
        .as_ref()
        .map(|f| format!("invalid metrics ({invalid} invalid out of {}), first error is: {}", specs.len(), f.error));
    if let Some(f) = &first_failure
        && (invalid >= specs.len() || replicas < scale.spec_replicas())
    {
        s.status.set_condition(SCALING_ACTIVE, false, &f.reason, f.condition_message(), &s.now);
        return Computed { replicas: -1, metric: String::new(), statuses, error };
    }
    if specs.is_empty() {
        return Computed { replicas: -1, metric, statuses, error: Some("the HPA specifies no metrics".into()) };
    }
    let msg = format!("the HPA was able to successfully calculate a replica count from {metric}");
    s.status.set_condition(SCALING_ACTIVE, true, "ValidMetricFound", msg, &s.now);
    Computed { replicas, metric, statuses, error }
}

#[cfg(test)]
mod tests;
