//! The resource metrics API (`metrics.k8s.io/v1beta1`, what metrics-server serves): `PodMetrics`
//! get and list per namespace (or across namespaces) with label selectors, computed from each
//! running pod's usage annotations `devcluster.autoscaling/usage-cpu` / `usage-memory` — the
//! annotations devcluster's HPA controller reads, since devcluster runs no containers.
//!
//! A pod without either annotation has no metrics (as when metrics-server has not scraped it yet)
//! and is left out; a pod with only one reports `0` for the other. The pod's usage is split across
//! its containers in proportion to their requests of that resource (evenly when none has one), so
//! the containers add up to the annotation. Timestamps are the time of the request (whole seconds,
//! as metrics-server's scrape times are) and the window is metrics-server's 15 s.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Cluster;
use super::handlers::{Call, json};
use super::hpa::USAGE_ANNOTATION_PREFIX;
use super::ops::target;
use super::registry::ResourceType;
use super::selector::LabelSelector;
use super::status::{ApiError, ApiResult};
use crate::apimachinery::quantity::milli_value;

/// `PodMetrics` as a type, for the typed decoder (`builtin::normalize`) every built-in kind has.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct PodMetricsObject {
    #[serde(rename = "apiVersion", default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerMetricsObject>,
}

/// One container's usage.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct ContainerMetricsObject {
    pub name: String,
    #[serde(default)]
    pub usage: std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
}

/// The group served here.
pub const GROUP: &str = "metrics.k8s.io";
/// metrics-server's default `--metric-resolution`.
const WINDOW: &str = "15s";

/// get / list of `pods.metrics.k8s.io`.
pub fn handle(call: &Call, rt: &ResourceType) -> ApiResult<Response> {
    let info = &call.info;
    let now = now_rfc3339();
    match info.verb.as_str() {
        "get" => {
            let pod = pod(&call.cluster, &info.namespace, &info.name);
            let metrics =
                pod.and_then(|p| pod_metrics(&p, &now)).ok_or_else(|| ApiError::not_found(target(rt, &info.name)))?;
            Ok(json(StatusCode::OK, &metrics, &[]))
        }
        "list" => {
            let selector = match call.query.get("labelSelector").filter(|s| !s.is_empty()) {
                Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
                None => LabelSelector::everything(),
            };
            let items: Vec<Value> =
                pods(&call.cluster, &info.namespace, &selector).iter().filter_map(|p| pod_metrics(p, &now)).collect();
            let list = json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {}, "items": items});
            Ok(json(StatusCode::OK, &list, &[]))
        }
        other => Err(ApiError::method_not_supported(target(rt, ""), other)),
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn pods_type(cluster: &Cluster) -> Option<std::sync::Arc<ResourceType>> {
    cluster.registry.lookup("", "v1", "pods")
}

fn pod(cluster: &Cluster, namespace: &str, name: &str) -> Option<Value> {
    let rt = pods_type(cluster)?;
    cluster.op_get(&rt, namespace, name).ok()
}

/// Pods of `namespace` (every namespace when empty) matching `selector`, in name order.
fn pods(cluster: &Cluster, namespace: &str, selector: &LabelSelector) -> Vec<Value> {
    let Some(rt) = pods_type(cluster) else { return Vec::new() };
    let (_, table) = cluster.store.snapshot(&rt.table);
    table
        .iter()
        .filter(|(k, s)| (namespace.is_empty() || k.namespace == namespace) && selector.matches(&s.labels))
        .map(|(_, s)| s.value())
        .collect()
}

