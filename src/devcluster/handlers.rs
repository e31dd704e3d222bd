//! The HTTP surface: one dispatcher that derives request attributes as kube-apiserver does, runs
//! fault injection, authentication, impersonation and authorization, then routes to discovery,
//! OpenAPI, health, or the resource verbs.

mod read;
mod request;
mod reviews;
mod subresources;
mod watch;
mod write;

pub use request::{Query, RequestInfo};
pub use reviews::issue_token;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Cluster;
use super::discovery;
use super::openapi;
use super::registry::ResourceType;
use super::status::{ApiError, ApiResult};

pub fn router(cluster: Arc<Cluster>) -> Router {
    Router::new().fallback(dispatch).with_state(cluster)
}

/// Everything a resource handler needs about one request.
pub struct Call {
    pub cluster: Arc<Cluster>,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Query,
    pub info: RequestInfo,
    pub user: super::rbac::UserInfo,
    /// Taken once by `body_bytes` (a Mutex so `&Call` stays Send across awaits).
    pub body: parking_lot::Mutex<Option<Body>>,
}

async fn dispatch(State(cluster): State<Arc<Cluster>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    cluster.faults.wait_unpaused().await;
    if let Some(action) = cluster.faults.action_for(&path) {
        tokio::time::sleep(action.delay).await;
        if let Some(code) = action.status {
            return injected_failure(code);
        }
    }
    let query = Query::parse(parts.uri.query());
    let info = request::parse(&parts.method, &path, &query);
    let user = match cluster.authenticate(&parts.headers).and_then(|u| cluster.impersonate(u, &parts.headers)) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = cluster.authorize(&Cluster::attributes(&user, &info)) {
        return e.into_response();
    }
    if let Some(api) = cluster.proxied_api_service(&path) {
        return super::aggregation::proxy(cluster, api, parts, body, user).await;
    }
    let call = Call {
        cluster,
        method: parts.method,
        headers: parts.headers,
        query,
        info,
        user,
        body: parking_lot::Mutex::new(Some(body)),
    };
    let result = if call.info.resource_request { resource(call).await } else { non_resource(&call, &path) };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn injected_failure(code: u16) -> Response {
    let err = match code {
        429 => ApiError::too_many_requests("injected: too many requests, please try again later"),
        503 => {
            ApiError::new(503, "ServiceUnavailable", "injected: the server is currently unable to handle the request")
        }
        _ => ApiError::internal("injected failure"),
    };
    let mut resp = err.into_response();
    if code == 429 {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn non_resource(call: &Call, path: &str) -> ApiResult<Response> {
    if call.method != Method::GET && call.method != Method::HEAD {
        return Err(ApiError::path_not_found());
    }
    let c = &call.cluster;
    let accept = header_str(&call.headers, header::ACCEPT.as_str());
    match path {
        "/healthz" | "/livez" | "/readyz" => Ok((StatusCode::OK, "ok").into_response()),
        "/version" => Ok(json(StatusCode::OK, &discovery::version(), &[])),
        "/.well-known/openid-configuration" => Ok(json(StatusCode::OK, &c.tokens.openid_configuration(), &[])),
        "/openid/v1/jwks" => Ok(json(StatusCode::OK, &c.tokens.jwks(), &[])),
        "/openapi/v2" => Ok(json(StatusCode::OK, &openapi::v2(&c.registry), &[])),
        "/openapi/v3" => Ok(json(StatusCode::OK, &openapi::v3_index(&c.registry), &[])),
        _ => {
            if let Some(gv) = path.strip_prefix("/openapi/v3/") {
                return openapi::v3_group_version(&c.registry, gv)
                    .map(|doc| json(StatusCode::OK, &doc, &[]))
                    .ok_or_else(ApiError::path_not_found);
            }
            super::aggregation::discovery(c, path, &accept).ok_or_else(ApiError::path_not_found)
        }
    }
}

async fn resource(call: Call) -> ApiResult<Response> {
    let info = &call.info;
    if reviews::is_review(&info.group, &info.resource) {
        return reviews::handle(call).await;
    }
    let rt = call
        .cluster
        .registry
        .lookup(&info.group, &info.version, &info.resource)
        .ok_or_else(ApiError::path_not_found)?;
    check_scope(&rt, info)?;
    if rt.group == super::resource_metrics::GROUP {
        return super::resource_metrics::handle(&call, &rt);
    }
    if !info.subresource.is_empty() {
        return subresources::handle(call, rt).await;
    }
    match info.verb.as_str() {
        "get" => read::get(&call, &rt),
        "list" => read::list(&call, &rt).await,
        "watch" => watch::watch(&call, &rt),
        "create" => write::create(call, rt).await,
        "update" => write::update(call, rt).await,
        "patch" => write::patch(call, rt).await,
        "delete" => write::delete(call, rt).await,
        "deletecollection" => write::delete_collection(call, rt).await,
        other => Err(ApiError::method_not_supported(super::ops::target(&rt, ""), other)),
    }
}

/// Namespaced resources need a namespace for named and create requests; cluster resources must not have one.
fn check_scope(rt: &ResourceType, info: &RequestInfo) -> ApiResult<()> {
    let is_namespace_itself = rt.group.is_empty() && rt.plural == "namespaces";
    if rt.namespaced
        && info.namespace.is_empty()
        && (!info.name.is_empty() || info.verb == "create")
        && !matches!(info.verb.as_str(), "list" | "watch")
    {
        return Err(ApiError::path_not_found());
    }
    if !rt.namespaced && !info.namespace.is_empty() && !is_namespace_itself {
        return Err(ApiError::path_not_found());
    }
    Ok(())
}

pub fn header_str(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A JSON response with `Warning: 299 - "..."` headers.
pub fn json(code: StatusCode, body: &Value, warnings: &[String]) -> Response {
    let mut resp = (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// Reads the body up to the configured limit (413 beyond it).
pub async fn body_bytes(call: Call) -> ApiResult<(Call, bytes::Bytes)> {
    let limit = call.cluster.config.max_body_bytes;
    let body = call.body.lock().take().unwrap_or_else(Body::empty);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::request_entity_too_large(limit))?;
    Ok((call, bytes))
}

/// Decodes a create/update body: JSON or YAML, by Content-Type.
pub fn decode_object(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<Value> {
    let ct = header_str(headers, header::CONTENT_TYPE.as_str());
    let media = ct.split(';').next().unwrap_or("").trim().to_string();
    let parsed: Result<Value, String> = match media.as_str() {
        "" | "application/json" | "*/*" => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        "application/yaml" => serde_saphyr::from_slice(bytes).map_err(|e| e.to_string()),
        // client-go's typed clientsets (kubectl create, auth can-i) send protobuf.
        "application/vnd.kubernetes.protobuf" => {
            return super::protobuf::decode(bytes).map_err(|e| match e {
                super::protobuf::ProtobufError::UnsupportedKind { .. } => {
                    ApiError::unsupported_media_type(&e.to_string())
                }
                other => ApiError::bad_request(format!("error decoding request body: {other}")),
            });
        }
        _ => return Err(ApiError::unsupported_media_type(&ct)),
    };
    let obj = parsed.map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))?;
    if !obj.is_object() {
        return Err(ApiError::bad_request("Object 'Kind' is missing in the request body"));
    }
    Ok(obj)
}
