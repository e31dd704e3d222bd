//! kube-apiserver's mutating dispatcher: webhooks in order, each matched (rules, selectors,
//! matchConditions), called, its JSONPatch applied to the object in the webhook's version; failures
//! handled per failurePolicy; one reinvocation round for `reinvocationPolicy: IfNeeded` webhooks
//! when a later webhook changed the object.

use std::collections::HashSet;

use serde_json::Value;

use super::super::Cluster;
use super::super::ops::target;
use super::super::status::{ApiError, ApiResult};
use super::config::Webhook;
use super::matching::{self, Invocation};
use super::{Attributes, call, conditions, review};

/// What admission made of the request.
pub struct Admitted {
    pub object: Option<Value>,
    pub warnings: Vec<String>,
}

/// Why one call did not produce a usable answer.
enum Failure {
    /// kube's `ErrCallingWebhook`: subject to failurePolicy.
    Call(String),
    /// A denial or an error that no policy ignores.
    Reject(ApiError),
}

#[derive(Default)]
struct Rounds {
    previously_invoked: HashSet<String>,
    reinvoke: HashSet<String>,
    changed: bool,
}

/// Runs every webhook over `attrs` (whose `object` is updated as they patch it).
pub async fn run(cluster: &Cluster, hooks: &[Webhook], mut attrs: Attributes) -> ApiResult<Admitted> {
    let mut rounds = Rounds::default();
    let mut warnings = Vec::new();
    round(cluster, hooks, &mut attrs, &mut rounds, false, &mut warnings).await?;
    if rounds.changed && !rounds.reinvoke.is_empty() {
        round(cluster, hooks, &mut attrs, &mut rounds, true, &mut warnings).await?;
    }
    Ok(Admitted { object: attrs.object, warnings })
}

async fn round(
    cluster: &Cluster,
    hooks: &[Webhook],
    attrs: &mut Attributes,
    rounds: &mut Rounds,
    reinvocation: bool,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    for hook in hooks {
        let Some(inv) = should_call(cluster, hook, attrs)? else { continue };
        if reinvocation && !rounds.reinvoke.contains(&hook.key) {
            continue;
        }
        let result = invoke(cluster, hook, &inv, attrs, warnings).await;
        let changed = matches!(result, Ok(true));
        if changed {
            rounds.reinvoke.extend(rounds.previously_invoked.drain());
            rounds.changed = true;
        }
        if hook.reinvoke_if_needed {
            rounds.previously_invoked.insert(hook.key.clone());
        }
        match result {
            Ok(_) => {}
            Err(Failure::Call(reason)) if hook.fail_open => {
                tracing::warn!(configuration = %hook.configuration, webhook = %hook.name, error = %reason, "Failed calling webhook, failing open");
            }
            Err(Failure::Call(reason)) => {
                tracing::warn!(configuration = %hook.configuration, webhook = %hook.name, error = %reason, "Failed calling webhook, failing closed");
                let message = format!("failed calling webhook \"{}\": {reason}", hook.name);
                return Err(ApiError::internal(message.clone())
                    .with_details(serde_json::json!({"causes": [{"message": message}]})));
            }
            Err(Failure::Reject(e)) => return Err(e),
        }
    }
    Ok(())
}

/// `ShouldCallHook`: rules (with matchPolicy), selectors, then matchConditions.
fn should_call(cluster: &Cluster, hook: &Webhook, attrs: &Attributes) -> ApiResult<Option<Invocation>> {
    let Some(inv) = matching::rule_invocation(cluster, hook, attrs) else { return Ok(None) };
    if !matching::namespace_matches(cluster, hook, attrs)? || !matching::object_matches(hook, attrs)? {
        return Ok(None);
    }
    if hook.conditions.is_empty() {
        return Ok(Some(inv));
    }
    let (object, old) = versioned(cluster, &inv, attrs)?;
    let request = review::request(attrs, &inv, "", object.as_ref(), old.as_ref());
    let null = Value::Null;
    let verdict = conditions::evaluate(
        &hook.conditions,
        object.as_ref().unwrap_or(&null),
        old.as_ref().unwrap_or(&null),
        &request,
    );
    match verdict {
        conditions::Verdict::Matches => Ok(Some(inv)),
        conditions::Verdict::Skipped => Ok(None),
        conditions::Verdict::Errors(errors) if hook.fail_open => {
            tracing::warn!(webhook = %hook.name, ?errors, "match conditions failed to evaluate; skipping the webhook");
            Ok(None)
        }
        conditions::Verdict::Errors(errors) => {
            tracing::warn!(webhook = %hook.name, ?errors, "Failed evaluating match conditions, failing closed");
            let why = if errors.len() == 1 { errors[0].clone() } else { format!("[{}]", errors.join(", ")) };
            let t = target(&attrs.rt, &attrs.name);
            Err(ApiError::forbidden(format!("{} \"{}\" is forbidden: {why}", t.qualified(), attrs.name)).with_details(
                serde_json::json!({"name": attrs.name, "group": attrs.rt.group, "kind": attrs.rt.plural}),
            ))
        }
    }
}