/// The PodMetrics of a running pod with usage annotations, or `None`.
fn pod_metrics(pod: &Value, now: &str) -> Option<Value> {
    if pod["status"]["phase"] != "Running" {
        return None;
    }
    let annotations = &pod["metadata"]["annotations"];
    let usage = |res: &str| annotations[format!("{USAGE_ANNOTATION_PREFIX}{res}")].as_str().map(milli_value);
    let (cpu, memory) = (usage("cpu"), usage("memory"));
    if cpu.is_none() && memory.is_none() {
        return None;
    }
    // An unreadable annotation counts as no sample, as a failed scrape would.
    let cpu = cpu.unwrap_or(Ok(0)).ok()?;
    let memory = memory.unwrap_or(Ok(0)).ok()?;
    let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
    let cpu_shares = shares(&containers, "cpu", cpu);
    let memory_shares = shares(&containers, "memory", memory);
    let containers: Vec<Value> = containers
        .iter()
        .zip(cpu_shares.iter().zip(&memory_shares))
        .map(|(c, (cpu, mem))| {
            json!({"name": c["name"], "usage": {"cpu": format_cpu(*cpu), "memory": format_memory(*mem)}})
        })
        .collect();
    let meta = &pod["metadata"];
    Some(json!({
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": meta["labels"],
            "creationTimestamp": now},
        "timestamp": now, "window": WINDOW, "containers": containers,
    }))
}

/// `total_milli` split across containers in proportion to their requests of `resource`.
fn shares(containers: &[Value], resource: &str, total_milli: i64) -> Vec<f64> {
    let requests: Vec<f64> = containers
        .iter()
        .map(|c| {
            let q = c["resources"]["requests"][resource].as_str().map(milli_value);
            q.and_then(Result::ok).unwrap_or(0).max(0) as f64
        })
        .collect();
    let sum: f64 = requests.iter().sum();
    let n = containers.len().max(1) as f64;
    requests.iter().map(|r| total_milli as f64 * if sum > 0.0 { r / sum } else { 1.0 / n }).collect()
}

/// CPU in nanocores (`"250000000n"`), as metrics-server writes it.
fn format_cpu(milli: f64) -> String {
    format!("{}n", (milli * 1e6).round().max(0.0) as u64)
}

/// Memory in KiB when whole (`"131072Ki"`), else bytes.
fn format_memory(milli: f64) -> String {
    let bytes = (milli / 1000.0).round().max(0.0) as u64;
    if bytes.is_multiple_of(1024) { format!("{}Ki", bytes / 1024) } else { bytes.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: Value, phase: &str) -> Value {
        json!({
            "metadata": {"name": "web-1", "namespace": "prod", "labels": {"app": "web"}, "annotations": annotations},
            "spec": {"containers": [
                {"name": "app", "resources": {"requests": {"cpu": "300m", "memory": "1Gi"}}},
                {"name": "sidecar", "resources": {"requests": {"cpu": "100m"}}},
            ]},
            "status": {"phase": phase},
        })
    }

    #[test]
    fn usage_is_split_by_requests() {
        let p = pod(
            json!({"devcluster.autoscaling/usage-cpu": "400m", "devcluster.autoscaling/usage-memory": "512Mi"}),
            "Running",
        );
        let m = pod_metrics(&p, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(m["containers"][0], json!({"name": "app", "usage": {"cpu": "300000000n", "memory": "524288Ki"}}));
        assert_eq!(m["containers"][1], json!({"name": "sidecar", "usage": {"cpu": "100000000n", "memory": "0Ki"}}));
        assert_eq!(m["window"], "15s");
        assert_eq!(m["metadata"]["labels"], json!({"app": "web"}));
    }

    #[test]
    fn pods_without_samples_have_no_metrics() {
        assert!(pod_metrics(&pod(json!({}), "Running"), "t").is_none());
        assert!(pod_metrics(&pod(json!({"devcluster.autoscaling/usage-cpu": "1"}), "Pending"), "t").is_none());
        assert!(pod_metrics(&pod(json!({"devcluster.autoscaling/usage-cpu": "lots"}), "Running"), "t").is_none());
        let only_cpu = pod_metrics(&pod(json!({"devcluster.autoscaling/usage-cpu": "1"}), "Running"), "t").unwrap();
        assert_eq!(only_cpu["containers"][0]["usage"]["memory"], "0Ki");
    }
}
