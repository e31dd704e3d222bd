//! What a fresh kube-apiserver has: system namespaces, the RBAC bootstrap policy, and the store
//! observers that keep the registry (CRDs) and the authorizer (RBAC) in step with the objects.

use std::sync::{Arc, Weak};

use serde_json::{Value, json};

use super::Cluster;
use super::crd;
use super::ops::WriteOptions;
use super::rbac;
use super::store::{Change, ChangeType};

pub const CRD_TABLE: &str = "apiextensions.k8s.io/customresourcedefinitions";
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

pub fn observe(cluster: &Arc<Cluster>) {
    let weak: Weak<Cluster> = Arc::downgrade(cluster);
    cluster.store.observe(Box::new(move |change: &Change| {
        let Some(cluster) = weak.upgrade() else { return };
        if change.table.starts_with("rbac.authorization.k8s.io/") {
            cluster.rbac_changed();
        }
        if &*change.table == CRD_TABLE {
            sync_crd(&cluster, change);
        }
    }));
}

fn sync_crd(cluster: &Cluster, change: &Change) {
    let name = change.object.key.name.clone();
    if change.kind == ChangeType::Deleted {
        cluster.registry.set_custom(&name, Vec::new());
        return;
    }
    match crd::resource_types(&change.object.value()) {
        Ok(types) => cluster.registry.set_custom(&name, types),
        Err(e) => tracing::warn!(crd = %name, error = %e, "CustomResourceDefinition not served"),
    }
}

/// Objects every cluster starts with.
pub fn seed(cluster: &Cluster) -> anyhow::Result<()> {
    let opts = WriteOptions { field_manager: "kube-apiserver".into(), ..Default::default() };
    let ns = cluster.registry.lookup("", "v1", "namespaces").ok_or_else(|| anyhow::anyhow!("namespaces not served"))?;
    for name in SYSTEM_NAMESPACES {
        let obj = json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":name,"labels":{"kubernetes.io/metadata.name":name}}});
        cluster.op_create(&ns, "", obj, &opts)?;
    }
    let sa = cluster
        .registry
        .lookup("", "v1", "serviceaccounts")
        .ok_or_else(|| anyhow::anyhow!("serviceaccounts not served"))?;
    let hpa_sa = json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":super::hpa::SA_NAME,"namespace":super::hpa::SA_NAMESPACE}});
    cluster.op_create(&sa, super::hpa::SA_NAMESPACE, hpa_sa, &opts)?;
    let (roles, bindings) = rbac::bootstrap_policy();
    create_all(cluster, "clusterroles", roles.into_iter().map(serde_json::to_value), &opts)?;
    create_all(cluster, "clusterrolebindings", bindings.into_iter().map(serde_json::to_value), &opts)?;
    Ok(())
}

fn create_all(
    cluster: &Cluster,
    plural: &str,
    objs: impl Iterator<Item = serde_json::Result<Value>>,
    opts: &WriteOptions,
) -> anyhow::Result<()> {
    let rt = cluster
        .registry
        .lookup("rbac.authorization.k8s.io", "v1", plural)
        .ok_or_else(|| anyhow::anyhow!("{plural} not served"))?;
    for obj in objs {
        let mut obj = obj?;
        obj["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
        obj["kind"] = json!(rt.kind);
        cluster.op_create(&rt, "", obj, opts)?;
    }
    Ok(())
}
