use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::replicas::*;
use super::*;
use crate::workload::crd::ResourceName;
use crate::workload::pod_index::{ContainerResourceEntry, PodEntry, PodPhase};

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

const STALE: Duration = Duration::from_secs(60);

#[test]
fn watermarks_are_the_target_plus_minus_five_percent() {
    assert_eq!(Watermarks::for_target(50), Watermarks { low: 0.45, high: 0.55 });
    assert_eq!(Watermarks::for_target(100), Watermarks { low: 0.95, high: 1.05 });
}

#[test]
fn replica_table() {
    let w = Watermarks::for_target(50);
    // (current, utilization, expected)
    let table = [
        (4.0, 0.80, 6),  // ceil(0.80 / 0.55 × 4) = ceil(5.82)
        (4.0, 0.50, 4),  // inside the watermarks
        (4.0, 0.55, 4),  // on the high watermark: not above it
        (4.0, 0.45, 4),  // on the low watermark: not below it
        (10.0, 0.20, 4), // floor(0.20 / 0.45 × 10) = 4, 10 × 0.20 / 4 = 0.5 < 0.55
        (10.0, 0.44, 9), // floor(9.78) = 9, 10 × 0.44 / 9 = 0.489
        (3.0, 0.01, 1),  // floor(0.07) = 0 → at least 1
        (1.0, 3.00, 6),  // ceil(3 / 0.55) = ceil(5.45)
    ];
    for (current, util, want) in table {
        assert_eq!(calculate_replicas(w, current, util), want, "current {current}, utilization {util}");
    }
    // Scale-down proposals climb until the forecast is under the high watermark.
    let narrow = Watermarks { low: 0.5, high: 0.52 };
    // floor(0.49 / 0.5 × 2) = 1, forecast 0.98 ≥ 0.52 → 2 = current: no change.
    assert_eq!(calculate_replicas(narrow, 2.0, 0.49), 2);
}

#[test]
fn missing_pods_count_against_the_direction() {
    let w = Watermarks::for_target(50);
    // Up: avg 0.9 → 5; missing counted 0 % → 0.6 → ceil(0.6 / 0.55 × 3) = 4.
    assert_eq!(recommend(w, &[Some(0.9), Some(0.9), None]), Ok(4));
    // Up, but with the missing pods at 0 % the average (0.15) asks for a scale-down: no change.
    assert_eq!(recommend(w, &[Some(0.6), None, None, None]), Ok(4));
    // Down: avg 0.1 → 1; missing counted 100 % → 0.55 → stays: reversed → no change.
    assert_eq!(recommend(w, &[Some(0.1), Some(0.1), None, None]), Ok(4));
    // Down and still down: (0.8 + 1) / 9 = 0.2 → floor(0.2 / 0.45 × 9) = 4.
    let mut pods = vec![Some(0.1); 8];
    pods.push(None);
    assert_eq!(recommend(w, &pods), Ok(4));
    // No change needs no adjustment.
    assert_eq!(recommend(w, &[Some(0.5), None]), Ok(2));
    assert_eq!(recommend(w, &[None, None]), Err("Issue calculating pod utilization".into()));
}

#[test]
fn container_averages_use_recent_points_and_keep_two() {
    let p = |age: i64, value: f64| Point { timestamp: ago(age), value };
    assert_eq!(container_average(&[p(70, 9.0), p(50, 2.0), p(10, 4.0)], now(), STALE), Some((3.0, ago(50))));
    assert_eq!(container_average(&[p(200, 1.0), p(100, 3.0)], now(), STALE), Some((2.0, ago(200))));
    assert_eq!(container_average(&[p(300, 5.0), p(200, 1.0), p(100, 3.0)], now(), STALE), Some((2.0, ago(200))));
    assert_eq!(container_average(&[p(5, 1.0)], now(), STALE), None);
    assert_eq!(container_average(&[], now(), STALE), None);
}

struct Usage(HashMap<(String, String), Vec<Point>>);

