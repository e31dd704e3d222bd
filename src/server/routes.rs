//! The secure port's HTTP surface: discovery, the external metric read, OpenAPI (with ETags),
//! version and health. Handlers read in-memory state only. Authentication and authorization run
//! before these (see `server::auth`), telemetry around them.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::documents::{self, Document};
use super::external_metrics::{
    ExternalMetricValueList, GROUP_PATH, GROUP_VERSION_PATH, MetricsProvider, NAMESPACES_PREFIX,
};
use super::health::HealthChecks;
use super::telemetry::Telemetry;
use crate::apimachinery::selector::LabelSelector;
use crate::apimachinery::status::ApiError;

pub struct ApiState {
    pub provider: Arc<dyn MetricsProvider>,
    pub health: HealthChecks,
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// Counts and times every response, including the gate's 401/403s, so wrap outermost.
pub fn with_telemetry(app: Router, telemetry: Arc<Telemetry>) -> Router {
    app.layer(axum::middleware::from_fn_with_state(telemetry, observe))
}

/// The low-cardinality route label for metrics.
pub fn route_label(path: &str) -> &'static str {
    match path {
        p if p.starts_with(NAMESPACES_PREFIX) => "metric",
        "/apis" | "/api" => "discovery",
        p if p.starts_with("/apis/") => "discovery",
        p if p.starts_with("/openapi/") => "openapi",
        "/healthz" | "/livez" | "/readyz" | "/version" => "health",
        "/autoscaling" | "/hpa-autoscaling" => "webhook",
        p if p.starts_with("/readyz/") || p.starts_with("/livez/") || p.starts_with("/healthz/") => "health",
        _ => "other",
    }
}

async fn observe(State(telemetry): State<Arc<Telemetry>>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let started = Instant::now();
    let resp = next.run(req).await;
    telemetry.observe_request(route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn dispatch(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{} is not supported on {}", req.method(), req.uri().path()),
        )
        .into_response();
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    match path.trim_end_matches('/') {
        "/apis" => document(&documents::API_GROUP_LIST, &headers),
        GROUP_PATH => document(&documents::API_GROUP, &headers),
        GROUP_VERSION_PATH => document(&documents::API_RESOURCE_LIST, &headers),
        "/openapi/v2" => document(&documents::V2, &headers),
        "/openapi/v3" => document(&documents::V3_INDEX, &headers),
        p if p.strip_prefix("/openapi/v3") == Some(GROUP_VERSION_PATH) => {
            document(&documents::V3_GROUP_VERSION, &headers)
        }
        "/version" => json_response(StatusCode::OK, &documents::version()),
        _ => other(&state, &path, &query),
    }
}

fn other(state: &ApiState, path: &str, query: &str) -> Response {
    if let Some(resp) = health(state, path, query) {
        return resp;
    }
    match path.strip_prefix(NAMESPACES_PREFIX).map(|rest| rest.split('/').collect::<Vec<_>>()).as_deref() {
        Some([ns, metric]) if !ns.is_empty() && !metric.is_empty() => metric_values(state, ns, metric, query),
        _ => ApiError::path_not_found().into_response(),
    }
}

fn health(state: &ApiState, path: &str, query: &str) -> Option<Response> {
    let trimmed = path.trim_start_matches('/');
    let (kind, only) = trimmed.split_once('/').map_or((trimmed, None), |(k, n)| (k, Some(n)));
    if !matches!(kind, "healthz" | "livez" | "readyz") {
        return None;
    }
    let verbose = query.split('&').any(|p| p == "verbose" || p.starts_with("verbose="));
    let Some(report) = state.health.run(kind, only, verbose) else {
        return Some(ApiError::path_not_found().into_response());
    };
    let code = if report.ok { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
    Some((code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], report.body).into_response())
}

fn metric_values(state: &ApiState, ns: &str, metric: &str, query: &str) -> Response {
    let ns = percent_decode(ns);
    let metric = percent_decode(metric).to_lowercase();
    let selector = match label_selector(query) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match state.provider.get(&ns, &metric, &selector) {
        Ok(items) => json_response(StatusCode::OK, &ExternalMetricValueList::new(items)),
        Err(e) => e.to_status(&metric).into_response(),
    }
}

fn label_selector(query: &str) -> Result<LabelSelector, ApiError> {
    let raw = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "labelSelector").map(|(_, v)| v.into_owned());
    match raw {
        Some(s) if !s.is_empty() => LabelSelector::parse(&s).map_err(|e| ApiError::bad_request(e.to_string())),
        _ => Ok(LabelSelector::everything()),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn json_response(code: StatusCode, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    (code, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// A document with ETag; a matching If-None-Match gets 304.
fn document(doc: &Document, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&doc.etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let matches = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == doc.etag || t == "*"
        })
    });
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag)],
        doc.body.clone(),
    )
        .into_response()
}
