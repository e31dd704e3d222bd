//! The garbage collector and namespace controller: deletes dependents whose owners are gone
//! (background propagation), finishes foreground and orphan deletions, and empties terminating
//! namespaces before removing them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::Cluster;
use super::ops::{CRD_CLEANUP, DeleteOptions, FOREGROUND, ORPHAN, Propagation, WriteOptions, key};
use super::registry::ResourceType;
use super::store::{Change, ChangeType, ObjectKey, OwnerLink, Stored, TableKey};

/// Full sweeps only catch what the change stream cannot show (an owner that never existed).
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Reacts to each change on the objects it concerns; a full sweep at start, periodically and
/// when the change stream lagged.
pub async fn run(cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut changes = cluster.store.changes();
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => { sweep(&cluster); }
            next = changes.recv() => match next {
                Ok(change) => react(&cluster, &change),
                Err(RecvError::Lagged(_)) => { sweep(&cluster); }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// The objects one change may unblock: the changed object itself, the dependents of a deleted
/// object, its owners (a foreground deletion waiting for it) and its terminating namespace.
fn react(cluster: &Cluster, change: &Change) {
    let obj = &change.object;
    if change.kind != ChangeType::Deleted {
        if let Some(rt) = cluster.registry.storage_type(&change.table) {
            collect(cluster, &rt, obj);
        }
        return;
    }
    for (table, key) in cluster.store.dependents_of(&obj.uid) {
        visit(cluster, &table, &key);
    }
    for owner in &obj.owners {
        if let Some(ort) = cluster.registry.by_kind(&owner.api_version, &owner.kind) {
            visit(cluster, &ort.table, &key(&ort, &obj.key.namespace, &owner.name));
        }
    }
    if !obj.key.namespace.is_empty() {
        visit(cluster, &Arc::from("/namespaces"), &ObjectKey::new("", obj.key.namespace.as_str()));
    }
}

fn visit(cluster: &Cluster, table: &TableKey, k: &ObjectKey) {
    let (Some(rt), Some(stored)) = (cluster.registry.storage_type(table), cluster.store.get(table, k)) else { return };
    collect(cluster, &rt, &stored);
}

/// One pass; returns how many writes it made.
pub fn sweep(cluster: &Cluster) -> usize {
    let mut writes = 0;
    for table in cluster.store.tables() {
        let Some(rt) = cluster.registry.storage_type(&table) else { continue };
        let (_, objects) = cluster.store.snapshot(&table);
        for stored in objects.values() {
            writes += collect(cluster, &rt, stored);
        }
    }
    writes
}

fn collect(cluster: &Cluster, rt: &ResourceType, stored: &Stored) -> usize {
    let mut writes = 0;
    if stored.deleting {
        if stored.finalizers.iter().any(|f| f == FOREGROUND) {
            writes += finish_foreground(cluster, rt, stored);
        }
        if stored.finalizers.iter().any(|f| f == ORPHAN) {
            writes += finish_orphan(cluster, rt, stored);
        }
        if rt.group.is_empty() && rt.plural == "namespaces" {
            writes += empty_namespace(cluster, rt, stored);
        }
        if stored.finalizers.iter().any(|f| f == CRD_CLEANUP) {
            writes += remove_custom_resources(cluster, rt, stored);
        }
    }
    if !stored.owners.is_empty() && stored.owners.iter().all(|o| owner_gone(cluster, &stored.key.namespace, o)) {
        writes += delete(cluster, rt, &stored.key, Propagation::Background);
    }
    writes
}

fn owner_gone(cluster: &Cluster, namespace: &str, owner: &OwnerLink) -> bool {
    let Some(ort) = cluster.registry.by_kind(&owner.api_version, &owner.kind) else {
        // Like the real collector: an owner whose kind cannot be resolved is not proof of absence.
        return false;
    };
    match cluster.store.get(&ort.table, &key(&ort, namespace, &owner.name)) {
        Some(o) => o.uid != owner.uid || (o.deleting && o.finalizers.iter().any(|f| f == FOREGROUND)),
        None => true,
    }
}

fn delete(cluster: &Cluster, rt: &ResourceType, k: &ObjectKey, p: Propagation) -> usize {
    let opts = DeleteOptions { propagation: Some(p), ..Default::default() };
    usize::from(cluster.op_delete(rt, &k.namespace, &k.name, &opts).is_ok())
}

fn finish_foreground(cluster: &Cluster, rt: &ResourceType, stored: &Stored) -> usize {
    let dependents = cluster.store.dependents_of(&stored.uid);
    if dependents.is_empty() {
        return remove_finalizer(cluster, rt, stored, FOREGROUND);
    }
    let mut writes = 0;
    for (table, k) in dependents {
        let Some(drt) = cluster.registry.storage_type(&table) else { continue };
        let already = cluster.store.get(&table, &k).is_some_and(|d| d.deleting);
        if !already {
            writes += delete(cluster, &drt, &k, Propagation::Foreground);
        }
    }
    writes
}

fn finish_orphan(cluster: &Cluster, rt: &ResourceType, stored: &Stored) -> usize {
    let mut writes = 0;
    for (table, k) in cluster.store.dependents_of(&stored.uid) {
        let Some(drt) = cluster.registry.storage_type(&table) else { continue };
        let uid = stored.uid.clone();
        writes += update(cluster, &drt, &k, &mut |obj| {
            if let Some(refs) = obj["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"] != uid.as_str());
            }
        });
    }
    writes + remove_finalizer(cluster, rt, stored, ORPHAN)
}

