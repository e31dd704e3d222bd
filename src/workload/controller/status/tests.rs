//! The status builder (spec §10.8): conditions, transition times, horizontal and vertical
//! status, and the round trip through `restore::from_object`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::json;

use super::*;
use crate::workload::controller::restore::from_object;
use crate::workload::crd::{DatadogPodAutoscaler, HorizontalAction, VerticalAction};
use crate::workload::model::{HorizontalValues, PAUSE_ANNOTATION, ValueSource, VerticalValues};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn dpa(extra: serde_json::Value) -> PodAutoscalerInternal {
    let mut spec =
        json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    PodAutoscalerInternal::new("prod", "web", serde_json::from_value(spec).unwrap(), at(0))
}

/// `(type, status, reason, message)` of each condition, in order.
fn summary(status: &DatadogPodAutoscalerStatus) -> Vec<(String, String, Option<String>, Option<String>)> {
    let conditions = status.conditions.clone().unwrap_or_default();
    conditions.into_iter().map(|c| (c.type_.into_owned(), c.status.into_owned(), c.reason, c.message)).collect()
}

fn row(
    t: &str,
    s: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> (String, String, Option<String>, Option<String>) {
    (t.into(), s.into(), reason.map(Into::into), message.map(Into::into))
}

fn resources(name: &str, cpu: &str, memory: &str) -> ContainerResources {
    let list = |pairs: [(&str, &str); 2]| {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect::<BTreeMap<_, _>>())
    };
    ContainerResources {
        name: name.into(),
        requests: list([("cpu", cpu), ("memory", memory)]),
        limits: None,
        runtime: None,
    }
}

#[test]
fn a_new_dpa_has_eight_conditions_in_order() {
    let status = build(&dpa(json!({})), at(10), None);
    assert_eq!(
        summary(&status),
        vec![
            row(ERROR, "False", None, None),
            row(ACTIVE, "True", None, None),
            row(HORIZONTAL_ABLE_TO_RECOMMEND, "Unknown", None, None),
            row(VERTICAL_ABLE_TO_RECOMMEND, "Unknown", None, None),
            row(HORIZONTAL_SCALING_LIMITED, "False", None, None),
            row(VERTICAL_SCALING_LIMITED, "False", None, None),
            row(HORIZONTAL_ABLE_TO_SCALE, "Unknown", None, None),
            row(VERTICAL_ABLE_TO_APPLY, "Unknown", None, None),
        ]
    );
    assert!(status.horizontal.is_none() && status.vertical.is_none());
    for c in status.conditions.unwrap() {
        assert_eq!(c.last_transition_time, Some(status_time(at(10))), "{}", c.type_);
    }
}

#[test]
fn errors_values_limits_and_actions_show_in_their_conditions() {
    let mut d = dpa(json!({}));
    d.error = Some(ConditionError::new(Reason::InvalidSpec, "bad spec"));
    d.active.horizontal = Some(HorizontalValues { source: ValueSource::Autoscaling, timestamp: at(1), replicas: 3 });
    d.active.vertical_error = Some("no usage data".into());
    d.horizontal_limit_reason =
        Some("desired replica count limited to 10 (originally 12) due to max replicas constraint".into());
    d.vertical_limited = Some(ConditionError::new(
        Reason::LimitedByConstraint,
        "recommendation clamped to min/max bounds for containers: app",
    ));
    d.horizontal_action_error = Some(ConditionError::new(Reason::ScaleFailed, "scale: forbidden"));
    d.vertical_last_action =
        Some(VerticalAction { time: Time(at(2)), version: "abc".into(), type_: "RolloutTriggered".into() });
    d.current_replicas = Some(0);
    let status = build(&d, at(10), None);
    assert_eq!(
        summary(&status),
        vec![
            row(ERROR, "True", Some("InvalidSpec"), Some("bad spec")),
            row(ACTIVE, "False", None, Some(SCALED_TO_ZERO)),
            row(HORIZONTAL_ABLE_TO_RECOMMEND, "True", None, None),
            row(VERTICAL_ABLE_TO_RECOMMEND, "False", Some("RecommendationError"), Some("no usage data")),
            row(
                HORIZONTAL_SCALING_LIMITED,
                "True",
                None,
                Some("desired replica count limited to 10 (originally 12) due to max replicas constraint")
            ),
            row(
                VERTICAL_SCALING_LIMITED,
                "True",
                Some("LimitedByConstraint"),
                Some("recommendation clamped to min/max bounds for containers: app")
            ),
            row(HORIZONTAL_ABLE_TO_SCALE, "False", Some("ScaleFailed"), Some("scale: forbidden")),
            row(VERTICAL_ABLE_TO_APPLY, "True", None, None),
        ]
    );
    // Without a controller error, Datadog's global error shows.
    d.error = None;
    d.active.error = Some("quota exceeded".into());
    assert_eq!(
        summary(&build(&d, at(10), None))[0],
        row(ERROR, "True", Some("RecommendationError"), Some("quota exceeded"))
    );
}

