//! The controller's writes to DatadogPodAutoscaler objects: create a Remote DPA from its internal
//! representation (spec + initial status), push the internal spec of a Remote DPA, delete a
//! Remote DPA the feed dropped, and write `status` through the status subresource when it
//! changed. Each checks the lease right before writing; a write refused by a lost lease is
//! simply not made.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

use super::objects::Unreadable;
use super::status;
use crate::workload::context::Context;
use crate::workload::crd::DatadogPodAutoscaler;
use crate::workload::model::{DpaKey, PodAutoscalerInternal};

/// A failed write, naming the DPA.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot {verb} DatadogPodAutoscaler {namespace}/{name}: {source}")]
    Api { verb: &'static str, namespace: String, name: String, source: kube::Error },
}

/// What a delete found.
#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    /// Deletion requested; the watch will report it.
    Requested,
    /// The object was gone already.
    Gone,
    /// Not the leader any more: nothing done.
    NotLeader,
}

fn api(ctx: &Context, namespace: &str) -> Api<DatadogPodAutoscaler> {
    Api::namespaced(ctx.client.clone(), namespace)
}

fn api_error(verb: &'static str, dpa: &PodAutoscalerInternal, source: kube::Error) -> WriteError {
    WriteError::Api { verb, namespace: dpa.namespace.clone(), name: dpa.name.clone(), source }
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Creates the object of a Remote DPA known only internally; remembers the generation and
/// creation time Kubernetes gave it. An object created meanwhile (409) is not an error.
pub async fn create(ctx: &Context, dpa: &mut PodAutoscalerInternal, now: Timestamp) -> Result<(), WriteError> {
    let object = DatadogPodAutoscaler {
        metadata: ObjectMeta {
            namespace: Some(dpa.namespace.clone()),
            name: Some(dpa.name.clone()),
            ..Default::default()
        },
        spec: dpa.spec.clone(),
        status: Some(status::build(dpa, now, None)),
    };
    if !ctx.is_leader() {
        return Ok(());
    }
    match api(ctx, &dpa.namespace).create(&PostParams::default(), &object).await {
        Ok(created) => {
            tracing::info!(dpa = %dpa.id(), "created Remote DatadogPodAutoscaler");
            remember(dpa, &created);
            Ok(())
        }
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(api_error("create", dpa, e)),
    }
}

/// Replaces the object's spec with the internal one (Remote DPAs: the feed is the source of truth).
pub async fn update_spec(
    ctx: &Context,
    dpa: &mut PodAutoscalerInternal,
    object: &DatadogPodAutoscaler,
) -> Result<(), WriteError> {
    let mut updated = object.clone();
    updated.spec = dpa.spec.clone();
    if !ctx.is_leader() {
        return Ok(());
    }
    let name = dpa.name.clone();
    match api(ctx, &dpa.namespace).replace(&name, &PostParams::default(), &updated).await {
        Ok(replaced) => {
            tracing::info!(dpa = %dpa.id(), remote_version = ?dpa.spec.remote_version, "updated Remote DatadogPodAutoscaler spec");
            remember(dpa, &replaced);
            Ok(())
        }
        Err(e) => Err(api_error("update the spec of", dpa, e)),
    }
}

/// The generation (and creation time) of an object we wrote, so the defaults the API server
/// filled in are not taken for a user's edit.
fn remember(dpa: &mut PodAutoscalerInternal, written: &DatadogPodAutoscaler) {
    dpa.generation = written.metadata.generation.unwrap_or(dpa.generation);
    if let Some(created) = &written.metadata.creation_timestamp {
        dpa.creation_timestamp = created.0;
    }
}

/// Deletes the object (only this incarnation of it: UID precondition).
pub async fn delete(
    ctx: &Context,
    dpa: &PodAutoscalerInternal,
    object: &DatadogPodAutoscaler,
) -> Result<Deleted, WriteError> {
    let preconditions = Preconditions { uid: object.metadata.uid.clone(), resource_version: None };
    let params = DeleteParams { preconditions: Some(preconditions), ..DeleteParams::default() };
    if !ctx.is_leader() {
        return Ok(Deleted::NotLeader);
    }
    match api(ctx, &dpa.namespace).delete(&dpa.name, &params).await {
        Ok(_) => {
            tracing::info!(dpa = %dpa.id(), "deleted Remote DatadogPodAutoscaler no longer in the feed");
            Ok(Deleted::Requested)
        }
        Err(e) if is_status(&e, 404) => Ok(Deleted::Gone),
        Err(e) => Err(api_error("delete", dpa, e)),
    }
}

/// Writes the status built from `dpa` unless it equals the object's (as JSON: times at second
/// precision, quantities as written). Returns whether it wrote.
pub async fn write_status(
    ctx: &Context,
    dpa: &mut PodAutoscalerInternal,
    object: &DatadogPodAutoscaler,
    now: Timestamp,
) -> Result<bool, WriteError> {
    let built = status::build(dpa, now, object.status.as_ref());
    if same_status(object.status.as_ref(), &built) || !ctx.is_leader() {
        return Ok(false);
    }
    let mut updated = object.clone();
    updated.status = Some(built);
    let name = dpa.name.clone();
    match api(ctx, &dpa.namespace).replace_status(&name, &PostParams::default(), &updated).await {
        Ok(_) => Ok(true),
        Err(e) => Err(api_error("update the status of", dpa, e)),
    }
}

/// Semantic equality of statuses: equal JSON.
pub fn same_status(
    current: Option<&crate::workload::crd::DatadogPodAutoscalerStatus>,
    built: &crate::workload::crd::DatadogPodAutoscalerStatus,
) -> bool {
    let json = |s: &crate::workload::crd::DatadogPodAutoscalerStatus| serde_json::to_value(s).ok();
    current.is_some_and(|c| json(c) == json(built))
}

/// The `Error` condition of a DPA our types cannot read: `True`, reason `InvalidSpec`, the
/// message naming the field. Written through a JSON merge patch of `status.conditions` (the
/// typed status cannot be trusted), keeping the other conditions as they are and guarded by the
/// object's resourceVersion; nothing is written when the object already shows that condition.
/// Returns whether it wrote.
pub async fn unreadable_condition(
    ctx: &Context,
    key: &DpaKey,
    unreadable: &Unreadable,
    now: Timestamp,
) -> Result<bool, WriteError> {
    let (namespace, name) = (key.namespace.as_str(), key.name.as_str());
    let message = format!("DatadogPodAutoscaler {namespace}/{name} cannot be read: {}", unreadable.error);
    let Some(conditions) = unreadable_conditions(unreadable.status.as_ref(), &message, now) else {
        return Ok(false);
    };
    if !ctx.is_leader() {
        return Ok(false);
    }
    let patch = json!({
        "metadata": {"resourceVersion": unreadable.resource_version},
        "status": {"conditions": conditions},
    });
    let params = PatchParams::default();
    match api(ctx, namespace).patch_status(name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => {
            tracing::info!(dpa = %format!("{namespace}/{name}"), "reported an unreadable DatadogPodAutoscaler in its Error condition");
            Ok(true)
        }
        Err(source) => Err(WriteError::Api {
            verb: "report the unreadable",
            namespace: namespace.to_string(),
            name: name.to_string(),
            source,
        }),
    }
}

/// `status.conditions` with the `Error` condition set to `message` (the others kept), or `None`
/// when `status` already shows exactly that condition.
fn unreadable_conditions(status: Option<&Value>, message: &str, now: Timestamp) -> Option<Vec<Value>> {
    let reason = crate::workload::model::Reason::InvalidSpec.as_str();
    let current = status.and_then(|s| s.get("conditions")).and_then(Value::as_array).cloned().unwrap_or_default();
    let is_error = |c: &Value| c.get("type").and_then(Value::as_str) == Some(status::ERROR);
    let existing = current.iter().find(|c| is_error(c));
    if existing.is_some_and(|c| c["status"] == "True" && c["reason"] == reason && c["message"] == message) {
        return None;
    }
    let transition = match existing {
        Some(c) if c["status"] == "True" && c.get("lastTransitionTime").is_some() => c["lastTransitionTime"].clone(),
        _ => json!(status::status_time(now)),
    };
    let condition = json!({
        "type": status::ERROR, "status": "True", "lastTransitionTime": transition, "reason": reason, "message": message,
    });
    let mut conditions: Vec<Value> = current.into_iter().filter(|c| !is_error(c)).collect();
    conditions.insert(0, condition);
    Some(conditions)
}

#[cfg(test)]
mod unreadable_tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn the_error_condition_replaces_the_old_one_keeps_the_others_and_is_written_once() {
        let status = json!({"conditions": [
            {"type": "Error", "status": "False", "lastTransitionTime": "1970-01-01T00:00:01Z"},
            {"type": "Active", "status": "True", "lastTransitionTime": "1970-01-01T00:00:02Z"},
        ]});
        let conditions = unreadable_conditions(Some(&status), "bad", at(60)).unwrap();
        assert_eq!(
            Value::Array(conditions.clone()),
            json!([
                {"type": "Error", "status": "True", "lastTransitionTime": "1970-01-01T00:01:00Z",
                 "reason": "InvalidSpec", "message": "bad"},
                {"type": "Active", "status": "True", "lastTransitionTime": "1970-01-01T00:00:02Z"},
            ])
        );
        let written = json!({"conditions": conditions});
        assert_eq!(unreadable_conditions(Some(&written), "bad", at(120)), None, "same condition: no write");
        // Another reason to be unreadable: the message changes, the transition time stays.
        let again = unreadable_conditions(Some(&written), "worse", at(120)).unwrap();
        assert_eq!(again[0]["message"], "worse");
        assert_eq!(again[0]["lastTransitionTime"], "1970-01-01T00:01:00Z");
    }

    #[test]
    fn no_status_or_garbage_conditions_still_give_one_error_condition() {
        for status in [None, Some(json!({})), Some(json!({"conditions": "garbage"})), Some(json!(42))] {
            let conditions = unreadable_conditions(status.as_ref(), "bad", at(0)).unwrap();
            assert_eq!(conditions.len(), 1, "{status:?}");
            assert_eq!(conditions[0]["reason"], "InvalidSpec");
        }
    }
}
