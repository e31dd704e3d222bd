//! Mutating admission: the write path kube-apiserver runs for a request — MutatingWebhookConfigurations
//! are called (AdmissionReview v1 over TLS) on the candidate object, their JSONPatches applied, then
//! the object is validated and stored through the synchronous `op_*` verbs.
//!
//! Everything that writes on behalf of a user or a controller "through the API" (HTTP handlers, the
//! workload controllers creating pods, the HPA simulation scaling) calls these functions, so webhooks
//! see those writes as they would on a real cluster. Order as kube-apiserver: CREATE decodes and
//! defaults, calls webhooks (before name generation), then validates and stores; UPDATE/PATCH compute
//! the candidate from the stored object, call webhooks with object + oldObject and store over the
//! resourceVersion the webhooks saw (retried on a conflict unless the client pinned one); DELETE calls
//! webhooks with the stored object as oldObject.

mod call;
mod conditions;
mod config;
mod dispatch;
mod matching;
mod review;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Cluster;
use super::ops::{DeleteOptions, FieldValidation, Outcome, PatchKind, Prepared, Propagation, WriteOptions};
use super::rbac::UserInfo;
use super::registry::ResourceType;
use super::status::{ApiError, ApiResult};

pub use config::Webhook;

/// Request attributes as webhooks see them (kube's `admission.Attributes`).
pub struct Attributes {
    pub operation: &'static str,
    pub rt: Arc<ResourceType>,
    pub subresource: String,
    /// (group, version, kind) of the object in the request.
    pub kind: (String, String, String),
    /// For a Namespace object, its own name (as kube-apiserver sets it).
    pub namespace: String,
    pub name: String,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
    pub options: Value,
    pub user: UserInfo,
}

/// Webhooks whose rules cover the request; empty (the fast path) when there are no
/// MutatingWebhookConfigurations or none could apply.
fn candidates(cluster: &Cluster, attrs: &Attributes) -> Vec<Webhook> {
    if exempt(&attrs.rt) {
        return Vec::new();
    }
    let hooks = config::load(cluster);
    if hooks.iter().any(|h| matching::rule_invocation(cluster, h, attrs).is_some()) { hooks } else { Vec::new() }
}

/// Admission configuration objects are never sent to webhooks (kube: `IsExemptAdmissionConfigurationResource`).
fn exempt(rt: &ResourceType) -> bool {
    rt.group == config::GROUP
        && matches!(
            rt.plural.as_str(),
            "mutatingwebhookconfigurations"
                | "validatingwebhookconfigurations"
                | "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
        )
}

fn attributes(
    cluster: &Cluster,
    rt: &ResourceType,
    operation: &'static str,
    subresource: &str,
    ns: &str,
    name: &str,
    user: &UserInfo,
) -> Attributes {
    let arc = cluster.registry.lookup(&rt.group, &rt.version, &rt.plural).unwrap_or_else(|| Arc::new(rt.clone()));
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    Attributes {
        operation,
        kind: matching::kind_for(&arc, subresource),
        rt: arc,
        subresource: subresource.to_string(),
        namespace: if is_namespace {
            name.to_string()
        } else if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name: name.to_string(),
        object: None,
        old_object: None,
        dry_run: false,
        options: Value::Null,
        user: user.clone(),
    }
}

/// `CreateOptions`/`UpdateOptions` (meta.k8s.io/v1) of a write.
fn write_options_object(kind: &str, opts: &WriteOptions) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(kind));
    m.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    if opts.dry_run {
        m.insert("dryRun".into(), json!(["All"]));
    }
    match opts.field_validation {
        FieldValidation::Strict => _ = m.insert("fieldValidation".into(), json!("Strict")),
        FieldValidation::Ignore => _ = m.insert("fieldValidation".into(), json!("Ignore")),
        FieldValidation::Warn => {}
    }
    Value::Object(m)
}

fn delete_options_object(opts: &DeleteOptions) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("DeleteOptions"));
    m.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    if opts.dry_run {
        m.insert("dryRun".into(), json!(["All"]));
    }
    let mut pre = Map::new();
    if let Some(uid) = &opts.precondition_uid {
        pre.insert("uid".into(), json!(uid));
    }
    if let Some(rv) = &opts.precondition_rv {
        pre.insert("resourceVersion".into(), json!(rv));
    }
    if !pre.is_empty() {
        m.insert("preconditions".into(), Value::Object(pre));
    }
    if let Some(p) = opts.propagation {
        let policy = match p {
            Propagation::Orphan => "Orphan",
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
        };
        m.insert("propagationPolicy".into(), json!(policy));
    }
    Value::Object(m)
}

/// Runs the webhooks over a prepared write, stores it and merges the webhooks' warnings.
#[allow(clippy::too_many_arguments)]
async fn admit_and_commit(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    hooks: &[Webhook],
    mut prepared: Prepared,
    opts: &WriteOptions,
    user: &UserInfo,
) -> ApiResult<Outcome> {
    let creating = prepared.old.is_none();
    let obj_name = prepared.object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let name = if creating { obj_name.as_str() } else { name };
    let operation = if creating { "CREATE" } else { "UPDATE" };
    let mut attrs = attributes(cluster, rt, operation, opts.subresource.as_deref().unwrap_or_default(), ns, name, user);
    attrs.object = Some(std::mem::take(&mut prepared.object));
    attrs.old_object = prepared.old.clone();
    attrs.dry_run = opts.dry_run;
    attrs.options = write_options_object(if creating { "CreateOptions" } else { "UpdateOptions" }, opts);
    let admitted = dispatch::run(cluster, hooks, attrs).await?;
    prepared.object = admitted.object.unwrap_or(Value::Null);
    let mut out = cluster.op_commit(rt, ns, name, prepared, opts)?;
    let mut warnings = admitted.warnings;
    warnings.append(&mut out.warnings);
    out.warnings = warnings;
    Ok(out)
}

