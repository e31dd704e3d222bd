//! devcluster's HPA controller end to end: it scales through the scale subresource, reads metrics
//! as kube-controller-manager does, and reports failures in conditions and Events.
//!
//! The first two tests need only devcluster (a custom resource with a scale subresource is the
//! target, so no workload controller is involved). `deployment_follows_an_external_metric_served_by_our_server`
//! is the whole path: our server behind an APIService, reached through devcluster's aggregation
//! layer, and a Deployment whose `status.replicas` the workload controllers keep.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::{Config, DevCluster, USAGE_ANNOTATION_PREFIX};
use autoscaling_apiserver::server::{ExternalMetricValue, MetricsProvider, ProviderError, ServeConfig, start};
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{get, raw, start_with};

const DEADLINE: Duration = Duration::from_secs(60);

fn fast_hpa() -> Config {
    Config { hpa_sync_period: Duration::from_millis(500), ..Config::default() }
}

async fn send(dc: &DevCluster, method: Method, path: &str, ct: &str, body: Value) -> Value {
    let (code, out) = raw(dc, method.clone(), path, ct, body.to_string()).await;
    assert!((200..300).contains(&code), "{method} {path}: {code} {out}");
    out
}

async fn create(dc: &DevCluster, path: &str, body: Value) -> Value {
    send(dc, Method::POST, path, "application/json", body).await
}

async fn merge(dc: &DevCluster, path: &str, body: Value) -> Value {
    send(dc, Method::PATCH, path, "application/merge-patch+json", body).await
}

/// Polls `path` until `check` holds; panics with the last object after the deadline.
async fn wait_for(dc: &DevCluster, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (code, obj) = get(dc, path).await;
        if code == 200 && check(&obj) {
            return obj;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not reached within {DEADLINE:?}; last {path}: {obj}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn condition<'a>(hpa: &'a Value, type_: &str) -> Option<&'a Value> {
    hpa["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

fn events_of(list: &Value, hpa: &str, reason: &str) -> Vec<Value> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["involvedObject"]["name"] == hpa && e["involvedObject"]["kind"] == "HorizontalPodAutoscaler")
        .filter(|e| e["reason"] == reason)
        .cloned()
        .collect()
}

/// A namespaced custom resource `Scalable` with a scale subresource, and one object of it whose
/// status claims `replicas` pods selected by `app=<name>`.
async fn scalable(dc: &DevCluster, name: &str, replicas: i64) -> String {
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "scalables.test.devcluster.io"},
        "spec": {"group": "test.devcluster.io", "scope": "Namespaced",
            "names": {"plural": "scalables", "singular": "scalable", "kind": "Scalable", "listKind": "ScalableList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}
    });
    let (code, body) = raw(
        dc,
        Method::POST,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        crd.to_string(),
    )
    .await;
    assert!(code == 201 || code == 409, "{body}");
    let base = "/apis/test.devcluster.io/v1/namespaces/default/scalables";
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let obj = json!({"apiVersion": "test.devcluster.io/v1", "kind": "Scalable", "metadata": {"name": name}, "spec": {"replicas": replicas}});
    loop {
        let (code, body) = raw(dc, Method::POST, base, "application/json", obj.to_string()).await;
        if code == 201 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Scalable never served: {code} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let path = format!("{base}/{name}");
    merge(dc, &format!("{path}/status"), json!({"status": {"replicas": replicas, "selector": format!("app={name}")}}))
        .await;
    path
}

/// A Running, Ready pod labelled `app=<app>` requesting 250m CPU and using `usage`.
async fn busy_pod(dc: &DevCluster, app: &str, name: &str, usage: &str) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}, "annotations": {format!("{USAGE_ANNOTATION_PREFIX}cpu"): usage}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "250m"}}}]}});
    create(dc, "/api/v1/namespaces/default/pods", pod).await;
    let long_ago = "2026-01-01T00:00:00Z";
    let status = json!({"status": {"phase": "Running", "startTime": long_ago,
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": long_ago}]}});
    merge(dc, &format!("/api/v1/namespaces/default/pods/{name}/status"), status).await;
}

fn hpa(name: &str, target: Value, max: i64, metrics: Value, behavior: Value) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
        "spec": {"scaleTargetRef": target, "minReplicas": 1, "maxReplicas": max, "metrics": metrics, "behavior": behavior}})
}