#[test]
fn pause_makes_active_false_with_locally_paused() {
    let mut d = dpa(json!({}));
    d.annotations.insert(PAUSE_ANNOTATION.into(), "true".into());
    d.current_replicas = Some(0);
    assert_eq!(summary(&build(&d, at(0), None))[1], row(ACTIVE, "False", Some("LocallyPaused"), Some(PAUSED)));
    d.annotations.insert(PAUSE_ANNOTATION.into(), "maybe".into());
    d.current_replicas = Some(2);
    assert_eq!(summary(&build(&d, at(0), None))[1], row(ACTIVE, "True", None, None), "not a boolean: ignored");
}

#[test]
fn transition_times_change_only_with_the_status() {
    let mut d = dpa(json!({}));
    let first = build(&d, at(10), None);
    d.error = Some(ConditionError::new(Reason::InvalidSpec, "bad"));
    let second = build(&d, at(20), Some(&first));
    let third = build(&d, at(30), Some(&second));
    let times =
        |s: &DatadogPodAutoscalerStatus, i: usize| s.conditions.as_ref().unwrap()[i].last_transition_time.clone();
    assert_eq!(times(&second, 0), Some(status_time(at(20))), "Error flipped");
    assert_eq!(times(&second, 1), Some(status_time(at(10))), "Active kept");
    assert_eq!(times(&third, 0), Some(status_time(at(20))), "Error unchanged since");
    assert_eq!(second.conditions, third.conditions);
}

#[test]
fn horizontal_and_vertical_status_follow_policy_and_retention() {
    let mut d = dpa(json!({}));
    d.active.horizontal = Some(HorizontalValues { source: ValueSource::Local, timestamp: at(5), replicas: 4 });
    d.horizontal_last_actions = (0..15)
        .map(|i| HorizontalAction {
            time: Time(at(i)),
            replicas: i as i32,
            to_replicas: i as i32 + 1,
            recommended_replicas: None,
            limited_reason: None,
        })
        .collect();
    d.horizontal_last_recommendations = (0..70)
        .map(|i| HorizontalTarget { source: None, generated_at: Some(Time(at(i))), desired_replicas: i as i32 + 1 })
        .collect();
    let values = VerticalValues {
        source: ValueSource::Autoscaling,
        timestamp: at(3),
        resources: vec![resources("app", "250m", "512Mi"), resources("sidecar", "750m", "1Gi")],
        hash: "rec-1".into(),
    };
    d.active.vertical = Some(VerticalValues { hash: "unconstrained".into(), ..values.clone() });
    d.vertical_constrained = Some(values.clone());
    d.vertical_scaled = Some(2);
    let status = build(&d, at(10), None);
    let h = status.horizontal.expect("horizontal");
    assert_eq!(h.target.as_ref().map(|t| (t.source.as_deref(), t.desired_replicas)), Some((Some("Local"), 4)));
    let actions = h.last_actions.expect("actions");
    assert_eq!((actions.len(), actions[0].replicas, actions[9].replicas), (10, 5, 14));
    let recs = h.last_recommendations.expect("recommendations");
    assert_eq!((recs.len(), recs[0].desired_replicas), (60, 11));
    let v = status.vertical.expect("vertical").target.expect("target");
    assert_eq!((v.version.as_str(), v.scaled), ("rec-1", Some(2)), "the constrained values are shown");
    assert_eq!(v.pod_cpu_request, IntOrString::String("1".into()));
    assert_eq!(v.pod_memory_request, IntOrString::String("1536Mi".into()));

    let disabled =
        dpa(json!({"applyPolicy": {"scaleUp": {"strategy": "Disabled"}, "scaleDown": {"strategy": "Disabled"},
        "update": {"strategy": "Disabled"}}}));
    let mut off = PodAutoscalerInternal { spec: disabled.spec, ..d.clone() };
    off.active.vertical_error = Some("x".into());
    let status = build(&off, at(10), None);
    assert!(status.horizontal.is_none() && status.vertical.is_none());
    let s = summary(&status);
    assert_eq!((s[2].1.as_str(), s[3].1.as_str(), s[4].1.as_str()), ("Unknown", "Unknown", "False"));
}

