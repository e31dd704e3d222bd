use std::sync::Mutex;

use serde_json::json;

use super::super::api::Scale;
use super::*;

const METRIC: &str = "datadogmetric@default:web-rps";
const SELECTOR: &str =
    "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}";

/// An in-process cluster: one scale target, one external metric, some pods; records every call.
struct Fake {
    scale: Mutex<Result<Scale, String>>,
    metric: Mutex<Result<Vec<i64>, String>>,
    pods: Vec<Value>,
    update_scale_error: Option<String>,
    scale_updates: Mutex<Vec<i32>>,
    metric_queries: Mutex<Vec<(String, String, String)>>,
    statuses: Mutex<Vec<Value>>,
    events: Mutex<Vec<(EventType, String, String)>>,
}

impl Fake {
    fn new(spec: i32, status: i32, metric: Result<Vec<i64>, String>) -> Fake {
        Fake {
            scale: Mutex::new(Ok(scale(spec, status))),
            metric: Mutex::new(metric),
            pods: Vec::new(),
            update_scale_error: None,
            scale_updates: Mutex::default(),
            metric_queries: Mutex::default(),
            statuses: Mutex::default(),
            events: Mutex::default(),
        }
    }

    fn set_scale(&self, spec: i32, status: i32) {
        *self.scale.lock().unwrap() = Ok(scale(spec, status));
    }

    fn events(&self) -> Vec<(EventType, String, String)> {
        self.events.lock().unwrap().clone()
    }

    fn last_status(&self) -> Value {
        self.statuses.lock().unwrap().last().cloned().expect("a status was written")
    }
}

fn scale(spec: i32, status: i32) -> Scale {
    Scale {
        object: json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": spec}, "status": {"replicas": status, "selector": "app=web"}}),
        group: "apps".into(),
        version: "v1".into(),
        plural: "deployments".into(),
    }
}

impl HpaApi for Fake {
    async fn get_scale(&self, ns: &str, group: &str, version: &str, kind: &str, name: &str) -> Result<Scale, String> {
        assert_eq!((ns, group, version, kind, name), ("default", "apps", "v1", "Deployment", "web"));
        self.scale.lock().unwrap().clone()
    }

    async fn update_scale(&self, _ns: &str, _scale: &Scale, replicas: i32) -> Result<(), String> {
        if let Some(e) = &self.update_scale_error {
            return Err(e.clone());
        }
        self.scale_updates.lock().unwrap().push(replicas);
        Ok(())
    }

    async fn external_metric(&self, ns: &str, metric: &str, selector: &str) -> Result<Vec<i64>, String> {
        self.metric_queries.lock().unwrap().push((ns.into(), metric.into(), selector.into()));
        self.metric.lock().unwrap().clone()
    }

    fn pods(&self, _ns: &str, selector: &LabelSelector) -> Vec<Value> {
        self.pods.iter().filter(|p| selector.matches_object(p)).cloned().collect()
    }

    async fn update_status(&self, hpa: &Value) -> Result<(), String> {
        self.statuses.lock().unwrap().push(hpa["status"].clone());
        Ok(())
    }

    async fn record_event(&self, _hpa: &Value, type_: EventType, reason: &str, message: &str) {
        self.events.lock().unwrap().push((type_, reason.into(), message.into()));
    }
}

fn hpa(metrics: Value, behavior: Option<Value>) -> Value {
    let mut h = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "generation": 1, "uid": "u1"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10, "metrics": metrics}
    });
    if let Some(b) = behavior {
        h["spec"]["behavior"] = b;
    }
    h
}

fn external_average(value: &str) -> Value {
    json!([{"type": "External", "external": {"metric": {"name": METRIC, "selector": {"matchLabels": {"app": "web"}}},
        "target": {"type": "AverageValue", "averageValue": value}}}])
}

const SETTINGS: Settings = Settings { downscale_stabilization: Duration::from_secs(300), tolerance: 0.1 };

fn clock(offset_secs: u64) -> Clock {
    let base = Instant::now() + Duration::from_secs(86_400);
    Clock {
        mono: base + Duration::from_secs(offset_secs),
        wall: OffsetDateTime::from_unix_timestamp(1_800_000_000 + offset_secs as i64).unwrap(),
    }
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == type_).unwrap()
}