impl UsagePoints for Usage {
    fn points(&self, pod: &str, container: &str, resource: ResourceName) -> Vec<Point> {
        let suffix = match resource {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        };
        self.0.get(&(pod.to_string(), format!("{container}/{suffix}"))).cloned().unwrap_or_default()
    }
}

/// `(pod, "container/resource", [(age in seconds, value)])`.
type UsageEntry<'a> = (&'a str, &'a str, &'a [(i64, f64)]);

fn usage(entries: &[UsageEntry]) -> Usage {
    let map = entries
        .iter()
        .map(|(pod, c, points)| {
            let points = points.iter().map(|(age, v)| Point { timestamp: ago(*age), value: *v }).collect();
            ((pod.to_string(), c.to_string()), points)
        })
        .collect();
    Usage(map)
}

fn pod(containers: &[(&str, &str, &str)]) -> PodEntry {
    PodEntry {
        containers: containers
            .iter()
            .map(|(name, cpu, mem)| ContainerResourceEntry {
                name: (*name).into(),
                cpu_request: Some((*cpu).into()),
                memory_request: Some((*mem).into()),
                ..Default::default()
            })
            .collect(),
        phase: PodPhase::Running,
        ready: true,
        ..Default::default()
    }
}

fn dpa(spec: serde_json::Value) -> PodAutoscalerInternal {
    let mut spec_json =
        json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    spec_json.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
    PodAutoscalerInternal::new("prod", "web", serde_json::from_value(spec_json).unwrap(), now())
}

fn cpu(target: i32) -> serde_json::Value {
    json!({"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": target}}})
}

#[test]
fn objectives_recommend_from_usage_over_requests_and_the_highest_wins() {
    let pods = vec![
        ("web-a".to_string(), pod(&[("app", "500m", "1Gi"), ("side", "500m", "1Gi")])),
        ("web-b".to_string(), pod(&[("app", "500m", "1Gi"), ("side", "500m", "1Gi")])),
    ];
    // CPU: per pod (0.6 + 0.2) / 1 core = 0.8 → target 50 → ceil(0.8 / 0.55 × 2) = 3.
    // Memory: per pod 1Gi / 2Gi = 0.5 → target 70 → floor(0.5 / 0.65 × 2) = 1, forecast 1.0 ≥ 0.75 → 2.
    let gi = 1024.0 * 1024.0 * 1024.0;
    let u = usage(&[
        ("web-a", "app/cpu", &[(40, 0.5), (10, 0.7)]),
        ("web-a", "side/cpu", &[(30, 0.2), (5, 0.2)]),
        ("web-b", "app/cpu", &[(20, 0.6), (10, 0.6)]),
        ("web-b", "side/cpu", &[(20, 0.2), (10, 0.2)]),
        ("web-a", "app/memory", &[(20, gi), (10, gi)]),
        ("web-b", "app/memory", &[(20, gi), (10, gi)]),
    ]);
    let memory = json!({"type": "PodResource", "podResource": {"name": "memory", "value": {"type": "Utilization", "utilization": 70}}});
    let d = dpa(json!({"objectives": [memory, cpu(50)]}));
    let rec = horizontal_recommendation(&d, &pods, &u, now(), STALE).unwrap();
    assert_eq!((rec.replicas, rec.source), (3, ValueSource::Local));
    assert_eq!(rec.timestamp, ago(40), "the oldest point used");

    // The fallback objectives replace the DPA's; a container objective reads one container.
    let side = json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "side",
        "value": {"type": "Utilization", "utilization": 20}}});
    let d = dpa(json!({"objectives": [cpu(50)], "fallback": {"horizontal": {"objectives": [side]}}}));
    // side: 0.2 / 0.5 = 0.4 per pod → target 20 → ceil(0.4 / 0.25 × 2) = 4.
    assert_eq!(horizontal_recommendation(&d, &pods, &u, now(), STALE).unwrap().replicas, 4);
}