/// The object and old object in the invocation's version.
fn versioned(cluster: &Cluster, inv: &Invocation, attrs: &Attributes) -> ApiResult<(Option<Value>, Option<Value>)> {
    if !inv.converts(attrs) {
        return Ok((attrs.object.clone(), attrs.old_object.clone()));
    }
    let convert = |v: &Option<Value>| -> ApiResult<Option<Value>> {
        match v {
            None => Ok(None),
            Some(o) => Ok(Some(cluster.from_storage(&inv.rt, cluster.to_storage(&attrs.rt, o.clone())?)?)),
        }
    };
    Ok((convert(&attrs.object)?, convert(&attrs.old_object)?))
}

/// One call; `Ok(changed)`.
async fn invoke(
    cluster: &Cluster,
    hook: &Webhook,
    inv: &Invocation,
    attrs: &mut Attributes,
    warnings: &mut Vec<String>,
) -> Result<bool, Failure> {
    if attrs.dry_run {
        if hook.side_effects.is_empty() {
            return Err(Failure::Call("Webhook SideEffects is nil".into()));
        }
        if !matches!(hook.side_effects.as_str(), "None" | "NoneOnDryRun") {
            return Err(Failure::Reject(dry_run_unsupported(&hook.name)));
        }
    }
    if !hook.review_versions.iter().any(|v| v == "v1") {
        return Err(Failure::Call(
            "could not create admission objects: webhook does not accept known AdmissionReview versions (devcluster sends v1)".into(),
        ));
    }
    let (object, old) = versioned(cluster, inv, attrs).map_err(Failure::Reject)?;
    let uid = uuid::Uuid::new_v4().to_string();
    let body = review::review(review::request(attrs, inv, &uid, object.as_ref(), old.as_ref())).to_string();
    let answer = call::post(cluster, hook, body.into_bytes()).await.map_err(Failure::Call)?;
    let reply = review::verify(&uid, &answer).map_err(Failure::Call)?;
    warnings.extend(reply.warnings.iter().cloned());
    if !reply.allowed {
        return Err(Failure::Reject(review::denial(&hook.name, &reply.result)));
    }
    if reply.patch.is_empty() {
        return Ok(false);
    }
    let patch: json_patch::Patch = serde_json::from_slice(&reply.patch)
        .map_err(|e| Failure::Call(format!("received undecodable patch in webhook response: {e}")))?;
    if patch.0.is_empty() {
        return Ok(false);
    }
    let Some(before) = object else {
        return Err(Failure::Reject(ApiError::internal(format!(
            "admission webhook \"{}\" attempted to modify the object, which is not supported for this operation",
            hook.name
        ))));
    };
    let mut patched = before.clone();
    json_patch::patch(&mut patched, &patch).map_err(|e| Failure::Reject(ApiError::internal(e.to_string())))?;
    if !patched.is_object() {
        return Err(Failure::Reject(ApiError::internal(format!(
            "admission webhook \"{}\" patched the object into a non-object",
            hook.name
        ))));
    }
    let changed = patched != before;
    attrs.object = Some(back_to_request_version(cluster, inv, attrs, patched).map_err(Failure::Reject)?);
    Ok(changed)
}

fn back_to_request_version(cluster: &Cluster, inv: &Invocation, attrs: &Attributes, obj: Value) -> ApiResult<Value> {
    if !inv.converts(attrs) {
        return Ok(obj);
    }
    cluster.from_storage(&attrs.rt, cluster.to_storage(&inv.rt, obj)?)
}

/// `webhookerrors.NewDryRunUnsupportedErr`.
pub fn dry_run_unsupported(webhook: &str) -> ApiError {
    ApiError::bad_request(format!("admission webhook \"{webhook}\" does not support dry run"))
}
