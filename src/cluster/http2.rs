//! A kube client that speaks HTTP/2 to kube-apiserver, for the many long-lived watches.
//!
//! kube-rs's own client speaks HTTP/1.1 only, so every watch holds its own TLS connection (rustls
//! and hyper buffers, a connection task). client-go talks HTTP/2 (ALPN `h2`) and multiplexes all
//! its watches on one connection; [`http2_client`] does the same from the same [`kube::Config`]:
//! the rustls config of `ConfigExt::rustls_client_config` (ring, the config's CA, client identity
//! and `tls_server_name`), a hyper-rustls connector offering `h2` (then `http/1.1`, so the
//! handshake succeeds with HTTP/1.1-only servers and we can tell), hyper-util's client in
//! `http2_only` mode with client-go's health-check pings (after 30 s without a frame, 15 s to
//! answer), under kube's layers (base URI, retry, auth, extra headers) and connection timeouts.
//!
//! When the server does not negotiate `h2`, the connection is refused before anything is sent,
//! the refusal is logged once, and that request and every later one go through kube's own
//! HTTP/1.1 client built from the same config. Plain `http://` servers and proxies use the
//! HTTP/1.1 client directly.
//!
//! One client is one connection; a server caps the streams of a connection (kube-apiserver 100 by
//! default), so [`WatchClients`] spreads the watches over as many clients as needed.

mod pool;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{Body, ConfigExt, RustlsTlsError, retry::RetryPolicy};
use tower::retry::RetryLayer;
use tower::util::BoxCloneService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

pub use pool::{MAX_STREAMS_PER_CONNECTION, WatchClients, WatchLease};

/// HTTP/2 PING after this long without a frame from the server (client-go's `ReadIdleTimeout`).
const PING_AFTER: Duration = Duration::from_secs(30);
/// An unanswered PING closes the connection after this long (client-go's `PingTimeout`).
const PING_TIMEOUT: Duration = Duration::from_secs(15);

type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;
type Http2Service = BoxCloneService<Request<Body>, Response<Incoming>, BoxError>;

/// The server behind `server` finished the TLS handshake without choosing `h2`.
#[derive(Debug, thiserror::Error)]
#[error("the API server at {server} did not negotiate HTTP/2 (ALPN h2)")]
pub struct Http2NotNegotiated {
    pub server: Uri,
}

/// A client speaking HTTP/2 to the config's server: all its requests share one connection. Falls
/// back to kube's HTTP/1.1 client when the server does not negotiate `h2`, or for `http://`
/// servers and proxies. Fails like `kube::Client::try_from` on an unusable config.
pub fn http2_client(config: &kube::Config) -> Result<kube::Client, kube::Error> {
    build(config, &Fallback::new(config)?)
}

/// What the clients built from one config share: kube's HTTP/1.1 client, and whether the server
/// refused `h2` (then everything goes through that client).
pub(crate) struct Fallback {
    http1: kube::Client,
    refused: AtomicBool,
}

impl Fallback {
    pub(crate) fn new(config: &kube::Config) -> Result<Arc<Self>, kube::Error> {
        let http1 = kube::Client::try_from(config.clone())?;
        let direct = config.cluster_url.scheme() == Some(&http::uri::Scheme::HTTPS) && config.proxy_url.is_none();
        if !direct {
            tracing::info!(
                server = %config.cluster_url, proxied = config.proxy_url.is_some(),
                "HTTP/2 needs a direct https:// server: the pod watches use HTTP/1.1, one connection each"
            );
        }
        Ok(Arc::new(Fallback { http1, refused: AtomicBool::new(!direct) }))
    }

    /// True once the server refused `h2` (or cannot be spoken to in HTTP/2 at all).
    pub(crate) fn active(&self) -> bool {
        self.refused.load(Ordering::Acquire)
    }

    pub(crate) fn http1(&self) -> &kube::Client {
        &self.http1
    }

