//! The secure port's HTTP surface: discovery, the external metric read, OpenAPI (with ETags),
//! version and health. Handlers read in-memory state only. Authentication and authorization run
//! before these (see `server::auth`), telemetry around them.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{Either, Full};

use super::documents::{self, Document};
use super::external_metrics::{GROUP_PATH, GROUP_VERSION_PATH, MetricsProvider, NAMESPACES_PREFIX, lowercase_metric};
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

/// Counts and times every response, as the secure port's service (`server::secure`) does; wrap
/// outermost.
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
    let read = MetricRead::parse(req.uri().path());
    respond(&state, req.method(), req.uri(), req.headers(), read.as_ref()).map(Body::new)
}

/// A response body: a served metric reply's bytes as they are (no boxed body on the HPA's read
/// path), or any other response's body.
pub type ReplyBody = Either<Full<Bytes>, Body>;

/// Every route's answer; the secure port's service calls this directly (see `server::secure`).
/// `read` is [`MetricRead::parse`] of the path, parsed once for the gate and the route.
pub(super) fn respond(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    read: Option<&MetricRead<'_>>,
) -> http::Response<ReplyBody> {
    // The HPA's reads first: no other route starts with the namespaces prefix.
    if let Some(read) = read
        && (method == Method::GET || method == Method::HEAD)
    {
        return metric_values(state, read, uri.query().unwrap_or(""));
    }
    respond_other(state, method, uri, headers).map(Either::Right)
}

fn respond_other(state: &ApiState, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(405, "MethodNotAllowed", format!("{method} is not supported on {}", uri.path()))
            .into_response();
    }
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    match path.trim_end_matches('/') {
        "/apis" => document(&documents::API_GROUP_LIST, headers),
        GROUP_PATH => document(&documents::API_GROUP, headers),
        GROUP_VERSION_PATH => document(&documents::API_RESOURCE_LIST, headers),
        "/openapi/v2" => document(&documents::V2, headers),
        "/openapi/v3" => document(&documents::V3_INDEX, headers),
        p if p.strip_prefix("/openapi/v3") == Some(GROUP_VERSION_PATH) => {
            document(&documents::V3_GROUP_VERSION, headers)
        }
        "/version" => json_response(StatusCode::OK, &documents::version()),
        _ => health(state, path, query).unwrap_or_else(|| ApiError::path_not_found().into_response()),
    }
}

/// A metric read's namespace and metric name, percent-decoded (case kept: the authorization
/// attributes carry the name as requested).
pub(super) struct MetricRead<'a> {
    pub namespace: Cow<'a, str>,
    pub metric: Cow<'a, str>,
}

impl<'a> MetricRead<'a> {
    /// `None` unless `path` is a metric read's (see [`metric_path`]).
    pub(super) fn parse(path: &'a str) -> Option<Self> {
        let (ns, metric, escaped) = metric_path(path)?;
        Some(if escaped {
            MetricRead { namespace: percent_decode(ns), metric: percent_decode(metric) }
        } else {
            MetricRead { namespace: Cow::Borrowed(ns), metric: Cow::Borrowed(metric) }
        })
    }
}

/// A metric read's path: `<prefix><namespace>/<metric>`, both non-empty, nothing after; the two
/// parts and whether either holds a `%`, found in one pass over the rest of the path (memchr's
/// vectorised search: every HPA read comes through here).
fn metric_path(path: &str) -> Option<(&str, &str, bool)> {
    let rest = path.strip_prefix(NAMESPACES_PREFIX)?;
    let (mut slash, mut escaped) = (None, false);
    for at in memchr::memchr2_iter(b'/', b'%', rest.as_bytes()) {
        if rest.as_bytes()[at] == b'%' {
            escaped = true;
        } else if slash.replace(at).is_some() {
            return None;
        }
    }
    let slash = slash?;
    let (ns, metric) = (&rest[..slash], &rest[slash + 1..]);
    (!ns.is_empty() && !metric.is_empty()).then_some((ns, metric, escaped))
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

fn metric_values(state: &ApiState, read: &MetricRead<'_>, query: &str) -> http::Response<ReplyBody> {
    let (ns, metric) = (&read.namespace, lowercase_metric(&read.metric));
    let selector = match label_selector(query) {
        Ok(s) => s,
        Err(e) => return e.into_response().map(Either::Right),
    };
    match state.provider.get_reply(ns, &metric, &selector) {
        Ok(reply) => served(reply),
        Err(e) => e.to_status(&metric).into_response().map(Either::Right),
    }
}

/// A 200 with a served reply's bytes (their length is written by hyper, see `secure::top_level`).
pub(super) fn served(reply: Bytes) -> http::Response<ReplyBody> {
    let mut resp = http::Response::new(Either::Left(Full::new(reply)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn label_selector(query: &str) -> Result<LabelSelector, ApiError> {
    let raw = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "labelSelector").map(|(_, v)| v.into_owned());
    match raw {
        Some(s) if !s.is_empty() => LabelSelector::parse(&s).map_err(|e| ApiError::bad_request(e.to_string())),
        _ => Ok(LabelSelector::everything()),
    }
}

/// Percent-decoded (invalid UTF-8 replaced); borrowed when nothing is escaped.
fn percent_decode(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// Serialised straight into one buffer sized for a typical body.
fn json_response(code: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut buf = Vec::with_capacity(512);
    if serde_json::to_writer(&mut buf, body).is_err() {
        buf = b"{}".to_vec();
    }
    let mut resp = Response::new(Body::from(buf));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{MetricRead, metric_path};

    #[test]
    fn a_metric_path_is_a_namespace_and_a_metric_and_nothing_else() {
        let p = |rest: &str| format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{rest}");
        assert_eq!(metric_path(&p("default/m")), Some(("default", "m", false)));
        for rest in ["default", "default/", "/m", "default/m/", "default/m/x", "", "/", "a//b"] {
            assert_eq!(metric_path(&p(rest)), None, "{rest}");
        }
        assert_eq!(metric_path("/apis/external.metrics.k8s.io/v1beta1/default/m"), None);
        let escaped = p("d%2Fx/m%2f");
        assert_eq!(metric_path(&escaped), Some(("d%2Fx", "m%2f", true)), "escaped slashes are not separators");
    }

    #[test]
    fn a_read_is_decoded_only_where_escaped() {
        let p = |rest: &str| format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{rest}");
        let plain = p("default/datadogmetric@default:web-rps");
        let read = MetricRead::parse(&plain).expect("a read");
        assert!(matches!(read.namespace, Cow::Borrowed("default")));
        assert!(matches!(read.metric, Cow::Borrowed("datadogmetric@default:web-rps")));
        let escaped = p("d%65fault/M%40x%zz");
        let read = MetricRead::parse(&escaped).expect("a read");
        assert_eq!((&*read.namespace, &*read.metric), ("default", "M@x%zz"));
        assert!(MetricRead::parse(&p("a/b%/c")).is_none());
        assert!(MetricRead::parse(&p("%/b")).is_some(), "a lone % is kept, not an error");
    }
}
