//! The storage-level verbs (get, create, update, patch, delete) with kube-apiserver's rules applied:
//! validation, defaulting and pruning, status subresource split, optimistic concurrency, finalizers,
//! dry-run. HTTP handlers, the garbage collector and the controllers all go through here.

mod delete;
mod write;

pub use delete::{CRD_CLEANUP, DeleteOptions, FOREGROUND, ORPHAN, Propagation};
pub use write::{FieldValidation, PatchKind, Prepared, WriteOptions};

use serde_json::Value;

use super::Cluster;
use super::builtin;
use super::registry::ResourceType;
use super::status::{ApiError, ApiResult, Target};
use super::store::{ObjectKey, StoreError, Stored, TableKey};

/// What a write produced.
#[derive(Debug)]
pub struct Outcome {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

pub fn target<'a>(rt: &'a ResourceType, name: &'a str) -> Target<'a> {
    Target { group: &rt.group, resource: &rt.plural, name }
}

pub fn key(rt: &ResourceType, ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(if rt.namespaced { ns } else { "" }, name)
}

impl Cluster {
    pub fn op_get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        let stored =
            self.store.get(&rt.table, &key(rt, ns, name)).ok_or_else(|| ApiError::not_found(target(rt, name)))?;
        self.from_storage(rt, stored.value())
    }

    /// Converts a stored object to the version `rt` serves.
    pub fn from_storage(&self, rt: &ResourceType, obj: Value) -> ApiResult<Value> {
        if rt.is_storage_version() && self.storage_group(rt) == rt.group {
            return Ok(obj);
        }
        convert(rt, &self.storage_group(rt), &rt.storage_version, &rt.group, &rt.version, obj)
    }

    /// Converts an object in `rt`'s version to the storage version.
    pub fn to_storage(&self, rt: &ResourceType, obj: Value) -> ApiResult<Value> {
        if rt.is_storage_version() && self.storage_group(rt) == rt.group {
            return Ok(obj);
        }
        convert(rt, &rt.group, &rt.version, &self.storage_group(rt), &rt.storage_version, obj)
    }

    fn storage_group(&self, rt: &ResourceType) -> String {
        rt.table.split_once('/').map(|(g, _)| g.to_string()).unwrap_or_default()
    }

    /// Values of the resource's selectable fields, stored beside the object for fieldSelector.
    pub fn field_values(&self, rt: &ResourceType, obj: &Value) -> Vec<(String, String)> {
        // Stored objects are in the storage group's form (core/v1 for events.k8s.io events).
        let group = self.storage_group(rt);
        let labels: &[&str] = if rt.custom.is_some() { &[] } else { builtin::field_labels(&group, &rt.kind) };
        labels
            .iter()
            .map(|label| (label.to_string(), builtin::field_value(&group, &rt.kind, label, obj).unwrap_or_default()))
            .collect()
    }

    pub fn stored(&self, table: &TableKey, key: &ObjectKey) -> Option<std::sync::Arc<Stored>> {
        self.store.get(table, key)
    }
}

fn convert(
    rt: &ResourceType,
    from_group: &str,
    from_v: &str,
    to_group: &str,
    to_v: &str,
    mut obj: Value,
) -> ApiResult<Value> {
    if rt.custom.is_some() {
        // CRDs here have conversion strategy None: only apiVersion changes.
        obj["apiVersion"] =
            Value::String(if to_group.is_empty() { to_v.to_string() } else { format!("{to_group}/{to_v}") });
        return Ok(obj);
    }
    let _ = from_group;
    let group = if rt.plural == "events" { to_group } else { &rt.group };
    builtin::convert(group, &rt.kind, from_v, to_v, obj).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub fn store_error(rt: &ResourceType, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists => ApiError::already_exists(target(rt, name)),
        StoreError::NotFound => ApiError::not_found(target(rt, name)),
        StoreError::Conflict { .. } => ApiError::stale(target(rt, name)),
        StoreError::Expired { .. } => ApiError::gone(e.to_string()),
        StoreError::Encode(m) => ApiError::internal(m),
    }
}