    fn refuse(&self, server: &Uri) {
        if !self.refused.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                %server,
                "the API server did not negotiate HTTP/2 (ALPN h2): falling back to HTTP/1.1, one connection per watch"
            );
        }
    }

    async fn send(&self, request: Request<Body>) -> Result<Response<ResponseBody>, BoxError> {
        let response = self.http1.send(request).await?;
        Ok(response.map(|body| body.map_err(BoxError::from).boxed_unsync()))
    }
}

/// One HTTP/2 connection's client (or the HTTP/1.1 one once the server refused `h2`).
pub(crate) fn build(config: &kube::Config, fallback: &Arc<Fallback>) -> Result<kube::Client, kube::Error> {
    if fallback.active() {
        return Ok(fallback.http1.clone());
    }
    let service = Http2OrFallback { http2: http2_service(config, fallback)?, fallback: fallback.clone() };
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

/// kube's layers over hyper-util's client in `http2_only` mode on a connector that insists on `h2`.
fn http2_service(config: &kube::Config, fallback: &Arc<Fallback>) -> Result<Http2Service, kube::Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config.rustls_client_config()?).https_only();
    let tls = match &config.tls_server_name {
        Some(name) => {
            let name =
                name.clone().try_into().map_err(|e| kube::Error::RustlsTls(RustlsTlsError::InvalidServerName(e)))?;
            tls.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
        }
        None => tls,
    };
    let https = tls.enable_all_versions().wrap_connector(http);
    let mut connector = hyper_timeout::TimeoutConnector::new(RequireH2 { inner: https, fallback: fallback.clone() });
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let client = hyper_util::client::legacy::Builder::new(TokioExecutor::new())
        .http2_only(true)
        .http2_keep_alive_interval(PING_AFTER)
        .http2_keep_alive_timeout(PING_TIMEOUT)
        .timer(TokioTimer::new())
        .build::<_, Body>(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry())))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(BoxCloneService::new(service))
}

/// Sends over HTTP/2; when the server refused `h2`, resends through the HTTP/1.1 client (the
/// refusal happens at connect time, before any byte of the request went out).
#[derive(Clone)]
struct Http2OrFallback {
    http2: Http2Service,
    fallback: Arc<Fallback>,
}

impl Service<Request<Body>> for Http2OrFallback {
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Each call readies its own clone of the stack (hyper-util's client is always ready).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let (http2, fallback) = (self.http2.clone(), self.fallback.clone());
        Box::pin(async move {
            if fallback.active() {
                return fallback.send(request).await;
            }
            let again = try_clone(&request);
            match http2.oneshot(request).await {
                Ok(response) => Ok(response.map(|body| body.map_err(BoxError::from).boxed_unsync())),
                Err(e) if fallback.active() => match again {
                    Some(request) => fallback.send(request).await,
                    None => Err(e),
                },
                Err(e) => Err(e),
            }
        })
    }
}

/// The request again, when its body is a buffer (kube's requests are).
fn try_clone(request: &Request<Body>) -> Option<Request<Body>> {
    let mut copy = Request::new(request.body().try_clone()?);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// A connector whose connections must have negotiated `h2`; any other marks the server as
/// refusing HTTP/2 and fails the connection.
#[derive(Clone)]
struct RequireH2<C> {
    inner: C,
    fallback: Arc<Fallback>,
}

impl<C> Service<Uri> for RequireH2<C>
where
    C: Service<Uri>,
    C::Response: Connection + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<C::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, server: Uri) -> Self::Future {
        let connecting = self.inner.call(server.clone());
        let fallback = self.fallback.clone();
        Box::pin(async move {
            let stream = connecting.await.map_err(Into::into)?;
            if stream.connected().is_negotiated_h2() {
                return Ok(stream);
            }
            fallback.refuse(&server);
            Err(Http2NotNegotiated { server }.into())
        })
    }
}

#[cfg(test)]
mod tests;
