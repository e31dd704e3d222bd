//! The objects the memory test feeds, shaped as kube-apiserver returns them in the workload
//! bench: pods of a Deployment's ReplicaSet as `DevCluster::populate_deployments` stores them
//! (src/devcluster/populate/deployments.rs: defaulted, bound, Running and Ready, tolerations,
//! projected token volume, probe, container status), and the bench's DPAs (benches/workload/fleet.rs
//! `dpa_number`) with the metadata kube-apiserver adds and the status our controller writes.

use autoscaling_apiserver::devcluster::deployment_pod;
use serde_json::{Value, json};

pub const HASH: &str = "5d8f7c9b4f";

/// Pod `i` of ReplicaSet `<app>-<HASH>` in `ns` as `DevCluster::populate_deployments` stores it,
/// with a uid and resourceVersion that depend only on `i` (the same bytes on every run).
pub fn pod(ns: &str, app: &str, i: usize) -> Value {
    let rs = format!("{app}-{HASH}");
    let mut pod = deployment_pod(ns, app, &rs, "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a", HASH, i);
    pod["metadata"]["uid"] = json!(format!("6f1c2e4a-0b7d-4c39-9e5f-{i:012x}"));
    pod["metadata"]["resourceVersion"] = json!((1000 + i).to_string());
    pod
}

/// One page of a pod list, as kube-apiserver sends it.
pub fn pod_list(pods: Vec<Value>, resource_version: &str, next: Option<&str>) -> Vec<u8> {
    let mut metadata = json!({"resourceVersion": resource_version});
    if let Some(token) = next {
        metadata["continue"] = json!(token);
    }
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "PodList", "metadata": metadata, "items": pods}))
        .expect("a pod list serializes")
}

/// A watch line for `pod`.
pub fn watch_line(kind: &str, pod: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": kind, "object": pod})).expect("a watch event serializes")
}

/// The namespace of the bench's 10-pod Deployment `app-<n>` (fleet.rs `namespace_of`).
pub fn namespace_of(n: usize) -> String {
    format!("bench-{}", n % 20)
}

/// DPA `i` of the bench (`i > 0`: on the 10-pod Deployment `app-<i>`), as kube-apiserver returns
/// it once our controller has written its status (`status`, shared by every DPA of the fleet).
pub fn dpa(i: usize, status: &Value) -> Value {
    let (ns, name) = (namespace_of(i), format!("app-{i}"));
    let manager = |manager: &str, sub: Option<&str>, fields: Value| {
        let mut entry = json!({"manager": manager, "operation": "Update", "apiVersion": "datadoghq.com/v1alpha2",
            "time": "2026-01-01T00:01:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields});
        if let Some(sub) = sub {
            entry["subresource"] = json!(sub);
        }
        entry
    };
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": ns, "uid": format!("3b2a1c0d-9e8f-4a7b-8c6d-{i:012x}"),
            "resourceVersion": (60000 + i).to_string(), "generation": 1, "creationTimestamp": "2026-01-01T00:01:00Z",
            "managedFields": [
                manager("workload-bench", None, json!({"f:spec": {".": {}, "f:applyPolicy": {".": {}, "f:mode": {},
                    "f:update": {".": {}, "f:strategy": {}}}, "f:objectives": {}, "f:owner": {}, "f:targetRef": {".": {},
                    "f:apiVersion": {}, "f:kind": {}, "f:name": {}}}})),
                manager("autoscaling-apiserver", Some("status"), json!({"f:status": {".": {}, "f:conditions": {},
                    "f:currentReplicas": {}}}))]},
        "spec": {"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "applyPolicy": {"mode": "Apply", "update": {"strategy": "Auto"}},
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]},
        "status": status})
}
