//! The DPA's `status` from the internal state (spec §10.8, the DCA's `BuildStatus`): the eight
//! conditions in their fixed order, each keeping its `lastTransitionTime` while its status does
//! not change; the horizontal status (target, last 10 actions, last 60 recommendations) when
//! horizontal scaling is on and a target exists; the vertical status (the constrained values
//! pods get, their request sums, scaled pods, last action) when vertical scaling is on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::{
    ContainerResources, DatadogPodAutoscalerStatus, DpaCondition, HorizontalStatus, HorizontalTarget, VerticalStatus,
    VerticalTarget, condition_text,
};
use crate::workload::model::{ConditionError, PodAutoscalerInternal, Reason, VerticalValues};
use crate::workload::vertical::{VerticalInputs, constrain};

/// Horizontal actions shown in status.
pub const STATUS_ACTIONS: usize = 10;
/// Horizontal recommendations shown in status.
pub const STATUS_RECOMMENDATIONS: usize = 60;

pub const ERROR: &str = "Error";
pub const ACTIVE: &str = "Active";
pub const HORIZONTAL_ABLE_TO_RECOMMEND: &str = "HorizontalAbleToRecommend";
pub const VERTICAL_ABLE_TO_RECOMMEND: &str = "VerticalAbleToRecommend";
pub const HORIZONTAL_SCALING_LIMITED: &str = "HorizontalScalingLimited";
pub const VERTICAL_SCALING_LIMITED: &str = "VerticalScalingLimited";
pub const HORIZONTAL_ABLE_TO_SCALE: &str = "HorizontalAbleToScale";
pub const VERTICAL_ABLE_TO_APPLY: &str = "VerticalAbleToApply";

/// `Active` message when the target has no pods.
pub const SCALED_TO_ZERO: &str = "Target has been scaled to 0 replicas";
/// `Active` message when the pause annotation is set.
pub const PAUSED: &str = "Autoscaler paused by the autoscaling.datadoghq.com/pause annotation";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// Builds conditions, keeping the transition times of `previous` ones whose status is unchanged.
struct Conditions<'a> {
    now: Time,
    previous: &'a [DpaCondition],
    built: Vec<DpaCondition>,
}

impl Conditions<'_> {
    fn push(&mut self, type_: &str, status: Status, reason: Option<&str>, message: Option<&str>) {
        let prior = self.previous.iter().find(|c| c.type_ == type_ && c.status == status.as_str());
        let last_transition_time =
            prior.and_then(|c| c.last_transition_time.clone()).or_else(|| Some(self.now.clone()));
        let text = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
        self.built.push(DpaCondition {
            type_: condition_text(type_),
            status: condition_text(status.as_str()),
            last_transition_time,
            reason: text(reason),
            message: text(message),
        });
    }

    /// `True` (or `False` when `true_on_error` is false) with the error's reason and message.
    fn push_error(&mut self, type_: &str, true_on_error: bool, error: Option<&ConditionError>) {
        match error {
            Some(e) => {
                let status = if true_on_error { Status::True } else { Status::False };
                self.push(type_, status, Some(e.reason.as_str()), Some(&e.message));
            }
            None => self.push(type_, if true_on_error { Status::False } else { Status::True }, None, None),
        }
    }
}

/// A second-precision time, as the API server stores it.
pub fn status_time(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

fn recommendation_error(message: &Option<String>) -> Option<ConditionError> {
    message.as_ref().map(|m| ConditionError::new(Reason::RecommendationError, m.clone()))
}

/// The status of `dpa` at `now`, with `previous` the status currently in Kubernetes (if any).
pub fn build(
    dpa: &PodAutoscalerInternal,
    now: Timestamp,
    previous: Option<&DatadogPodAutoscalerStatus>,
) -> DatadogPodAutoscalerStatus {
    let previous_conditions = previous.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    DatadogPodAutoscalerStatus {
        current_replicas: dpa.current_replicas,
        horizontal: horizontal(dpa).map(Box::new),
        vertical: vertical(dpa).map(Box::new),
        options: previous.and_then(|s| s.options.clone()),
        conditions: Some(conditions(dpa, status_time(now), previous_conditions)),
    }
}

fn conditions(dpa: &PodAutoscalerInternal, now: Time, previous: &[DpaCondition]) -> Vec<DpaCondition> {
    let (h_on, v_on) = (dpa.horizontal_enabled(), dpa.vertical_enabled());
    let mut c = Conditions { now, previous, built: Vec::with_capacity(8) };
    let global = dpa.error.clone().or_else(|| recommendation_error(&dpa.active.error));
    c.push_error(ERROR, true, global.as_ref());
    if dpa.is_paused() {
        c.push(ACTIVE, Status::False, Some(Reason::LocallyPaused.as_str()), Some(PAUSED));
    } else if dpa.current_replicas == Some(0) {
        c.push(ACTIVE, Status::False, None, Some(SCALED_TO_ZERO));
    } else {
        c.push(ACTIVE, Status::True, None, None);
    }
    let values = &dpa.active;
    if h_on && (values.horizontal_error.is_some() || values.horizontal.is_some()) {
        c.push_error(HORIZONTAL_ABLE_TO_RECOMMEND, false, recommendation_error(&values.horizontal_error).as_ref());
    } else {
        c.push(HORIZONTAL_ABLE_TO_RECOMMEND, Status::Unknown, None, None);
    }
    if v_on && (values.vertical_error.is_some() || values.vertical.is_some()) {
        c.push_error(VERTICAL_ABLE_TO_RECOMMEND, false, recommendation_error(&values.vertical_error).as_ref());
    } else {
        c.push(VERTICAL_ABLE_TO_RECOMMEND, Status::Unknown, None, None);
    }
    match dpa.horizontal_limit_reason.as_deref().filter(|r| h_on && !r.is_empty()) {
        Some(reason) => c.push(HORIZONTAL_SCALING_LIMITED, Status::True, None, Some(reason)),
        None => c.push(HORIZONTAL_SCALING_LIMITED, Status::False, None, None),
    }
    match dpa.vertical_limited.as_ref().filter(|_| v_on) {
        Some(limited) => c.push_error(VERTICAL_SCALING_LIMITED, true, Some(limited)),
        None => c.push(VERTICAL_SCALING_LIMITED, Status::False, None, None),
    }
    match &dpa.horizontal_action_error {
        Some(e) => c.push_error(HORIZONTAL_ABLE_TO_SCALE, false, Some(e)),
        None if !dpa.horizontal_last_actions.is_empty() => c.push(HORIZONTAL_ABLE_TO_SCALE, Status::True, None, None),
        None => c.push(HORIZONTAL_ABLE_TO_SCALE, Status::Unknown, None, None),
    }
    match &dpa.vertical_action_error {
        Some(e) => c.push_error(VERTICAL_ABLE_TO_APPLY, false, Some(e)),
        None if dpa.vertical_last_action.is_some() => c.push(VERTICAL_ABLE_TO_APPLY, Status::True, None, None),
        None => c.push(VERTICAL_ABLE_TO_APPLY, Status::Unknown, None, None),
    }
    c.built
}

fn last<T: Clone>(items: &[T], n: usize) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items[items.len().saturating_sub(n)..].to_vec())
}