#[test]
fn local_recommender_errors_say_why() {
    let pods = vec![("web-a".to_string(), pod(&[("app", "500m", "1Gi")]))];
    let none = usage(&[]);
    let d = dpa(json!({"objectives": [cpu(50)]}));
    let err = horizontal_recommendation(&d, &[], &none, now(), STALE).unwrap_err();
    assert_eq!(err, "No pods found for autoscaler: prod/web, kind: Deployment, name: web");
    let err = horizontal_recommendation(&d, &pods, &none, now(), STALE).unwrap_err();
    assert_eq!(err, "No recommendation found for autoscaler: prod/web: Issue fetching metrics data");
    let one_point = usage(&[("web-a", "app/cpu", &[(5, 0.4)])]);
    let err = horizontal_recommendation(&d, &pods, &one_point, now(), STALE).unwrap_err();
    assert_eq!(err, "No recommendation found for autoscaler: prod/web: Issue calculating pod utilization");
    let absolute = json!({"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "AbsoluteValue", "absoluteValue": "1"}}});
    let err =
        horizontal_recommendation(&dpa(json!({"objectives": [absolute]})), &pods, &none, now(), STALE).unwrap_err();
    assert_eq!(err, "failed to get recommender settings for objective: prod/web, invalid value type: AbsoluteValue");
    let query = json!({"type": "CustomQuery", "customQuery": {"request": {"queries": []}, "value": {"type": "Utilization", "utilization": 5}, "window": "5m"}});
    let err = horizontal_recommendation(&dpa(json!({"objectives": [query]})), &pods, &none, now(), STALE).unwrap_err();
    assert!(err.ends_with("Invalid target type: CustomQuery"), "{err}");
    let err = horizontal_recommendation(&dpa(json!({})), &pods, &none, now(), STALE).unwrap_err();
    assert_eq!(err, "No recommendation found for autoscaler: prod/web");
}

#[test]
fn eligibility_follows_fallback_enabled() {
    assert!(is_eligible(&dpa(json!({}))));
    assert!(is_eligible(&dpa(json!({"fallback": {"horizontal": {"enabled": true}}}))));
    assert!(!is_eligible(&dpa(json!({"fallback": {"horizontal": {"enabled": false}}}))));
    let mut deleted = dpa(json!({}));
    deleted.deleted = true;
    assert!(!is_eligible(&deleted));
}

#[test]
fn usage_store_keeps_a_ring_of_new_points() {
    let store = UsageStore::new(3);
    let metrics = |pod: &str, ts: &str, cpu: &str| -> usage::PodMetrics {
        serde_json::from_value(json!({"metadata": {"name": pod, "namespace": "prod"}, "timestamp": ts, "window": "15s",
            "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": "1Ki"}}]}))
        .unwrap()
    };
    for (i, ts) in [
        "2026-03-01T11:59:00Z",
        "2026-03-01T11:59:15Z",
        "2026-03-01T11:59:15Z",
        "2026-03-01T11:59:30Z",
        "2026-03-01T11:59:45Z",
    ]
    .iter()
    .enumerate()
    {
        store.record_namespace("prod", &[metrics("web-a", ts, &format!("{}m", 100 * (i + 1)))]);
    }
    let points = store.namespace("prod").points("web-a", "app", ResourceName::Cpu);
    let values: Vec<f64> = points.iter().map(|p| p.value).collect();
    assert_eq!(values, [0.2, 0.4, 0.5], "a repeated timestamp adds nothing; 3 kept");
    assert_eq!(store.namespace("prod").points("web-a", "app", ResourceName::Memory)[0].value, 1024.0);
    store.record_namespace("prod", &[metrics("web-b", "2026-03-01T12:00:00Z", "1")]);
    assert!(store.namespace("prod").points("web-a", "app", ResourceName::Cpu).is_empty(), "pods gone are forgotten");
    assert_eq!(store.len(), 1);
}
