//! State from objects, status building, newer-than and staleness.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn templates() -> TemplateContext {
    TemplateContext { cluster_name: Some("prod".into()), env: Box::new(|_| None) }
}

fn object(spec: Value, status: Value) -> Value {
    json!({"metadata": {"annotations": {}}, "spec": spec, "status": status})
}

fn documented_status() -> Value {
    // The status example published in the Datadog documentation (reference/examples/datadogmetric).
    json!({
        "conditions": [
            {"type": "Active", "status": "True", "lastTransitionTime": "2020-06-22T14:38:21Z", "lastUpdateTime": "2020-06-25T09:21:00Z"},
            {"type": "Valid", "status": "True", "lastTransitionTime": "2020-06-25T09:00:00Z", "lastUpdateTime": "2020-06-25T09:21:00Z"},
            {"type": "Updated", "status": "True", "lastTransitionTime": "2020-06-22T14:38:21Z", "lastUpdateTime": "2020-06-25T09:21:00Z"},
            {"type": "Error", "status": "False", "lastTransitionTime": "2020-06-25T09:00:00Z", "lastUpdateTime": "2020-06-25T09:21:00Z"}
        ],
        "currentValue": "1977.2"
    })
}

#[test]
fn state_mirrors_the_documented_status() {
    let now = at("2020-06-25T09:22:00Z");
    let spec = json!({"query": "max:nginx.net.request_per_s{kube_container_name:nginx}.rollup(60)"});
    let state =
        MetricState::from_object("nginx-demo/nginx-requests", &object(spec, documented_status()), &templates(), now);
    assert!(state.valid && state.active && !state.autogen);
    assert_eq!(state.value, 1977.2);
    assert_eq!(state.update_time, at("2020-06-25T09:21:00Z"));
    assert_eq!(state.data_time, Some(at("2020-06-25T09:21:00Z")));
    assert_eq!(state.error, None);
    assert_eq!(
        state.resolved_query.as_deref(),
        Some("max:nginx.net.request_per_s{kube_container_name:nginx}.rollup(60)")
    );
    // Rebuilding the status from the mirrored state gives back the same conditions.
    assert_eq!(build_status(&state, Some(&documented_status())), documented_status());
    assert!(!is_newer_than(&state, Some(&documented_status())));
}

#[test]
fn new_object_defaults_and_bad_value() {
    let now = at("2024-01-01T00:00:00Z");
    let state = MetricState::from_object(
        "ns/m",
        &object(json!({"query": "a"}), json!({"currentValue": "x1"})),
        &templates(),
        now,
    );
    assert!(!state.valid && !state.active);
    assert_eq!((state.value, state.update_time), (0.0, now));
    let autogen = object(json!({"query": "avg:m{*}.rollup(30)", "externalMetricName": "m"}), Value::Null);
    let state = MetricState::from_object("ns/dcaautogen-x", &autogen, &templates(), now);
    assert!(state.autogen);
    assert_eq!(state.external_metric_name, "m");
}

#[test]
fn unparsable_durations_and_templates_invalidate_only_that_metric() {
    let now = at("2024-01-01T00:00:00Z");
    let bad = object(json!({"query": "avg:m{*}", "maxAge": "two minutes"}), Value::Null);
    let state = MetricState::from_object("ns/bad", &bad, &templates(), now);
    assert!(!state.valid);
    assert_eq!(state.resolved_query, None);
    let error = state.error.as_ref().map(|e| e.text.as_str());
    assert_eq!(error, Some("Invalid spec.maxAge: invalid duration \"two minutes\""));
    let status = build_status(&state, None);
    assert_eq!(status["conditions"][3]["status"], "True");
    assert_eq!(status["conditions"][3]["reason"], "Unable to fetch data from Datadog");
    assert_eq!(status["conditions"][3]["message"], "Invalid spec.maxAge: invalid duration \"two minutes\"");

    let template = object(json!({"query": "avg:m{env:%%env_NOPE%%}"}), Value::Null);
    let state = MetricState::from_object("ns/t", &template, &templates(), now);
    let error = state.error.as_ref().map(|e| e.text.as_str());
    assert_eq!(error, Some("Cannot resolve query: failed to retrieve env var \"NOPE\""));

    // Fixing the spec on the leader clears the resolution error and resolves the query.
    let mut state = MetricState::from_object("ns/bad", &bad, &templates(), now);
    let fixed = object(json!({"query": "avg:m{*}", "maxAge": "2m"}), Value::Null);
    state.update_from(&fixed, &templates(), now);
    assert_eq!((state.max_age, state.error.clone()), (Duration::from_secs(120), None));
    assert_eq!(state.resolved_query.as_deref(), Some("avg:m{*}"));
}