#[tokio::test]
async fn recorded_case_42_over_10_per_pod_scales_1_to_4_then_5() {
    let api = Fake::new(1, 1, Ok(vec![42_000]));
    let mut h = hpa(external_average("10"), None);
    let mut memory = HpaMemory::default();
    let c0 = clock(0);
    reconcile(&api, &h, &mut memory, &SETTINGS, &c0).await.unwrap();
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![4]);
    assert_eq!(api.metric_queries.lock().unwrap()[0], ("default".into(), METRIC.into(), "app=web".into()));
    let reason = format!("external metric {METRIC}({SELECTOR}) above target");
    assert_eq!(
        api.events(),
        vec![(EventType::Normal, "SuccessfulRescale".into(), format!("New size: 4; reason: {reason}"))]
    );
    let st = api.last_status();
    assert_eq!((st["currentReplicas"].clone(), st["desiredReplicas"].clone()), (json!(1), json!(4)));
    assert_eq!(st["lastScaleTime"], c0.rfc3339());
    assert_eq!(st["observedGeneration"], 1);
    assert_eq!(
        st["currentMetrics"],
        json!([{"type": "External", "external": {"metric": {"name": METRIC, "selector": {"matchLabels": {"app": "web"}}}, "current": {"averageValue": "42"}}}])
    );
    assert_eq!(condition(&st, "AbleToScale")["reason"], "SucceededRescale");
    assert_eq!(condition(&st, "AbleToScale")["message"], "the HPA controller was able to update the target scale to 4");
    assert_eq!(condition(&st, "ScalingActive")["reason"], "ValidMetricFound");
    assert_eq!(
        condition(&st, "ScalingActive")["message"],
        format!("the HPA was able to successfully calculate a replica count from external metric {METRIC}({SELECTOR})")
    );
    assert_eq!(condition(&st, "ScalingLimited")["status"], "True");
    assert_eq!(condition(&st, "ScalingLimited")["reason"], "ScaleUpLimit");

    // The Deployment's status still says 1 replica: 42/10 per pod from 1 → 5.
    h["status"] = st;
    api.set_scale(4, 1);
    reconcile(&api, &h, &mut memory, &SETTINGS, &clock(15)).await.unwrap();
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![4, 5]);
    h["status"] = api.last_status();
    assert_eq!(condition(&h["status"], "ScalingLimited")["reason"], "DesiredWithinRange");

    // Settled at 5 (42/50 = 0.84 → ceil(4.2) = 5): no scale, desiredReplicas 5, averageValue 8400m.
    api.set_scale(5, 5);
    reconcile(&api, &h, &mut memory, &SETTINGS, &clock(30)).await.unwrap();
    assert_eq!(api.scale_updates.lock().unwrap().len(), 2);
    let st = api.last_status();
    assert_eq!(st["desiredReplicas"], 5);
    assert_eq!(st["currentMetrics"][0]["external"]["current"]["averageValue"], "8400m");
    assert_eq!(condition(&st, "AbleToScale")["reason"], "ReadyForNewScale");
}