fn horizontal(dpa: &PodAutoscalerInternal) -> Option<HorizontalStatus> {
    let target = dpa.active.horizontal.as_ref().filter(|_| dpa.horizontal_enabled())?;
    Some(HorizontalStatus {
        target: Some(HorizontalTarget {
            source: Some(target.source.as_str().to_string()),
            generated_at: Some(status_time(target.timestamp)),
            desired_replicas: target.replicas,
        }),
        last_actions: last(&dpa.horizontal_last_actions, STATUS_ACTIONS),
        last_recommendations: last(&dpa.horizontal_last_recommendations, STATUS_RECOMMENDATIONS),
    })
}

fn vertical(dpa: &PodAutoscalerInternal) -> Option<VerticalStatus> {
    if !dpa.vertical_enabled() {
        return None;
    }
    let values = dpa.vertical_constrained.as_ref().or(dpa.active.vertical.as_ref())?;
    Some(VerticalStatus { target: Some(vertical_target(dpa, values)), last_action: dpa.vertical_last_action.clone() })
}

fn vertical_target(dpa: &PodAutoscalerInternal, values: &VerticalValues) -> VerticalTarget {
    let (cpu, memory) = request_sums(&values.resources);
    VerticalTarget {
        source: values.source.as_str().to_string(),
        generated_at: Some(status_time(values.timestamp)),
        version: values.hash.clone(),
        scaled: dpa.vertical_scaled,
        evicted: dpa.vertical_evicted,
        desired_resources: values.resources.clone(),
        pod_cpu_request: IntOrString::String(format_cpu(cpu)),
        pod_memory_request: IntOrString::String(format_bytes(memory)),
    }
}

/// The `status.vertical.target` the vertical step is about to give `dpa`, from its active values
/// before the step runs: constrained as the step constrains them (the raw values when they cannot
/// be, or carry no ID, as the step then leaves them); `None` when vertical scaling is off or has
/// no values.
pub fn pending_vertical_target(dpa: &PodAutoscalerInternal) -> Option<VerticalTarget> {
    if !dpa.vertical_enabled() {
        return None;
    }
    let active = dpa.active.vertical.as_ref()?;
    let inputs = VerticalInputs::of(&dpa.spec, &dpa.annotations);
    let constrained =
        Some(active).filter(|v| !v.hash.is_empty()).and_then(|v| constrain(&v.resources, &v.hash, &inputs).ok());
    let values = match constrained {
        Some(c) => VerticalValues { resources: c.resources, hash: c.id, ..active.clone() },
        None => active.clone(),
    };
    Some(vertical_target(dpa, &values))
}

/// The pod's CPU (millicores) and memory (milli-bytes) requests, summed over containers;
/// unparsable quantities count as zero (the feed refuses them before they get here).
pub fn request_sums(containers: &[ContainerResources]) -> (i64, i64) {
    let sum = |resource: &str| {
        let values = containers.iter().filter_map(|c| c.requests.as_ref()?.get(resource));
        values.filter_map(|q| milli_value(&q.0).ok()).fold(0i64, i64::saturating_add)
    };
    (sum("cpu"), sum("memory"))
}

/// Millicores as a quantity: `1500m`, `2`.
pub fn format_cpu(milli: i64) -> String {
    if milli % 1000 == 0 { (milli / 1000).to_string() } else { format!("{milli}m") }
}

/// Milli-bytes as a quantity with the largest exact suffix: `1536Mi`, `2Gi`, `1500k`, `100`.
pub fn format_bytes(milli: i64) -> String {
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let bytes = milli / 1000;
    if bytes == 0 {
        return "0".into();
    }
    for (suffix, unit) in
        [("Ei", 1i64 << 60), ("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)]
    {
        if bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    for (suffix, unit) in [
        ("E", 1_000_000_000_000_000_000i64),
        ("P", 1_000_000_000_000_000),
        ("T", 1_000_000_000_000),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("k", 1000),
    ] {
        if bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests;
