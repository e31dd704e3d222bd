//! DELETE with kube-apiserver's rules: preconditions, finalizers and deletionTimestamp, propagation
//! policies (the garbage collector finishes Background/Foreground/Orphan), dry-run.

use serde_json::{Value, json};

use super::super::Cluster;
use super::super::meta;
use super::super::registry::ResourceType;
use super::super::status::{ApiError, ApiResult};
use super::super::store::StoreError;
use super::{key, store_error, target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";
/// Held by every CustomResourceDefinition until its objects are gone.
pub const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

impl DeleteOptions {
    /// From a `DeleteOptions` body and/or query parameters (the body wins, as in kube-apiserver).
    pub fn parse(body: Option<&Value>, query_propagation: Option<&str>, query_dry_run: bool) -> ApiResult<Self> {
        let body = body.cloned().unwrap_or(Value::Null);
        let policy = body["propagationPolicy"].as_str().or(query_propagation);
        let propagation = match policy {
            None | Some("") => None,
            Some("Orphan") => Some(Propagation::Orphan),
            Some("Background") => Some(Propagation::Background),
            Some("Foreground") => Some(Propagation::Foreground),
            Some(other) => {
                return Err(ApiError::invalid(
                    "DeleteOptions",
                    "",
                    "",
                    vec![meta::cause(
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        &format!(
                            "Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                        ),
                    )],
                ));
            }
        };
        let propagation = match (propagation, body["orphanDependents"].as_bool()) {
            (None, Some(true)) => Some(Propagation::Orphan),
            (p, _) => p,
        };
        let dry_run = query_dry_run || body["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All"));
        Ok(DeleteOptions {
            propagation,
            precondition_uid: body["preconditions"]["uid"].as_str().map(str::to_string),
            precondition_rv: body["preconditions"]["resourceVersion"].as_str().map(str::to_string),
            dry_run,
        })
    }
}

impl Cluster {
    /// Returns the object as the response shows it: gone, or still present with a deletionTimestamp.
    pub fn op_delete(&self, rt: &ResourceType, ns: &str, name: &str, opts: &DeleteOptions) -> ApiResult<Value> {
        for _ in 0..16 {
            let stored =
                self.store.get(&rt.table, &key(rt, ns, name)).ok_or_else(|| ApiError::not_found(target(rt, name)))?;
            let current = stored.value();
            check_preconditions(rt, name, &current, opts)?;
            let mut next = current.clone();
            let deleting = next["metadata"]["deletionTimestamp"].is_string();
            add_propagation_finalizer(&mut next, opts.propagation.unwrap_or(Propagation::Background));
            let pending = has_finalizers(rt, &next);
            if opts.dry_run {
                return self.from_storage(rt, current);
            }
            let result = if pending {
                if deleting && next == current {
                    return self.from_storage(rt, current);
                }
                mark_deleting(rt, &mut next, deleting);
                let fields = self.field_values(rt, &next);
                self.store.update(&rt.table, key(rt, ns, name), Some(stored.rv), next, fields)
            } else {
                self.store.delete(&rt.table, &key(rt, ns, name), Some(stored.rv))
            };
            match result {
                Ok(s) => return self.from_storage(rt, s.value()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(rt, name, e)),
            }
        }
        Err(ApiError::conflict(target(rt, name), "too many concurrent writes; try again"))
    }
}

fn check_preconditions(rt: &ResourceType, name: &str, obj: &Value, opts: &DeleteOptions) -> ApiResult<()> {
    if let Some(uid) = &opts.precondition_uid {
        let have = obj["metadata"]["uid"].as_str().unwrap_or_default();
        if uid != have {
            return Err(ApiError::conflict(
                target(rt, name),
                &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {have}"),
            ));
        }
    }
    if let Some(rv) = &opts.precondition_rv {
        let have = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default();
        if rv != have {
            return Err(ApiError::conflict(
                target(rt, name),
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {have}"
                ),
            ));
        }
    }
    Ok(())
}

fn add_propagation_finalizer(obj: &mut Value, p: Propagation) {
    let f = match p {
        Propagation::Foreground => FOREGROUND,
        Propagation::Orphan => ORPHAN,
        Propagation::Background => return,
    };
    // The garbage collector removes it once the dependents are handled.
    meta::add_finalizer(obj, f);
}

fn has_finalizers(rt: &ResourceType, obj: &Value) -> bool {
    let meta_f = obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    let ns_f = rt.group.is_empty() && rt.plural == "namespaces";
    meta_f || ns_f
}

fn mark_deleting(rt: &ResourceType, obj: &mut Value, already: bool) {
    if already {
        return;
    }
    obj["metadata"]["deletionTimestamp"] = json!(meta::now_rfc3339());
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if meta::tracks_generation(rt) {
        let g = obj["metadata"]["generation"].as_i64().unwrap_or(0);
        obj["metadata"]["generation"] = json!(g + 1);
    }
    if rt.group.is_empty() && rt.plural == "namespaces" {
        obj["status"]["phase"] = json!("Terminating");
    }
}