#[tokio::test]
async fn metric_errors_surface_as_failed_get_external_metric_with_the_server_message() {
    let api = Fake::new(2, 2, Err("datadog query failed: 403 Forbidden".into()));
    let h = hpa(external_average("10"), None);
    let mut memory = HpaMemory::default();
    let err = reconcile(&api, &h, &mut memory, &SETTINGS, &clock(0)).await.unwrap_err();
    let inner = format!(
        "unable to get external metric default/{METRIC}/{SELECTOR}: unable to fetch metrics from external metrics API: datadog query failed: 403 Forbidden"
    );
    let first =
        format!("failed to get {METRIC} external metric value: failed to get {METRIC} external metric: {inner}");
    let computed = format!("invalid metrics (1 invalid out of 1), first error is: {first}");
    assert_eq!(
        err,
        format!(
            "failed to compute desired number of replicas based on listed metrics for Deployment/default/web: {computed}"
        )
    );
    assert_eq!(
        api.events(),
        vec![
            (EventType::Warning, "FailedGetExternalMetric".into(), inner.clone()),
            (EventType::Warning, "FailedComputeMetricsReplicas".into(), computed),
        ]
    );
    assert!(api.scale_updates.lock().unwrap().is_empty());
    let st = api.last_status();
    let active = condition(&st, "ScalingActive");
    assert_eq!(
        (active["status"].as_str(), active["reason"].as_str()),
        (Some("False"), Some("FailedGetExternalMetric"))
    );
    assert_eq!(active["message"], format!("the HPA was unable to compute the replica count: {inner}"));
    assert_eq!(st["currentReplicas"], 2);
    assert_eq!(st["currentMetrics"], json!([{"type": ""}]));

    // Nothing changed: the next sync writes no status.
    let mut h = h;
    h["status"] = st;
    let _ = reconcile(&api, &h, &mut memory, &SETTINGS, &clock(15)).await;
    assert_eq!(api.statuses.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn empty_metric_list_is_an_error() {
    let api = Fake::new(1, 1, Ok(vec![]));
    let h = hpa(external_average("10"), None);
    let _ = reconcile(&api, &h, &mut HpaMemory::default(), &SETTINGS, &clock(0)).await;
    let st = api.last_status();
    assert!(
        condition(&st, "ScalingActive")["message"]
            .as_str()
            .unwrap()
            .ends_with("no metrics returned from external metrics API")
    );
}

fn ready_pod(name: &str, cpu_usage: Option<&str>) -> Value {
    let mut p = json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}}}]},
        "status": {"phase": "Running", "startTime": "2026-01-01T00:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"}]}});
    if let Some(u) = cpu_usage {
        p["metadata"]["annotations"] = json!({"devcluster.autoscaling/usage-cpu": u});
    }
    p
}

#[tokio::test]
async fn value_target_uses_ready_pods_and_reports_the_value() {
    let mut api = Fake::new(2, 2, Ok(vec![300_000]));
    api.pods = vec![ready_pod("a", None), ready_pod("b", None)];
    let metrics = json!([{"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "100"}}}]);
    reconcile(&api, &hpa(metrics, None), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap();
    // ratio 3 × 2 ready pods = 6, limited to max(2×2, 4) = 4 without behavior.
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![4]);
    assert_eq!(api.metric_queries.lock().unwrap()[0].2, "", "no selector → no labelSelector");
    let st = api.last_status();
    assert_eq!(st["currentMetrics"][0]["external"], json!({"metric": {"name": "queue"}, "current": {"value": "300"}}));
    assert_eq!(api.events()[0].2, "New size: 4; reason: external metric queue(nil) above target");
}

#[tokio::test]
async fn resource_utilization_from_the_usage_annotation() {
    let mut api = Fake::new(2, 2, Ok(vec![]));
    api.pods = vec![ready_pod("a", Some("500m")), ready_pod("b", Some("500m")), ready_pod("c", None)];
    api.pods[2]["metadata"]["labels"] = json!({"app": "other"});
    let metrics = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]);
    let behavior = json!({"scaleUp": {"policies": [{"type": "Pods", "value": 10, "periodSeconds": 15}]}});
    reconcile(&api, &hpa(metrics, Some(behavior)), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap();
    // 1000m used of 500m requested = 200 % vs 50 % → 4 × 2 = 8.
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![8]);
    let st = api.last_status();
    assert_eq!(
        st["currentMetrics"][0],
        json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "500m", "averageUtilization": 200}}})
    );
    assert_eq!(api.events()[0].2, "New size: 8; reason: cpu resource utilization (percentage of request) above target");
}

#[tokio::test]
async fn missing_usage_annotations_fail_like_an_empty_metrics_server() {
    let mut api = Fake::new(1, 1, Ok(vec![]));
    api.pods = vec![ready_pod("a", None)];
    let metrics = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]);
    let _ = reconcile(&api, &hpa(metrics, None), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await;
    let e = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API";
    assert_eq!(api.events()[0], (EventType::Warning, "FailedGetResourceMetric".into(), e.into()));
    assert_eq!(condition(&api.last_status(), "ScalingActive")["reason"], "FailedGetResourceMetric");
}