#[test]
fn quantities_are_summed_and_printed_exactly() {
    assert_eq!(format_cpu(1500), "1500m");
    assert_eq!(format_cpu(2000), "2");
    assert_eq!(format_bytes(1_536 * 1_048_576 * 1000), "1536Mi");
    assert_eq!(format_bytes(2 * 1_073_741_824 * 1000), "2Gi");
    assert_eq!(format_bytes(1_500_000 * 1000), "1500k");
    assert_eq!(format_bytes(100 * 1000), "100");
    assert_eq!(format_bytes(0), "0");
    assert_eq!(format_bytes(i64::MAX), format!("{}m", i64::MAX), "saturated sums do not panic");
    let (cpu, memory) = request_sums(&[resources("a", "100m", "1e3"), resources("b", "garbage", "1k")]);
    assert_eq!((cpu, memory), (100, 2_000_000));
}

#[test]
fn status_round_trips_through_a_new_leader() {
    let mut d = dpa(json!({}));
    d.active.horizontal = Some(HorizontalValues { source: ValueSource::Manual, timestamp: at(5), replicas: 4 });
    d.active.horizontal_error = None;
    d.active.vertical = Some(VerticalValues {
        source: ValueSource::Autoscaling,
        timestamp: at(3),
        resources: vec![resources("app", "250m", "512Mi")],
        hash: "rec-1".into(),
    });
    d.horizontal_last_actions = vec![HorizontalAction {
        time: Time(at(6)),
        replicas: 2,
        to_replicas: 4,
        recommended_replicas: Some(4),
        limited_reason: None,
    }];
    d.horizontal_last_recommendations =
        vec![HorizontalTarget { source: Some("Manual".into()), generated_at: Some(Time(at(5))), desired_replicas: 4 }];
    d.horizontal_limit_reason =
        Some("desired replica count adjusted to 4 (originally 5) due to stabilization window".into());
    d.vertical_last_action =
        Some(VerticalAction { time: Time(at(7)), version: "rec-1".into(), type_: "RolloutTriggered".into() });
    d.vertical_action_error = Some(ConditionError::new(Reason::RolloutFailed, "patch refused"));
    d.vertical_scaled = Some(1);
    d.current_replicas = Some(4);
    d.error = Some(ConditionError::new(Reason::ClusterAutoscalerLimitReached, "limit"));
    let status = build(&d, at(10), None);
    let object: DatadogPodAutoscaler = serde_json::from_value(json!({
        "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": "web", "namespace": "prod", "generation": 3, "creationTimestamp": "2023-11-14T22:13:20Z"},
        "spec": d.spec, "status": status,
    }))
    .unwrap();
    let restored = from_object(&object, at(100));
    assert_eq!(restored.active.horizontal, d.active.horizontal);
    assert_eq!(restored.active.vertical, d.active.vertical);
    assert_eq!(restored.horizontal_last_actions, d.horizontal_last_actions);
    assert_eq!(restored.horizontal_last_recommendations, d.horizontal_last_recommendations);
    assert_eq!(restored.horizontal_limit_reason, d.horizontal_limit_reason);
    assert_eq!(restored.vertical_last_action, d.vertical_last_action);
    assert_eq!(restored.vertical_action_error, d.vertical_action_error);
    assert_eq!(restored.error, d.error);
    assert_eq!((restored.current_replicas, restored.vertical_scaled, restored.generation), (Some(4), Some(1), 3));
    // Built again later, the restored state gives the same status.
    assert_eq!(build(&restored, at(50), object.status.as_ref()), status);
}