const HPAS: &str = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";

#[tokio::test]
async fn custom_resource_scales_up_and_down_on_pod_cpu_usage() {
    let dc = start_with(fast_hpa()).await;
    let target = scalable(&dc, "cr", 2).await;
    busy_pod(&dc, "cr", "cr-a", "500m").await;
    busy_pod(&dc, "cr", "cr-b", "500m").await;
    let metrics = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]);
    let fast_down = json!({"scaleDown": {"stabilizationWindowSeconds": 0}});
    let target_ref = json!({"apiVersion": "test.devcluster.io/v1", "kind": "Scalable", "name": "cr"});
    create(&dc, HPAS, hpa("cr", target_ref, 6, metrics, fast_down)).await;

    // 1000m used of 500m requested = 200 % against 50 % → 8, capped at maxReplicas 6.
    wait_for(&dc, &target, "scaled up to 6", |o| o["spec"]["replicas"] == 6).await;
    let h = wait_for(&dc, &format!("{HPAS}/cr"), "status written", |h| h["status"]["desiredReplicas"] == 6).await;
    assert_eq!(h["status"]["currentReplicas"], 2);
    assert_eq!(
        h["status"]["currentMetrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "500m", "averageUtilization": 200}}}])
    );
    let limited = condition(&h, "ScalingLimited").expect("ScalingLimited");
    assert_eq!((limited["status"].as_str(), limited["reason"].as_str()), (Some("True"), Some("TooManyReplicas")));
    assert_eq!(condition(&h, "AbleToScale").unwrap()["reason"], "SucceededRescale");
    assert!(h["status"]["lastScaleTime"].is_string());
    let (_, events) = get(&dc, "/api/v1/namespaces/default/events").await;
    let rescaled = events_of(&events, "cr", "SuccessfulRescale");
    assert_eq!(rescaled.len(), 1, "{events}");
    assert_eq!(
        rescaled[0]["message"],
        "New size: 6; reason: cpu resource utilization (percentage of request) above target"
    );
    assert_eq!(rescaled[0]["type"], "Normal");
    assert_eq!(rescaled[0]["source"]["component"], "horizontal-pod-autoscaler");
    assert_eq!(rescaled[0]["involvedObject"]["uid"], h["metadata"]["uid"]);

    // Usage drops to 4 % of requests: all metrics below target → 1 (scaleDown window 0, Percent 100).
    for pod in ["cr-a", "cr-b"] {
        let ann = json!({"metadata": {"annotations": {format!("{USAGE_ANNOTATION_PREFIX}cpu"): "10m"}}});
        merge(&dc, &format!("/api/v1/namespaces/default/pods/{pod}"), ann).await;
    }
    merge(&dc, &format!("{target}/status"), json!({"status": {"replicas": 6}})).await;
    wait_for(&dc, &target, "scaled down to 1", |o| o["spec"]["replicas"] == 1).await;
    let (_, events) = get(&dc, "/api/v1/namespaces/default/events").await;
    let messages: Vec<Value> =
        events_of(&events, "cr", "SuccessfulRescale").iter().map(|e| e["message"].clone()).collect();
    assert!(messages.contains(&json!("New size: 1; reason: All metrics below target")), "{messages:?}");
    dc.shutdown().await;
}

