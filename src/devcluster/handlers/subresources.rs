//! Subresources: status, scale (built-in workloads and CRDs with a scale subresource), pods/resize,
//! pods/eviction (honouring PodDisruptionBudgets), serviceaccounts/token, namespaces/finalize.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::admission;
use super::super::meta;
use super::super::ops::{DeleteOptions, PatchKind, WriteOptions, target};
use super::super::patch;
use super::super::registry::ResourceType;
use super::super::status::{ApiError, ApiResult, success_status};
use super::write::{patch_sub, update_sub, write_options};
use super::{Call, body_bytes, decode_object, header_str, json, reviews};

pub async fn handle(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let sub = call.info.subresource.clone();
    if !rt.has_subresource(&sub) {
        return Err(ApiError::path_not_found());
    }
    let verb = call.info.verb.clone();
    match (sub.as_str(), verb.as_str()) {
        ("status" | "resize", "get") => super::read::get(&call, &rt),
        ("status", "update") => update_sub(call, rt, Some("status")).await,
        ("status", "patch") => patch_sub(call, rt, Some("status")).await,
        ("resize", "update" | "patch") => resize(call, rt).await,
        ("scale", "get") => {
            let obj = call.cluster.op_get(&rt, &call.info.namespace, &call.info.name)?;
            Ok(json(StatusCode::OK, &to_scale(&rt, &obj), &[]))
        }
        ("scale", "update" | "patch") => scale(call, rt).await,
        ("eviction", "create") => evict(call, rt).await,
        ("token", "create") => reviews::token_request(call).await,
        ("finalize", "update") => update_sub(call, rt, None).await,
        _ => Err(ApiError::method_not_supported(target(&rt, &call.info.name), &verb)),
    }
}

struct ReplicaPaths {
    spec: Vec<String>,
    status: Vec<String>,
    selector: Option<Vec<String>>,
}

fn split(path: &str) -> Vec<String> {
    path.trim_start_matches('.').split('.').map(str::to_string).collect()
}

fn replica_paths(rt: &ResourceType) -> ReplicaPaths {
    match rt.custom.as_ref().and_then(|c| c.scale.clone()) {
        Some(p) => ReplicaPaths {
            spec: split(&p.spec_replicas),
            status: split(&p.status_replicas),
            selector: p.label_selector.as_deref().map(split),
        },
        None => ReplicaPaths { spec: split("spec.replicas"), status: split("status.replicas"), selector: None },
    }
}

fn at<'a>(v: &'a Value, path: &[String]) -> &'a Value {
    path.iter().fold(v, |v, p| &v[p.as_str()])
}

/// The autoscaling/v1 Scale view of an object.
fn to_scale(rt: &ResourceType, obj: &Value) -> Value {
    let paths = replica_paths(rt);
    let selector = match &paths.selector {
        Some(p) => at(obj, p).as_str().unwrap_or_default().to_string(),
        None => selector_string(&obj["spec"]["selector"]),
    };
    let m = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"], "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
        "spec": {"replicas": at(obj, &paths.spec).as_i64().unwrap_or(0)},
        "status": {"replicas": at(obj, &paths.status).as_i64().unwrap_or(0), "selector": selector},
    })
}

