//! The control-plane controllers devcluster needs to look like a real cluster: CRD establishment,
//! per-namespace `default` ServiceAccount and `kube-root-ca.crt`, ClusterRole aggregation.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::Cluster;
use super::bootstrap::CRD_TABLE;
use super::ops::WriteOptions;
use super::rbac;
use super::selector::LabelSelector;
use super::store::{Change, ChangeType};

pub async fn run(cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut changes = cluster.store.changes();
    // Objects seeded before this task subscribed.
    resync(&cluster);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            next = changes.recv() => match next {
                Ok(change) => react(&cluster, &change),
                Err(RecvError::Lagged(_)) => resync(&cluster),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

fn resync(cluster: &Cluster) {
    for table in [CRD_TABLE, "/namespaces", "rbac.authorization.k8s.io/clusterroles"] {
        let (_, objects) = cluster.store.snapshot(&Arc::from(table));
        for stored in objects.values() {
            react_to(cluster, table, ChangeType::Added, &stored.value());
        }
    }
}

fn react(cluster: &Cluster, change: &Change) {
    react_to(cluster, &change.table, change.kind, &change.object.value());
}

fn react_to(cluster: &Cluster, table: &str, kind: ChangeType, obj: &serde_json::Value) {
    if kind == ChangeType::Deleted {
        return;
    }
    let result = match table {
        CRD_TABLE => establish_crd(cluster, obj),
        "/namespaces" => namespace_defaults(cluster, obj),
        "rbac.authorization.k8s.io/clusterroles" => aggregate_cluster_roles(cluster),
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::debug!(table, error = %e, "controller write skipped");
    }
}

fn system_opts(manager: &str) -> WriteOptions {
    WriteOptions { field_manager: manager.into(), ..Default::default() }
}

fn establish_crd(cluster: &Cluster, crd: &serde_json::Value) -> Result<(), super::ApiError> {
    let Some(status) = super::crd::desired_status(crd) else { return Ok(()) };
    let rt = cluster
        .registry
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| super::ApiError::internal("crds not served"))?;
    let mut next = crd.clone();
    next["status"] = status;
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let opts = WriteOptions { subresource: Some("status".into()), ..system_opts("kube-apiserver") };
    cluster.op_update(&rt, "", name, next, &opts).map(|_| ())
}

fn namespace_defaults(cluster: &Cluster, ns: &serde_json::Value) -> Result<(), super::ApiError> {
    if ns["metadata"]["deletionTimestamp"].is_string() {
        return Ok(());
    }
    let name = ns["metadata"]["name"].as_str().unwrap_or_default();
    let sa = cluster
        .registry
        .lookup("", "v1", "serviceaccounts")
        .ok_or_else(|| super::ApiError::internal("serviceaccounts not served"))?;
    if cluster.op_get(&sa, name, "default").is_err() {
        let obj = json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":name}});
        cluster.op_create(&sa, name, obj, &system_opts("kube-controller-manager"))?;
    }
    Ok(())
}

fn aggregate_cluster_roles(cluster: &Cluster) -> Result<(), super::ApiError> {
    let rt = cluster
        .registry
        .lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
        .ok_or_else(|| super::ApiError::internal("clusterroles not served"))?;
    let (_, objects) = cluster.store.snapshot(&rt.table);
    let roles: Vec<_> = objects.values().filter_map(|s| serde_json::from_value(s.value()).ok()).collect();
    let matches = |sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
                   labels: &std::collections::BTreeMap<String, String>| {
        serde_json::to_value(sel)
            .ok()
            .and_then(|v| LabelSelector::from_json(&v).ok())
            .is_some_and(|s| s.matches(labels))
    };
    for (name, rules) in rbac::aggregate(&roles, &matches) {
        let mut obj = cluster.op_get(&rt, "", &name)?;
        obj["rules"] = serde_json::to_value(rules).unwrap_or_default();
        cluster.op_update(&rt, "", &name, obj, &system_opts("clusterrole-aggregation-controller"))?;
    }
    Ok(())
}