#[tokio::test]
async fn unreachable_external_metrics_surface_as_failed_get_external_metric() {
    let dc = start_with(fast_hpa()).await;
    scalable(&dc, "ext", 1).await;
    let metrics = json!([{"type": "External", "external": {"metric": {"name": "queue-depth"}, "target": {"type": "Value", "value": "10"}}}]);
    let target_ref = json!({"apiVersion": "test.devcluster.io/v1", "kind": "Scalable", "name": "ext"});
    create(&dc, HPAS, hpa("ext", target_ref, 5, metrics, Value::Null)).await;
    let h = wait_for(&dc, &format!("{HPAS}/ext"), "ScalingActive=False", |h| {
        condition(h, "ScalingActive").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let active = condition(&h, "ScalingActive").unwrap();
    assert_eq!(active["reason"], "FailedGetExternalMetric");
    let prefix = "the HPA was unable to compute the replica count: unable to get external metric default/queue-depth/nil: \
                  unable to fetch metrics from external metrics API: ";
    let message = active["message"].as_str().unwrap();
    // No APIService serves external.metrics.k8s.io here: whatever devcluster answers for the path.
    assert!(message.starts_with(prefix) && message.contains("could not find the requested resource"), "{message}");
    assert_eq!(condition(&h, "AbleToScale").unwrap()["reason"], "SucceededGetScale");
    assert_eq!(h["status"]["currentReplicas"], 1);
    let events = wait_for(&dc, "/api/v1/namespaces/default/events", "warning events", |l| {
        !events_of(l, "ext", "FailedComputeMetricsReplicas").is_empty()
    })
    .await;
    let failed = events_of(&events, "ext", "FailedGetExternalMetric");
    assert_eq!(failed[0]["type"], "Warning");
    assert_eq!(
        format!("the HPA was unable to compute the replica count: {}", failed[0]["message"].as_str().unwrap()),
        message
    );
    // Repeats are counted on the same Event, as client-go's correlator does.
    let counted = wait_for(&dc, "/api/v1/namespaces/default/events", "a repeated event", |l| {
        events_of(l, "ext", "FailedGetExternalMetric").iter().any(|e| e["count"].as_i64() >= Some(2))
    })
    .await;
    assert_eq!(events_of(&counted, "ext", "FailedGetExternalMetric").len(), 1);

    // A target that does not exist is FailedGetScale with the API's NotFound message.
    let metrics =
        json!([{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "1"}}}]);
    let missing = json!({"apiVersion": "test.devcluster.io/v1", "kind": "Scalable", "name": "nope"});
    create(&dc, HPAS, hpa("missing", missing, 5, metrics, Value::Null)).await;
    let h = wait_for(&dc, &format!("{HPAS}/missing"), "AbleToScale=False", |h| {
        condition(h, "AbleToScale").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let able = condition(&h, "AbleToScale").unwrap();
    assert_eq!(able["reason"], "FailedGetScale");
    assert_eq!(
        able["message"],
        "the HPA controller was unable to get the target's current scale: scalables.test.devcluster.io \"nope\" not found"
    );
    dc.shutdown().await;
}

/// A provider whose answer the test changes.
struct Dial(Mutex<Result<String, String>>);

impl Dial {
    fn set(&self, v: Result<&str, &str>) {
        *self.0.lock().unwrap() = v.map(str::to_string).map_err(str::to_string);
    }
}

impl MetricsProvider for Dial {
    fn get(&self, _ns: &str, metric: &str, _s: &LabelSelector) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let value = self.0.lock().unwrap().clone().map_err(ProviderError::Unavailable)?;
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            metric_labels: None,
            timestamp: "2026-11-23T10:00:00Z".into(),
            window: None,
            value,
        }])
    }
}

