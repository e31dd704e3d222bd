//! The secure port's request path as one service (hyper's, served by the listener, and tower's):
//! telemetry around the gate (authentication, authorization) around the routes. The routes answer
//! synchronously from in-memory state, and when the gate can decide without waiting (a remembered
//! user and decision: every warm HPA read) the response is made in `call` itself, with no future
//! to allocate; the rest (bearer tokens, SubjectAccessReviews, webhooks) cost one boxed future. No
//! router or middleware layers (measured with callgrind in issue #3: those layers cost more than
//! the work they wrapped).
//! Responses get what axum's router adds at the top level: `content-length` when the body size
//! is known, and no body for HEAD.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::Response;
use futures::future::{self, BoxFuture, Ready, ready};
use http_body_util::Either;
use tokio::sync::watch;
use tower::Service;

use super::MetricsProvider;
use super::auth::{Authenticator, AuthnOptions, Authorizer, AuthzOptions};
use super::gate::{self, ConnectionTrust, Gate};
use super::health::{Check, HealthChecks};
use super::routes::{self, ApiState, MetricRead, ReplyBody};
use super::serve::watch_auth_config;
use super::telemetry::Telemetry;
use super::tls::{ClientCaStore, PeerCertificates};
use super::webhooks::{self, Webhooks};

/// The secure port's HTTP stack exactly as `start` serves it, with the watched delegated-auth
/// configuration behind it. Public so in-process drivers (profiling) exercise what the listener
/// serves.
#[derive(Clone)]
pub struct SecureApp {
    shared: Arc<Shared>,
}

struct Shared {
    gate: Arc<Gate>,
    state: ApiState,
    telemetry: Arc<Telemetry>,
    webhooks: Webhooks,
}

impl SecureApp {
    /// Starts the `extension-apiserver-authentication` watch (until `stop`) and builds the stack;
    /// `ready_checks` join /readyz beside the authentication ConfigMap's.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: kube::Client,
        provider: Arc<dyn MetricsProvider>,
        authn: AuthnOptions,
        authz: AuthzOptions,
        ready_checks: Vec<(String, Check)>,
        webhooks: Webhooks,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let client_cas = ClientCaStore::new();
        let auth_config = watch_auth_config(client.clone(), client_cas.clone(), stop);
        let gate = Arc::new(Gate {
            authenticator: Authenticator::new(client.clone(), auth_config.clone(), authn),
            authorizer: Authorizer::new(client, authz),
            client_cas,
        });
        let mut health = HealthChecks::default().with_ready_check(
            "extension-apiserver-authentication",
            Arc::new(move || if auth_config.synced() { Ok(()) } else { Err("not synced".into()) }),
        );
        for (name, check) in ready_checks {
            health = health.with_ready_check(&name, check);
        }
        let state = ApiState { provider, health };
        SecureApp { shared: Arc::new(Shared { gate, state, telemetry: Arc::new(Telemetry::new()), webhooks }) }
    }

    pub fn client_cas(&self) -> Arc<ClientCaStore> {
        self.shared.gate.client_cas.clone()
    }

    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.shared.telemetry.clone()
    }

    pub(super) fn gate(&self) -> Arc<Gate> {
        self.shared.gate.clone()
    }

    /// The service for one accepted connection whose client presented `peer`: its requests share
    /// the connection's certificate trust (verified once, see [`ConnectionTrust`]).
    pub fn connection(&self, peer: PeerCertificates) -> SecureService {
        SecureService { shared: self.shared.clone(), conn: Arc::new(ConnectionTrust::new(peer)) }
    }
}

/// One connection's service (see [`SecureApp::connection`]).
#[derive(Clone)]
pub struct SecureService {
    shared: Arc<Shared>,
    conn: Arc<ConnectionTrust>,
}

/// A response now (every warm HPA read) or after waiting (a webhook, a bearer token check, a
/// SubjectAccessReview).
pub type SecureFuture = future::Either<
    Ready<Result<Response<ReplyBody>, Infallible>>,
    BoxFuture<'static, Result<Response<ReplyBody>, Infallible>>,
>;

impl SecureService {
    fn serve<B>(&self, req: Request<B>) -> SecureFuture
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let (req, body) = req.into_parts();
        let path = req.uri.path();
        // Admission webhooks: kube-apiserver calls them without credentials (no gate).
        if req.method == Method::POST
            && let Some(webhook) = self.shared.webhooks.find(path)
        {
            let shared = self.shared.clone();
            return future::Either::Right(Box::pin(async move {
                let started = Instant::now();
                let resp = webhooks::respond(webhook.as_ref(), Body::new(body)).await;
                shared.telemetry.observe_request(
                    routes::route_label(req.uri.path()),
                    resp.status().as_u16(),
                    started.elapsed(),
                );
                Ok(top_level(&req.method, resp.map(Either::Right)))
            }));
        }
        // The routes never read a request body. What the gate decides without waiting is
        // answered here, with no future to allocate.
        let (route, started) = (routes::route_label(path), Instant::now());
        let read = MetricRead::parse(path);
        let shared = &self.shared;
        let pending = match gate::admit_now(&shared.gate, &self.conn, &req, read.as_ref()) {
            Ok(admitted) => {
                return future::Either::Left(ready(Ok(self.finish(admitted, &req, read.as_ref(), route, started))));
            }
            Err(pending) => pending,
        };
        drop(read);
        let this = self.clone();
        future::Either::Right(Box::pin(async move {
            let read = MetricRead::parse(req.uri.path());
            let (gate, conn) = (&this.shared.gate, &this.conn);
            let admitted = match pending {
                gate::Pending::Review(attrs) => gate::review(gate, conn, &attrs).await,
                gate::Pending::Token => gate::admit(gate, conn, &req, read.as_ref()).await,
            };
            Ok(this.finish(admitted, &req, read.as_ref(), route, started))
        }))
    }

    /// The route's answer once admitted, or the gate's; counted and timed.
    fn finish(
        &self,
        admitted: Result<(), Response>,
        req: &Parts,
        read: Option<&MetricRead<'_>>,
        route: &'static str,
        started: Instant,
    ) -> Response<ReplyBody> {
        let shared = &self.shared;
        let resp = match admitted {
            Ok(()) => routes::respond(&shared.state, &req.method, &req.uri, &req.headers, read),
            Err(refused) => refused.map(Either::Right),
        };
        shared.telemetry.observe_request(route, resp.status().as_u16(), started.elapsed());
        top_level(&req.method, resp)
    }
}