/// A conflict with the resourceVersion admission saw: the write is prepared again.
fn is_stale(e: &ApiError) -> bool {
    e.code == 409
        && e.reason == "Conflict"
        && e.message.ends_with("please apply your changes to the latest version and try again")
}

/// How often a write whose object moved under the webhooks is prepared again.
const ATTEMPTS: usize = 8;

/// CREATE with admission.
pub async fn create(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    obj: Value,
    opts: &WriteOptions,
    user: &UserInfo,
) -> ApiResult<Outcome> {
    let probe = attributes(cluster, rt, "CREATE", opts.subresource.as_deref().unwrap_or_default(), ns, "", user);
    let hooks = candidates(cluster, &probe);
    if hooks.is_empty() {
        return cluster.op_create(rt, ns, obj, opts);
    }
    let prepared = cluster.op_prepare_create(rt, ns, obj, opts)?;
    admit_and_commit(cluster, rt, ns, "", &hooks, prepared, opts, user).await
}

/// UPDATE (PUT) with admission.
pub async fn update(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    obj: Value,
    opts: &WriteOptions,
    user: &UserInfo,
) -> ApiResult<Outcome> {
    let probe = attributes(cluster, rt, "UPDATE", opts.subresource.as_deref().unwrap_or_default(), ns, name, user);
    let hooks = candidates(cluster, &probe);
    if hooks.is_empty() {
        return cluster.op_update(rt, ns, name, obj, opts);
    }
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let prepared = cluster.op_prepare_update(rt, ns, name, obj.clone(), opts)?;
        let pinned = prepared.pinned;
        match admit_and_commit(cluster, rt, ns, name, &hooks, prepared, opts, user).await {
            Err(e) if is_stale(&e) && !pinned => last = Some(e),
            r => return r,
        }
    }
    Err(last.unwrap_or_else(|| ApiError::internal("admission retries exhausted")))
}

/// PATCH with admission (webhooks see the patched object as an UPDATE; an apply that creates as a CREATE).
#[allow(clippy::too_many_arguments)]
pub async fn patch(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    opts: &WriteOptions,
    user: &UserInfo,
) -> ApiResult<Outcome> {
    let sub = opts.subresource.as_deref().unwrap_or_default();
    let probe = attributes(cluster, rt, "UPDATE", sub, ns, name, user);
    let mut hooks = candidates(cluster, &probe);
    if hooks.is_empty() && kind == PatchKind::Apply {
        hooks = candidates(cluster, &attributes(cluster, rt, "CREATE", sub, ns, name, user));
    }
    if hooks.is_empty() {
        return cluster.op_patch(rt, ns, name, kind, body, opts);
    }
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let prepared = cluster.op_prepare_patch(rt, ns, name, kind, body, opts)?;
        let pinned = prepared.pinned;
        match admit_and_commit(cluster, rt, ns, name, &hooks, prepared, opts, user).await {
            Err(e) if is_stale(&e) && !pinned => last = Some(e),
            r => return r,
        }
    }
    Err(last.unwrap_or_else(|| ApiError::internal("admission retries exhausted")))
}

/// DELETE with admission.
pub async fn delete(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
    user: &UserInfo,
) -> ApiResult<Value> {
    let mut attrs = attributes(cluster, rt, "DELETE", "", ns, name, user);
    let hooks = candidates(cluster, &attrs);
    if hooks.is_empty() {
        return cluster.op_delete(rt, ns, name, opts);
    }
    attrs.old_object = Some(cluster.op_get(rt, ns, name)?);
    attrs.dry_run = opts.dry_run;
    attrs.options = delete_options_object(opts);
    dispatch::run(cluster, &hooks, attrs).await?;
    cluster.op_delete(rt, ns, name, opts)
}

/// Admission of a subresource write whose object is not the resource itself or is computed by the
/// handler (`scale`: autoscaling/v1 Scale; `eviction`: policy/v1 Eviction, a CREATE; `resize`: the
/// resized Pod). Returns the object as the webhooks left it, and their warnings.
#[allow(clippy::too_many_arguments)]
pub async fn subresource(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    subresource: &str,
    operation: &'static str,
    ns: &str,
    name: &str,
    object: Value,
    old_object: Option<Value>,
    dry_run: bool,
    user: &UserInfo,
) -> ApiResult<(Value, Vec<String>)> {
    let mut attrs = attributes(cluster, rt, operation, subresource, ns, name, user);
    let hooks = candidates(cluster, &attrs);
    if hooks.is_empty() {
        return Ok((object, Vec::new()));
    }
    attrs.object = Some(object);
    attrs.old_object = old_object;
    attrs.dry_run = dry_run;
    let opts = WriteOptions { dry_run, ..Default::default() };
    attrs.options = write_options_object(if operation == "CREATE" { "CreateOptions" } else { "UpdateOptions" }, &opts);
    let admitted = dispatch::run(cluster, &hooks, attrs).await?;
    Ok((admitted.object.unwrap_or(Value::Null), admitted.warnings))
}

/// Defaults kube-apiserver applies to a MutatingWebhookConfiguration when it is written.
pub fn configuration_defaults(rt: &ResourceType, obj: &mut Value) {
    if rt.group == config::GROUP && rt.kind == config::KIND {
        config::apply_defaults(obj);
    }
}

/// Validation causes of a MutatingWebhookConfiguration (empty for other kinds).
pub fn configuration_causes(rt: &ResourceType, obj: &Value) -> Vec<Value> {
    if rt.group == config::GROUP && rt.kind == config::KIND { config::validate(obj) } else { Vec::new() }
}
