//! kube-aggregator's `proxyHandler`: a request under `/apis/<group>/<version>` of a service-backed
//! APIService, already authenticated and authorized by devcluster, goes to the backend over TLS
//! verified with the APIService `caBundle` (or not, with `insecureSkipTLSVerify`), presenting the
//! front-proxy client certificate and the caller's identity in `X-Remote-*` headers. The response
//! (status, headers, body) is streamed back, so watches work. Unavailable APIServices and unreachable
//! backends get kube-aggregator's plain-text 503.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::super::Cluster;
use super::super::backends::{self, Endpoint};
use super::errors::{self, host_port};
use super::headers::{self, Forwarded};
use super::{ApiService, ServiceRef};
use crate::apimachinery::authorization::UserInfo;
use crate::apimachinery::status::ApiError;

/// Connecting to a backend gives up after this (Go's default dialer: 30 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A built client and what it was built from.
pub struct CachedClient {
    key: String,
    client: reqwest::Client,
}

/// Why no request could be sent.
#[derive(Debug)]
pub enum ClientError {
    /// The Service does not resolve (kube-aggregator: 503 "service unavailable").
    Resolve(String),
    /// The TLS settings are unusable (kube-aggregator: 500 with the transport building error).
    Build(String),
}

/// The proxy client for `api` (cached per APIService) and the endpoint it dials.
pub fn client_for(cluster: &Cluster, api: &ApiService) -> Result<(reqwest::Client, Endpoint), ClientError> {
    let svc = api.service.as_ref().ok_or_else(|| ClientError::Resolve("APIService is local".into()))?;
    let endpoint = resolve(cluster, svc)?;
    let key = format!("{}|{}|{}|{}", api.ca_bundle, api.insecure, endpoint.host, endpoint.port);
    let aggregator = &cluster.aggregator;
    if let Some(cached) = aggregator.clients.lock().get(&api.name).filter(|c| c.key == key) {
        return Ok((cached.client.clone(), endpoint));
    }
    let client = build(api, &endpoint, &aggregator.identity).map_err(ClientError::Build)?;
    aggregator.clients.lock().insert(api.name.clone(), CachedClient { key, client: client.clone() });
    Ok((client, endpoint))
}

fn resolve(cluster: &Cluster, svc: &ServiceRef) -> Result<Endpoint, ClientError> {
    let port = u16::try_from(svc.port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ClientError::Resolve(format!("service port {} is out of range", svc.port)))?;
    backends::resolve_service(cluster, &svc.namespace, &svc.name, port).map_err(|e| ClientError::Resolve(e.to_string()))
}

fn build(
    api: &ApiService,
    endpoint: &Endpoint,
    identity: &backends::ClientIdentity,
) -> Result<reqwest::Client, String> {
    let ca = backends::decode_ca_bundle(&api.ca_bundle)?;
    let tls = backends::client_tls(&ca, api.insecure, Some(identity))?;
    let addrs = resolve_all(&endpoint.host, endpoint.port)?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve_to_addrs(&endpoint.server_name, &addrs)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())
}

/// Every address of `host` (a name such as `localhost` may resolve to ::1 and 127.0.0.1; the
/// connector tries them in turn).
fn resolve_all(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| format!("dial tcp: lookup {host}: {e}"))?.collect();
    if addrs.is_empty() {
        return Err(format!("dial tcp: lookup {host}: no such host"));
    }
    Ok(addrs)
}

/// `https://<service>.<namespace>.svc:<port><path>` (the name the certificate is verified against;
/// the client dials the resolved address).
pub fn url(endpoint: &Endpoint, path: &str, query: &str) -> String {
    let base = format!("https://{}:{}{path}", endpoint.server_name, endpoint.port);
    if query.is_empty() { base } else { format!("{base}?{query}") }
}

/// Proxies one request to `api`'s backend.
pub async fn proxy(cluster: Arc<Cluster>, api: ApiService, parts: Parts, body: Body, user: UserInfo) -> Response {
    if !api.available {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    let (client, endpoint) = match client_for(&cluster, &api) {
        Ok(c) => c,
        Err(ClientError::Resolve(why)) => {
            tracing::warn!(apiservice = %api.name, error = %why, "cannot resolve the APIService backend");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
        }
        Err(ClientError::Build(why)) => {
            tracing::warn!(apiservice = %api.name, error = %why, "cannot build the APIService transport");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, &why);
        }
    };
    let limit = cluster.config.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::request_entity_too_large(limit).into_response(),
    };
    let dialled = host_port(&endpoint.host, endpoint.port);
    let original_host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let forwarded = Forwarded { client_ip: "127.0.0.1", host: &original_host, uri: parts.uri.path() };
    let outgoing = headers::proxied_request(&parts.headers, &user, &forwarded, &dialled);
    let target = url(&endpoint, parts.uri.path(), &headers::encode_query(parts.uri.query()));
    let sent = client.request(parts.method.clone(), target).headers(outgoing).body(bytes).send().await;
    match sent {
        Ok(resp) => stream_back(resp),
        Err(e) => {
            let why = errors::cause(&e, &dialled);
            tracing::warn!(apiservice = %api.name, error = %why, "proxying to the APIService backend failed");
            plain(StatusCode::SERVICE_UNAVAILABLE, &format!("error trying to reach service: {why}"))
        }
    }
}

fn stream_back(resp: reqwest::Response) -> Response {
    let status = resp.status();
    let response_headers = headers::proxied_response(resp.headers());
    let chunks = futures::stream::unfold(Some(resp), |state| async move {
        let mut resp = state?;
        match resp.chunk().await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, reqwest::Error>(chunk), Some(resp))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut out = Response::new(Body::from_stream(chunks));
    *out.status_mut() = status;
    *out.headers_mut() = response_headers;
    out
}

/// Go's `http.Error`: a text body ending in a newline.
fn plain(code: StatusCode, text: &str) -> Response {
    let mut resp = (code, format!("{text}\n")).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_names_the_service_and_keeps_the_query() {
        let e = Endpoint { host: "localhost".into(), port: 8443, server_name: "api.datadog.svc".into() };
        assert_eq!(url(&e, "/apis/g/v1", ""), "https://api.datadog.svc:8443/apis/g/v1");
        assert_eq!(url(&e, "/apis/g/v1/x", "a=b"), "https://api.datadog.svc:8443/apis/g/v1/x?a=b");
    }

    #[test]
    fn localhost_resolves_to_loopback_addresses() {
        let addrs = resolve_all("localhost", 443).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 443), "{addrs:?}");
    }
}