#[test]
fn templates_resolve_from_the_cluster_name() {
    let now = at("2024-01-01T00:00:00Z");
    let spec = json!({"query": "avg:rps{kube_cluster_name:%%tag_kube_cluster_name%%}", "timeWindow": "5m"});
    let state = MetricState::from_object("ns/m", &object(spec, Value::Null), &templates(), now);
    assert_eq!(state.resolved_query.as_deref(), Some("avg:rps{kube_cluster_name:prod}"));
    assert_eq!(state.time_window(), Duration::from_secs(300));
}

#[test]
fn status_keeps_transition_times_when_unchanged() {
    let previous = documented_status();
    let now = at("2020-06-25T09:30:00Z");
    let mut state =
        MetricState::from_object("a/b", &object(json!({"query": "q"}), previous.clone()), &templates(), now);
    state.valid = false;
    state.error = Some(MetricError::new("boom"));
    state.update_time = now;
    let status = build_status(&state, Some(&previous));
    let conditions = status["conditions"].as_array().expect("conditions");
    // Active unchanged: transition time kept; Valid and Error flipped: transition = update time.
    assert_eq!(conditions[0]["lastTransitionTime"], "2020-06-22T14:38:21Z");
    assert_eq!(conditions[0]["lastUpdateTime"], "2020-06-25T09:30:00Z");
    assert_eq!(conditions[1]["status"], "False");
    assert_eq!(conditions[1]["lastTransitionTime"], "2020-06-25T09:30:00Z");
    assert_eq!(conditions[2]["lastUpdateTime"], "2020-06-25T09:21:00Z");
    assert_eq!(conditions[3]["message"], "boom");
    assert!(is_newer_than(&state, Some(&previous)));
    assert!(is_newer_than(&state, None));
}

#[test]
fn staleness_uses_max_age_then_default_plus_grace() {
    let mut state = MetricState::autogen("a/b", "q", "m", "", at("2024-01-01T00:00:00Z"));
    state.data_time = Some(at("2024-01-01T00:00:00Z"));
    let default = Duration::from_secs(120);
    let grace = Duration::from_secs(30);
    assert!(!state.is_stale(default, at("2024-01-01T00:02:30Z"), grace));
    assert!(state.is_stale(default, at("2024-01-01T00:02:31Z"), grace));
    assert!(state.is_stale(default, at("2024-01-01T00:02:01Z"), Duration::ZERO));
    state.max_age = Duration::from_secs(10);
    assert!(state.is_stale(default, at("2024-01-01T00:00:11Z"), Duration::ZERO));
    assert!(!state.is_stale(default, at("2024-01-01T00:00:10Z"), Duration::ZERO));
    state.data_time = None;
    assert!(state.is_stale(default, at("2024-01-01T00:00:00Z"), grace));
    assert_eq!(state.data_time_text(), "0001-01-01 00:00:00 +0000 UTC");
}

#[test]
fn values_format_like_go_strconv() {
    assert_eq!(format_value(12.5), "12.5");
    assert_eq!(format_value(1977.2), "1977.2");
    assert_eq!(format_value(3.0), "3");
    assert_eq!(format_value(1e21), "1000000000000000000000");
    assert_eq!(format_value(0.0000001), "0.0000001");
}
