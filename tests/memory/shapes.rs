//! The objects the memory test feeds, shaped as kube-apiserver returns them in the workload
//! bench: pods of a Deployment's ReplicaSet as `DevCluster::populate_deployments` stores them
//! (src/devcluster/populate/deployments.rs: defaulted, bound, Running and Ready, tolerations,
//! projected token volume, probe, container status), and the bench's DPAs (benches/workload/fleet.rs
//! `dpa_number`) with the metadata kube-apiserver adds and the status our controller writes.

use serde_json::{Value, json};

pub const HASH: &str = "5d8f7c9b4f";

/// Pod `i` of ReplicaSet `<app>-<HASH>` in `ns`, named as the ReplicaSet's pods are.
pub fn pod(ns: &str, app: &str, i: usize) -> Value {
    let rs = format!("{app}-{HASH}");
    let ip = format!("10.{}.{}.{}", 128 + ((i >> 16) & 127), (i >> 8) & 255, i & 255);
    let ready = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"});
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{rs}-{i:05x}"), "generateName": format!("{rs}-"), "namespace": ns,
            "uid": format!("6f1c2e4a-0b7d-4c39-9e5f-{i:012x}"), "resourceVersion": (1000 + i).to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": app, "tier": "web", "pod-template-hash": HASH},
            "annotations": {"ad.datadoghq.com/tags": "{\"team\":\"bench\"}"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a", "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "nodeName": format!("node-{}", i % 500),
            "serviceAccountName": "default", "serviceAccount": "default",
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30, "enableServiceLinks": true, "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority", "securityContext": {},
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]}}],
            "containers": [{
                "name": "app", "image": "registry.example/app:1.2.3", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                "env": [{"name": "DD_ENV", "value": "bench"}, {"name": "DD_SERVICE", "value": app}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10,
                                   "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"name": "kube-api-access", "readOnly": true,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
            }]
        },
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": format!("10.0.{}.{}", (i % 500) / 250, (i % 500) % 250),
            "qosClass": "Burstable", "startTime": "2026-01-01T00:00:01Z",
            "conditions": [ready("PodReadyToStartContainers"), ready("Initialized"), ready("Ready"),
                           ready("ContainersReady"), ready("PodScheduled")],
            "containerStatuses": [{"name": "app", "ready": true, "started": true, "restartCount": 0,
                                   "image": "registry.example/app:1.2.3",
                                   "imageID": "registry.example/app@sha256:4c1e0b9d8f3a2e7c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a",
                                   "containerID": format!("containerd://{i:064x}"),
                                   "state": {"running": {"startedAt": "2026-01-01T00:00:03Z"}}}]
        }
    })
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