fn remove_finalizer(cluster: &Cluster, rt: &ResourceType, stored: &Stored, finalizer: &str) -> usize {
    update(cluster, rt, &stored.key, &mut |obj| {
        if let Some(f) = obj["metadata"]["finalizers"].as_array_mut() {
            f.retain(|v| v != finalizer);
        }
    })
}

fn update(cluster: &Cluster, rt: &ResourceType, k: &ObjectKey, change: &mut dyn FnMut(&mut Value)) -> usize {
    let Ok(mut obj) = cluster.op_get(rt, &k.namespace, &k.name) else { return 0 };
    change(&mut obj);
    let opts = WriteOptions { field_manager: "kube-controller-manager".into(), ..Default::default() };
    usize::from(cluster.op_update(rt, &k.namespace, &k.name, obj, &opts).is_ok())
}

/// A terminating CustomResourceDefinition: delete its objects, then release the CRD.
fn remove_custom_resources(cluster: &Cluster, rt: &ResourceType, crd: &Stored) -> usize {
    let value = crd.value();
    let (group, plural) = (
        value["spec"]["group"].as_str().unwrap_or_default(),
        value["spec"]["names"]["plural"].as_str().unwrap_or_default(),
    );
    let table: TableKey = Arc::from(format!("{group}/{plural}"));
    let (_, objects) = cluster.store.snapshot(&table);
    let mut writes = 0;
    if let Some(crt) = cluster.registry.storage_type(&table) {
        writes += objects.keys().map(|k| delete(cluster, &crt, k, Propagation::Background)).sum::<usize>();
    }
    // Objects held by their own finalizers keep the CRD; the periodic sweep retries.
    if cluster.store.snapshot(&table).1.is_empty() {
        writes += remove_finalizer(cluster, rt, crd, CRD_CLEANUP);
    }
    writes
}

/// Deletes everything in a terminating namespace, then the namespace itself.
fn empty_namespace(cluster: &Cluster, rt: &ResourceType, stored: &Stored) -> usize {
    let ns = &stored.key.name;
    let mut remaining = 0;
    let mut writes = 0;
    for table in cluster.store.tables() {
        let Some(trt) = cluster.registry.storage_type(&table) else { continue };
        if !trt.namespaced {
            continue;
        }
        let (_, objects) = cluster.store.snapshot(&table);
        for (k, obj) in objects.range(ObjectKey::new(ns.as_str(), "")..).take_while(|(k, _)| &k.namespace == ns) {
            remaining += 1;
            if !obj.deleting {
                writes += delete(cluster, &trt, k, Propagation::Background);
            }
        }
    }
    if remaining == 0 {
        // spec.finalizers ["kubernetes"] is what this controller finishes.
        let gone = cluster.store.delete(&rt.table, &stored.key, None).is_ok();
        return writes + usize::from(gone);
    }
    writes
}