/// metav1.LabelSelector → its string form (`app=web,tier in (a,b)`).
fn selector_string(sel: &Value) -> String {
    let mut parts: Vec<String> = sel["matchLabels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.sort();
    parts.join(",")
}

async fn scale(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let opts = write_options(&call, None)?;
    let is_patch = call.info.verb == "patch";
    let ct = header_str(&call.headers, "content-type");
    let (call, bytes) = body_bytes(call).await?;
    // GuaranteedUpdate: a write that did not pin a resourceVersion is redone (admission included)
    // when the object moved underneath it, e.g. a controller's status write.
    for _ in 0..16 {
        match scale_once(&call, &rt, &opts, is_patch, &ct, &bytes).await {
            Attempt::Done(result) => return result,
            Attempt::Moved => continue,
        }
    }
    Err(ApiError::conflict(target(&rt, &call.info.name), "too many concurrent writes; try again"))
}

/// One read-admit-write pass of a scale write.
enum Attempt {
    Done(ApiResult<Response>),
    /// The object changed between read and write, and the client pinned no resourceVersion.
    Moved,
}

async fn scale_once(
    call: &Call,
    rt: &Arc<ResourceType>,
    opts: &WriteOptions,
    is_patch: bool,
    ct: &str,
    bytes: &[u8],
) -> Attempt {
    match scale_attempt(call, rt, opts, is_patch, ct, bytes).await {
        Ok(Some(response)) => Attempt::Done(Ok(response)),
        Ok(None) => Attempt::Moved,
        Err(e) => Attempt::Done(Err(e)),
    }
}

async fn scale_attempt(
    call: &Call,
    rt: &Arc<ResourceType>,
    opts: &WriteOptions,
    is_patch: bool,
    ct: &str,
    bytes: &[u8],
) -> ApiResult<Option<Response>> {
    let (ns, name) = (call.info.namespace.clone(), call.info.name.clone());
    let current = call.cluster.op_get(rt, &ns, &name)?;
    let current_scale = to_scale(rt, &current);
    let new_scale = if is_patch {
        let kind = PatchKind::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct))?;
        patched_scale(kind, &current_scale, bytes)?
    } else {
        decode_object(&call.headers, bytes)?
    };
    let pinned = new_scale["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty());
    if let Some(rv) = pinned
        && Some(rv) != current["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::stale(target(rt, &name)));
    }
    // Pinned by the client's own body (a patch applied to the current Scale always carries its rv).
    let pinned = serde_json::from_slice::<Value>(bytes)
        .ok()
        .is_some_and(|body| body["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()));
    let (new_scale, mut warnings) = admission::subresource(
        &call.cluster,
        rt,
        "scale",
        "UPDATE",
        &ns,
        &name,
        new_scale,
        Some(current_scale),
        opts.dry_run,
        &call.user,
    )
    .await?;
    let replicas = new_scale["spec"]["replicas"].as_i64().ok_or_else(|| {
        ApiError::invalid(
            "Scale",
            "autoscaling",
            &name,
            vec![meta::cause("FieldValueRequired", "spec.replicas", "Required value")],
        )
    })?;
    if replicas < 0 {
        let msg = format!("Invalid value: {replicas}: must be greater than or equal to 0");
        return Err(ApiError::invalid(
            "Scale",
            "autoscaling",
            &name,
            vec![meta::cause("FieldValueInvalid", "spec.replicas", &msg)],
        ));
    }
    let mut next = current.clone();
    set_path(&mut next, &replica_paths(rt).spec, json!(replicas));
    let written = call.cluster.op_update(rt, &ns, &name, next, &WriteOptions { subresource: None, ..opts.clone() });
    let mut out = match written {
        // A pinned write that lost the race is the client's conflict to see; an unpinned one is redone.
        Err(e) if !pinned && e.code == 409 => return Ok(None),
        other => other?,
    };
    warnings.append(&mut out.warnings);
    Ok(Some(json(StatusCode::OK, &to_scale(rt, &out.object), &warnings)))
}

fn patched_scale(kind: PatchKind, current: &Value, body: &[u8]) -> ApiResult<Value> {
    let doc: Value = match kind {
        PatchKind::Apply => serde_saphyr::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?,
        _ => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
    };
    let mut next = current.clone();
    match kind {
        PatchKind::Json => {
            patch::json_patch(&mut next, &doc).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?
        }
        _ => patch::merge_patch(&mut next, &doc),
    }
    Ok(next)
}

fn set_path(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for p in path {
        cur = &mut cur[p.as_str()];
    }
    *cur = value;
}

/// pods/resize: only container resources change; everything else comes from the stored pod.
async fn resize(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let is_patch = call.info.verb == "patch";
    let ct = header_str(&call.headers, "content-type");
    let opts = write_options(&call, None)?;
    let (call, bytes) = body_bytes(call).await?;
    let (ns, name) = (call.info.namespace.clone(), call.info.name.clone());
    let current = call.cluster.op_get(&rt, &ns, &name)?;
    let wanted = if is_patch {
        let kind = PatchKind::from_content_type(&ct).ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
        match kind {
            PatchKind::Strategic => {
                patch::strategic_merge_patch("Pod", &current, &doc).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            PatchKind::Json => {
                let mut n = current.clone();
                patch::json_patch(&mut n, &doc).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
                n
            }
            _ => {
                let mut n = current.clone();
                patch::merge_patch(&mut n, &doc);
                n
            }
        }
    } else {
        decode_object(&call.headers, &bytes)?
    };
    let (wanted, mut warnings) = admission::subresource(
        &call.cluster,
        &rt,
        "resize",
        "UPDATE",
        &ns,
        &name,
        wanted,
        Some(current.clone()),
        opts.dry_run,
        &call.user,
    )
    .await?;
    let mut next = current.clone();
    let wanted_containers = wanted["spec"]["containers"].as_array().cloned().unwrap_or_default();
    for c in next["spec"]["containers"].as_array_mut().into_iter().flatten() {
        if let Some(w) = wanted_containers.iter().find(|w| w["name"] == c["name"]) {
            c["resources"] = w["resources"].clone();
        }
    }
    let mut out = call.cluster.op_update(&rt, &ns, &name, next, &opts)?;
    warnings.append(&mut out.warnings);
    Ok(json(StatusCode::OK, &out.object, &warnings))
}

async fn evict(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let (call, bytes) = body_bytes(call).await?;
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let (ns, name) = (call.info.namespace.clone(), call.info.name.clone());
    let pod = call.cluster.op_get(&rt, &ns, &name)?;
    let (body, _) =
        admission::subresource(&call.cluster, &rt, "eviction", "CREATE", &ns, &name, body, None, false, &call.user)
            .await?;
    super::super::workloads::admit_eviction(&call.cluster, &ns, &pod)?;
    let opts = DeleteOptions::parse(Some(&body["deleteOptions"]).filter(|v| !v.is_null()), None, false)?;
    call.cluster.op_delete(&rt, &ns, &name, &opts)?;
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    Ok(json(StatusCode::CREATED, &success_status(target(&rt, &name), uid), &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_strings_are_sorted_like_labels_selector_string() {
        let s = json!({"matchLabels":{"b":"2","a":"1"},"matchExpressions":[{"key":"t","operator":"In","values":["x","y"]}]});
        assert_eq!(selector_string(&s), "a=1,b=2,t in (x,y)");
    }
}
