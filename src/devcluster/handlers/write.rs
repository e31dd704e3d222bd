//! HTTP glue for create, update, patch, delete and deletecollection.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::admission;
use super::super::ops::{DeleteOptions, FieldValidation, Outcome, PatchKind, WriteOptions};
use super::super::registry::ResourceType;
use super::super::status::{ApiError, ApiResult};
use super::read::{Selectors, select};
use super::{Call, body_bytes, decode_object, header_str, json};

/// Options common to writes, from the query string and User-Agent.
pub fn write_options(call: &Call, subresource: Option<&str>) -> ApiResult<WriteOptions> {
    let q = &call.query;
    let dry_run = parse_dry_run(q.all("dryRun"))?;
    let field_manager = match q.get("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => default_manager(&header_str(&call.headers, header::USER_AGENT.as_str())),
    };
    Ok(WriteOptions {
        dry_run,
        field_manager,
        field_validation: FieldValidation::parse(q.get("fieldValidation"))?,
        subresource: subresource.map(str::to_string),
        force: q.flag("force"),
    })
}

fn parse_dry_run<'a>(values: impl Iterator<Item = &'a str>) -> ApiResult<bool> {
    let mut dry = false;
    for v in values {
        match v {
            "All" => dry = true,
            "" => {}
            other => return Err(ApiError::bad_request(format!("Invalid dry run value: {other} (supported: All)"))),
        }
    }
    Ok(dry)
}

/// kube-apiserver's default field manager: the User-Agent up to the first '/'.
fn default_manager(user_agent: &str) -> String {
    let m: String = user_agent.split('/').next().unwrap_or("").chars().take(128).collect();
    if m.is_empty() { "unknown".into() } else { m }
}

fn respond(out: Outcome) -> Response {
    let code = if out.created { StatusCode::CREATED } else { StatusCode::OK };
    json(code, &out.object, &out.warnings)
}

pub async fn create(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let opts = write_options(&call, None)?;
    let (call, bytes) = body_bytes(call).await?;
    let obj = decode_object(&call.headers, &bytes)?;
    Ok(respond(admission::create(&call.cluster, &rt, &call.info.namespace, obj, &opts, &call.user).await?))
}

pub async fn update(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    update_sub(call, rt, None).await
}

pub async fn update_sub(call: Call, rt: Arc<ResourceType>, sub: Option<&str>) -> ApiResult<Response> {
    let opts = write_options(&call, sub)?;
    let (call, bytes) = body_bytes(call).await?;
    let obj = decode_object(&call.headers, &bytes)?;
    let (ns, name) = (&call.info.namespace, &call.info.name);
    Ok(respond(admission::update(&call.cluster, &rt, ns, name, obj, &opts, &call.user).await?))
}

pub async fn patch(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    patch_sub(call, rt, None).await
}

pub async fn patch_sub(call: Call, rt: Arc<ResourceType>, sub: Option<&str>) -> ApiResult<Response> {
    let ct = header_str(&call.headers, header::CONTENT_TYPE.as_str());
    let kind = PatchKind::from_content_type(&ct).ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
    let opts = write_options(&call, sub)?;
    if kind == PatchKind::Apply && call.query.get("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![
                json!({"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}),
            ],
        ));
    }
    let (call, bytes) = body_bytes(call).await?;
    let (ns, name) = (&call.info.namespace, &call.info.name);
    Ok(respond(admission::patch(&call.cluster, &rt, ns, name, kind, &bytes, &opts, &call.user).await?))
}

async fn delete_options(call: Call) -> ApiResult<(Call, DeleteOptions)> {
    let dry = parse_dry_run(call.query.all("dryRun"))?;
    let propagation = call.query.get("propagationPolicy").map(str::to_string);
    let (call, bytes) = body_bytes(call).await?;
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?,
        )
    };
    let opts = DeleteOptions::parse(body.as_ref(), propagation.as_deref(), dry)?;
    Ok((call, opts))
}

pub async fn delete(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let (call, opts) = delete_options(call).await?;
    let obj = admission::delete(&call.cluster, &rt, &call.info.namespace, &call.info.name, &opts, &call.user).await?;
    Ok(json(StatusCode::OK, &obj, &[]))
}

pub async fn delete_collection(call: Call, rt: Arc<ResourceType>) -> ApiResult<Response> {
    let sel = Selectors::parse(&call.query, &rt)?;
    let (call, opts) = delete_options(call).await?;
    let (rv, snap) = call.cluster.store.snapshot(&rt.table);
    let page = select(&snap, &rt, &call.info.namespace, &sel, None, 0);
    let mut deleted = Vec::new();
    for s in &page.items {
        match admission::delete(&call.cluster, &rt, &s.key.namespace, &s.key.name, &opts, &call.user).await {
            Ok(obj) => deleted.push(obj),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let body = json!({"kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": deleted});
    Ok(json(StatusCode::OK, &body, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_manager_defaults_to_the_user_agent_program() {
        assert_eq!(default_manager("kubectl/v1.32.4 (linux/amd64) kubernetes/abc"), "kubectl");
        assert_eq!(default_manager(""), "unknown");
    }

    #[test]
    fn dry_run_accepts_only_all() {
        assert!(parse_dry_run(["All"].into_iter()).unwrap());
        assert!(!parse_dry_run([].into_iter()).unwrap());
        assert_eq!(parse_dry_run(["Yes"].into_iter()).unwrap_err().code, 400);
    }
}