/// The listener serves this (hyper calls it by reference: no clone of the service per request).
impl hyper::service::Service<Request<hyper::body::Incoming>> for SecureService {
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = SecureFuture;

    fn call(&self, req: Request<hyper::body::Incoming>) -> SecureFuture {
        self.serve(req)
    }
}

/// The same service for tower (tests, in-process drivers).
impl<B> Service<Request<B>> for SecureService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = SecureFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.serve(req)
    }
}

/// What axum's router does to every response it returns (`RouteFuture` at the top level), except
/// the `content-length` of a served metric reply to a GET: hyper writes that one itself from the
/// body's exact size (HTTP/1.1 after the map's headers, where the inserted header would be too;
/// HTTP/2 into the map), so the bytes sent are the same without formatting the number here.
fn top_level(method: &Method, mut resp: Response<ReplyBody>) -> Response<ReplyBody> {
    let hyper_writes_length = matches!(resp.body(), Either::Left(_)) && method != Method::HEAD;
    if !hyper_writes_length
        && !resp.headers().contains_key(header::CONTENT_LENGTH)
        && let Some(size) = resp.body().size_hint().exact()
    {
        resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    if method == Method::HEAD {
        *resp.body_mut() = Either::Right(Body::empty());
    }
    resp
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;
    use crate::server::routes::served;

    async fn body(resp: Response<ReplyBody>) -> String {
        let bytes = axum::body::to_bytes(Body::new(resp.into_body()), usize::MAX).await.expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn other(resp: impl IntoResponse) -> Response<ReplyBody> {
        resp.into_response().map(Either::Right)
    }

    #[tokio::test]
    async fn responses_get_a_content_length_and_head_gets_no_body() {
        let get = top_level(&Method::GET, other((StatusCode::OK, "hello")));
        assert_eq!(get.headers()[header::CONTENT_LENGTH], "5");
        assert_eq!(body(get).await, "hello");
        let head = top_level(&Method::HEAD, other((StatusCode::OK, "hello")));
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "5", "the length the GET would have");
        assert_eq!(body(head).await, "");
        let empty = top_level(&Method::GET, other(StatusCode::NOT_MODIFIED));
        assert_eq!(empty.headers()[header::CONTENT_LENGTH], "0");
        let mut preset = other((StatusCode::OK, "hello"));
        preset.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert_eq!(top_level(&Method::GET, preset).headers().get_all(header::CONTENT_LENGTH).iter().count(), 1);
        let head = top_level(&Method::HEAD, served(Bytes::from_static(b"hello")));
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "5", "a served reply's HEAD too");
        assert_eq!(body(head).await, "");
    }

    /// What hyper's HTTP/1.1 server sends on a keep-alive connection for `resp` as `top_level`
    /// leaves it, the date line left out (it changes with the second).
    async fn on_the_wire(method: &Method, resp: Response<ReplyBody>, body_len: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let resp = std::sync::Mutex::new(Some(resp));
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let resp = resp.lock().expect("lock").take().expect("one request");
            std::future::ready(Ok::<_, Infallible>(top_level(req.method(), resp)))
        });
        let conn = tokio::spawn(
            hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(server), service),
        );
        client.write_all(format!("{method} /m HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let complete = |out: &[u8]| {
            let end = out.windows(4).position(|w| w == b"\r\n\r\n");
            end.is_some_and(|e| out.len() >= e + 4 + body_len)
        };
        while !complete(&out) {
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut chunk))
                .await
                .expect("reply")
                .expect("read");
            assert!(n > 0, "connection closed after {:?}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&chunk[..n]);
        }
        conn.abort();
        let text = String::from_utf8(out).expect("UTF-8");
        text.split("\r\n").filter(|l| !l.starts_with("date:")).collect::<Vec<_>>().join("\r\n")
    }

    #[tokio::test]
    async fn a_served_reply_goes_out_as_the_same_bytes_as_a_boxed_body_with_axums_length() {
        let reply = Bytes::from_static(br#"{"kind":"ExternalMetricValueList","items":[]}"#);
        for method in [Method::GET, Method::HEAD] {
            let boxed = served(reply.clone()).map(|b| Either::Right(Body::new(b)));
            let body_len = if method == Method::GET { reply.len() } else { 0 };
            let ours = on_the_wire(&method, served(reply.clone()), body_len).await;
            let axums = on_the_wire(&method, boxed, body_len).await;
            assert_eq!(ours, axums, "{method}");
            assert_eq!(ours.matches("content-length: 45\r\n").count(), 1, "{method}: {ours}");
            assert_eq!(ours.ends_with(std::str::from_utf8(&reply).unwrap()), method == Method::GET, "{method}: {ours}");
        }
    }
}