#[tokio::test]
async fn scale_errors_set_able_to_scale_false() {
    let api = Fake::new(1, 1, Ok(vec![1]));
    *api.scale.lock().unwrap() = Err("deployments.apps \"web\" not found".into());
    let err = reconcile(&api, &hpa(external_average("10"), None), &mut HpaMemory::default(), &SETTINGS, &clock(0))
        .await
        .unwrap_err();
    assert_eq!(err, "failed to query scale subresource for Deployment/default/web: deployments.apps \"web\" not found");
    assert_eq!(
        api.events(),
        vec![(EventType::Warning, "FailedGetScale".into(), "deployments.apps \"web\" not found".into())]
    );
    let able = condition(&api.last_status(), "AbleToScale").clone();
    assert_eq!(able["status"], "False");
    assert_eq!(
        able["message"],
        "the HPA controller was unable to get the target's current scale: deployments.apps \"web\" not found"
    );

    let mut bad = hpa(external_average("10"), None);
    bad["spec"]["scaleTargetRef"]["apiVersion"] = json!("a/b/c");
    let api = Fake::new(1, 1, Ok(vec![1]));
    let err = reconcile(&api, &bad, &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap_err();
    assert_eq!(err, "invalid API version in scale target reference: unexpected GroupVersion string: a/b/c");
}

#[tokio::test]
async fn failed_rescale_is_reported() {
    let mut api = Fake::new(1, 1, Ok(vec![42_000]));
    api.update_scale_error = Some("Operation cannot be fulfilled".into());
    let err = reconcile(&api, &hpa(external_average("10"), None), &mut HpaMemory::default(), &SETTINGS, &clock(0))
        .await
        .unwrap_err();
    assert_eq!(err, "failed to rescale Deployment/default/web: Operation cannot be fulfilled");
    let (t, reason, msg) = api.events()[0].clone();
    assert_eq!((t, reason.as_str()), (EventType::Warning, "FailedRescale"));
    assert!(
        msg.starts_with("New size: 4; reason: external metric ")
            && msg.ends_with("; error: Operation cannot be fulfilled")
    );
    let st = api.last_status();
    assert_eq!(condition(&st, "AbleToScale")["reason"], "FailedUpdateScale");
    assert!(st.get("lastScaleTime").is_none());
}

#[tokio::test]
async fn zero_replicas_disable_scaling_and_bounds_are_enforced_first() {
    let api = Fake::new(0, 0, Ok(vec![42_000]));
    reconcile(&api, &hpa(external_average("10"), None), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap();
    let st = api.last_status();
    assert_eq!(condition(&st, "ScalingActive")["reason"], "ScalingDisabled");
    assert!(api.metric_queries.lock().unwrap().is_empty());

    let api = Fake::new(12, 12, Ok(vec![1]));
    reconcile(&api, &hpa(external_average("10"), None), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap();
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![10]);
    assert_eq!(api.events()[0].2, "New size: 10; reason: Current number of replicas above Spec.MaxReplicas");
}

#[tokio::test]
async fn scale_down_with_short_behavior_window_says_all_metrics_below_target() {
    let api = Fake::new(5, 5, Ok(vec![5_000]));
    let behavior = json!({"scaleDown": {"stabilizationWindowSeconds": 0}});
    reconcile(&api, &hpa(external_average("10"), Some(behavior)), &mut HpaMemory::default(), &SETTINGS, &clock(0))
        .await
        .unwrap();
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![1]);
    assert_eq!(api.events()[0].2, "New size: 1; reason: All metrics below target");
}

#[tokio::test]
async fn the_largest_proposal_wins_and_a_failing_metric_does_not_block_scale_up() {
    let mut metrics = external_average("10");
    metrics.as_array_mut().unwrap().push(json!({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1"}}}));
    let api = Fake::new(2, 2, Ok(vec![42_000]));
    let err = reconcile(&api, &hpa(metrics, None), &mut HpaMemory::default(), &SETTINGS, &clock(0)).await.unwrap_err();
    assert!(err.starts_with("invalid metrics (1 invalid out of 2), first error is: "), "{err}");
    assert_eq!(*api.scale_updates.lock().unwrap(), vec![4]);
    assert_eq!(condition(&api.last_status(), "ScalingActive")["reason"], "ValidMetricFound");
}