/// Needs the aggregation layer (APIService proxying, extension-apiserver-authentication published
/// by devcluster) and the workload controllers (Deployment `status.replicas`).
#[tokio::test]
async fn deployment_follows_an_external_metric_served_by_our_server() {
    let dc = start_with(fast_hpa()).await;
    let dial = Arc::new(Dial(Mutex::new(Ok("42".into()))));
    let config = ServeConfig::loopback("autoscaling-apiserver", "datadog");
    let server = start(config, dc.client().await.unwrap(), dial.clone()).await.expect("server starts");
    create(
        &dc,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datadog"}}),
    )
    .await;
    let port = server.secure_addr.port();
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "autoscaling-apiserver"},
        "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port, "targetPort": port}]}});
    create(&dc, "/api/v1/namespaces/datadog/services", svc).await;
    let ca = base64::engine::general_purpose::STANDARD.encode(server.ca_pem.as_deref().unwrap());
    let apiservice = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
        "spec": {"group": "external.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
            "caBundle": ca, "service": {"namespace": "datadog", "name": "autoscaling-apiserver", "port": port}}});
    create(&dc, "/apis/apiregistration.k8s.io/v1/apiservices", apiservice).await;
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    create(&dc, "/apis/apps/v1/namespaces/default/deployments", deploy).await;
    let metrics = json!([{"type": "External", "external": {
        "metric": {"name": "datadogmetric@default:web-rps", "selector": {"matchLabels": {"app": "web"}}},
        "target": {"type": "AverageValue", "averageValue": "10"}}}]);
    let behavior = json!({"scaleDown": {"stabilizationWindowSeconds": 1}});
    let target_ref = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
    create(&dc, HPAS, hpa("web", target_ref, 10, metrics, behavior)).await;

    let deployment = "/apis/apps/v1/namespaces/default/deployments/web";
    // 42 against 10 per pod → 5 (default scale-up policies allow +4 from 1).
    wait_for(&dc, deployment, "1 → 5", |d| d["spec"]["replicas"] == 5 && d["status"]["replicas"] == 5).await;
    // Once the Deployment reports 5 replicas: 42 / 5 = 8.4 per pod, within reach of 5 → stays 5.
    let h = wait_for(&dc, &format!("{HPAS}/web"), "8400m per pod", |h| {
        h["status"]["currentMetrics"][0]["external"]["current"]["averageValue"] == "8400m"
    })
    .await;
    assert_eq!((h["status"]["currentReplicas"].as_i64(), h["status"]["desiredReplicas"].as_i64()), (Some(5), Some(5)));
    let (_, events) = get(&dc, "/api/v1/namespaces/default/events").await;
    let selector =
        "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}";
    assert_eq!(
        events_of(&events, "web", "SuccessfulRescale")[0]["message"],
        format!("New size: 5; reason: external metric datadogmetric@default:web-rps({selector}) above target")
    );

    dial.set(Ok("3"));
    wait_for(&dc, deployment, "5 → 1", |d| d["spec"]["replicas"] == 1).await;

    dial.set(Err("DatadogMetric is invalid, err: Invalid metric (from backend)"));
    let h = wait_for(&dc, &format!("{HPAS}/web"), "ScalingActive=False", |h| {
        condition(h, "ScalingActive").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let active = condition(&h, "ScalingActive").unwrap();
    assert_eq!(active["reason"], "FailedGetExternalMetric");
    assert_eq!(
        active["message"],
        format!(
            "the HPA was unable to compute the replica count: unable to get external metric \
             default/datadogmetric@default:web-rps/{selector}: unable to fetch metrics from external metrics API: \
             Internal error occurred: DatadogMetric is invalid, err: Invalid metric (from backend)"
        )
    );
    dc.shutdown().await;
}

/// kube-apiserver's bootstrap `system:controller:horizontal-pod-autoscaler` role, bound to the
/// ServiceAccount devcluster creates for its HPA controller.
#[tokio::test]
async fn hpa_controller_service_account_has_the_bootstrap_role() {
    let dc = start_with(Config::default()).await;
    let (code, sa) = get(&dc, "/api/v1/namespaces/kube-system/serviceaccounts/horizontal-pod-autoscaler").await;
    assert_eq!(code, 200, "{sa}");
    let user = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
    let cases = [
        (
            json!({"verb": "list", "group": "external.metrics.k8s.io", "resource": "datadogmetric@default:web-rps", "namespace": "default"}),
            true,
        ),
        (json!({"verb": "get", "group": "custom.metrics.k8s.io", "resource": "pods", "namespace": "default"}), true),
        (
            json!({"verb": "update", "group": "apps", "resource": "deployments", "subresource": "scale", "namespace": "default"}),
            true,
        ),
        (
            json!({"verb": "update", "group": "autoscaling", "resource": "horizontalpodautoscalers", "subresource": "status", "namespace": "default"}),
            true,
        ),
        (json!({"verb": "patch", "group": "", "resource": "events", "namespace": "default"}), true),
        (json!({"verb": "list", "group": "", "resource": "pods", "namespace": "default"}), true),
        (json!({"verb": "update", "group": "apps", "resource": "deployments", "namespace": "default"}), false),
        (json!({"verb": "delete", "group": "", "resource": "pods", "namespace": "default"}), false),
    ];
    for (attributes, expected) in cases {
        let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system"], "resourceAttributes": attributes}});
        let out = create(&dc, "/apis/authorization.k8s.io/v1/subjectaccessreviews", review).await;
        assert_eq!(out["status"]["allowed"], expected, "{attributes}: {out}");
    }
    dc.shutdown().await;
}
