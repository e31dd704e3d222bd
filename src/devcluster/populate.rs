//! Bulk objects for benchmarks and scale tests: N realistic pods (owner references, labels,
//! containers with resources) spread over M namespaces, written straight into the store.

mod deployments;

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

pub use deployments::{pod as deployment_pod, run as run_deployments};

use super::Cluster;
use super::ops::{WriteOptions, key};
use super::registry::ResourceType;

/// Writes a pod object straight into the store, as the API server would have stored it.
fn store_pod(c: &Cluster, pods: &ResourceType, ns: &str, obj: Value) -> anyhow::Result<()> {
    let stored = c.to_storage(pods, obj).map_err(|e| anyhow::anyhow!("{e}"))?;
    let fields = c.field_values(pods, &stored);
    let name = stored["metadata"]["name"].as_str().unwrap_or_default().to_string();
    c.store.create(&pods.table, key(pods, ns, &name), stored, fields)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PopulateSpec {
    pub pods: usize,
    pub namespaces: usize,
    /// Pods per ReplicaSet.
    pub pods_per_owner: usize,
}

impl Default for PopulateSpec {
    fn default() -> Self {
        PopulateSpec { pods: 1000, namespaces: 10, pods_per_owner: 10 }
    }
}

/// Holds the workload controllers while bulk objects are written, so none of them reconciles a
/// ReplicaSet before its pods exist (it would create pods of its own); they resync on release.
pub(super) struct Hold<'a>(&'a Cluster);

impl<'a> Hold<'a> {
    pub(super) fn new(c: &'a Cluster) -> Self {
        c.workloads_hold.fetch_add(1, Ordering::SeqCst);
        Hold(c)
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.workloads_hold.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Returns how many objects were created.
pub fn run(c: &Cluster, spec: &PopulateSpec) -> anyhow::Result<usize> {
    let _hold = Hold::new(c);
    let ns_rt = c.registry.lookup("", "v1", "namespaces").ok_or_else(|| anyhow::anyhow!("namespaces not served"))?;
    let pods = c.registry.lookup("", "v1", "pods").ok_or_else(|| anyhow::anyhow!("pods not served"))?;
    let rs_rt =
        c.registry.lookup("apps", "v1", "replicasets").ok_or_else(|| anyhow::anyhow!("replicasets not served"))?;
    let namespaces = spec.namespaces.max(1);
    let per_owner = spec.pods_per_owner.max(1);
    let opts = WriteOptions { field_manager: "devcluster-populate".into(), ..Default::default() };
    let mut created = 0;
    for n in 0..namespaces {
        let name = format!("bench-{n}");
        if c.store.get(&ns_rt.table, &key(&ns_rt, "", &name)).is_none() {
            c.op_create(&ns_rt, "", json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":name}}), &opts)?;
            created += 1;
        }
    }
    let mut owner_uid = String::new();
    for i in 0..spec.pods {
        let group = i / per_owner;
        let ns = format!("bench-{}", group % namespaces);
        let app = format!("app-{group}");
        if i % per_owner == 0 {
            let size = per_owner.min(spec.pods - i);
            let mut rs = c.op_create(&rs_rt, &ns, replica_set(&ns, &app, size), &opts)?.object;
            owner_uid = rs["metadata"]["uid"].as_str().unwrap_or_default().to_string();
            // The status the ReplicaSet controller would write for its Ready pods, so it finds
            // nothing to change.
            rs["status"] = json!({"replicas": size, "fullyLabeledReplicas": size, "readyReplicas": size,
                                  "availableReplicas": size, "observedGeneration": 1});
            let status_opts = WriteOptions { subresource: Some("status".into()), ..opts.clone() };
            c.op_update(&rs_rt, &ns, &format!("{app}-7d9f8b6c5d"), rs, &status_opts)?;
            created += 1;
        }
        store_pod(c, &pods, &ns, pod(&ns, &app, i, &owner_uid))?;
        created += 1;
    }
    Ok(created)
}

fn replica_set(ns: &str, app: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("{app}-7d9f8b6c5d"), "namespace": ns, "labels": {"app": app, "pod-template-hash": "7d9f8b6c5d"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app, "pod-template-hash": "7d9f8b6c5d"}},
            "template": {"metadata": {"labels": {"app": app, "pod-template-hash": "7d9f8b6c5d"}},
                         "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.2.3"}]}}
        }
    })
}

fn pod(ns: &str, app: &str, i: usize, owner_uid: &str) -> Value {
    let rs = format!("{app}-7d9f8b6c5d");
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{rs}-{i:05x}"), "namespace": ns, "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": app, "pod-template-hash": "7d9f8b6c5d", "tier": "web"},
            "annotations": {"ad.datadoghq.com/tags": "{\"team\":\"bench\"}"},
            "ownerReferences": [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":rs,"uid":owner_uid,"controller":true,"blockOwnerDeletion":true}]
        },
        "spec": {
            "nodeName": format!("node-{}", i % 500),
            "serviceAccountName": "default",
            "containers": [{
                "name": "app", "image": "registry.example/app:1.2.3",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "DD_ENV", "value": "bench"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}
            }]
        },
        "status": {"phase": "Running", "podIP": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255), "qosClass": "Burstable",
                   "conditions": [{"type":"Ready","status":"True"}]}
    })
}
