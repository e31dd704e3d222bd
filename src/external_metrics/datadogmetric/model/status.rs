//! `BuildStatus` and `IsNewerThan` (spec §7.2): the status the leader writes, and whether the
//! in-memory state is newer than what the object already says (Active's lastUpdateTime, seconds).

use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{Condition, ERROR_REASON, MetricState, conditions, format_value};

/// RFC 3339 in whole seconds, as `metav1.Time` marshals.
pub fn rfc3339(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The status for `state`, keeping each condition's lastTransitionTime when its status is unchanged.
pub fn build_status(state: &MetricState, current: Option<&Value>) -> Value {
    let update = Some(state.update_time);
    let error = state.error.as_ref();
    let mut error_condition = condition(current, "Error", error.is_some(), update);
    if let Some(error) = error {
        error_condition.insert("reason".into(), ERROR_REASON.into());
        error_condition.insert("message".into(), error.text.clone().into());
    }
    let list = vec![
        Value::Object(condition(current, "Active", state.active, update)),
        Value::Object(condition(current, "Valid", state.valid, update)),
        Value::Object(condition(current, "Updated", true, state.data_time)),
        Value::Object(error_condition),
    ];
    let mut status = json!({"conditions": list, "currentValue": format_value(state.value)});
    if !state.autoscaler_references.is_empty() {
        status["autoscalerReferences"] = state.autoscaler_references.clone().into();
    }
    status
}

fn condition(current: Option<&Value>, kind: &str, status: bool, update: Option<Timestamp>) -> Map<String, Value> {
    let status_text = if status { "True" } else { "False" };
    let previous = conditions(current).find(|c| c.is(kind));
    let kept = previous
        .filter(|c| c.0.get("status").and_then(Value::as_str) == Some(status_text))
        .map(|c| c.0.get("lastTransitionTime").cloned().unwrap_or(Value::Null));
    let transition = kept.unwrap_or_else(|| update.map_or(Value::Null, |t| rfc3339(t).into()));
    let mut map = Map::new();
    map.insert("type".into(), kind.into());
    map.insert("status".into(), status_text.into());
    if !transition.is_null() {
        map.insert("lastTransitionTime".into(), transition);
    }
    if let Some(time) = update {
        map.insert("lastUpdateTime".into(), rfc3339(time).into());
    }
    map
}

/// Whether `state` changed after the object's status was written.
pub fn is_newer_than(state: &MetricState, current: Option<&Value>) -> bool {
    let active = conditions(current).find(|c: &Condition<'_>| c.is("Active"));
    match active {
        Some(condition) => {
            let written = condition.time("lastUpdateTime").map_or(i64::MIN, |t| t.as_second());
            written < state.update_time.as_second()
        }
        None => true,
    }
}
