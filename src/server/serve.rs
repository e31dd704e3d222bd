//! Running the API server: the TLS listener (HTTP/1.1 and HTTP/2) with the request gate in front
//! of the routes, certificate hot reload, the watched delegated-auth configuration, and the
//! Prometheus metrics listener on its own port (also serving the `/status` document when one is
//! given: unauthenticated like `/metrics`, so it must never carry secrets).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::MetricsProvider;
use super::auth::{AuthConfigWatch, AuthnOptions, AuthzOptions};
use super::gate::Gate;
use super::secure::SecureApp;
use super::telemetry::Telemetry;
use super::tls::{self, CertSource, ClientCaStore, ServingCerts};
use super::webhooks::Webhooks;

pub struct ServeConfig {
    pub secure_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub certs: CertSource,
    pub allow_legacy_tls: bool,
    pub cert_poll_interval: Duration,
    pub authn: AuthnOptions,
    pub authz: AuthzOptions,
}

impl ServeConfig {
    /// Both listeners on a free 127.0.0.1 port, a self-signed certificate for Service
    /// `service.namespace`, default authentication and authorization (tests, `dev`).
    pub fn loopback(service: &str, namespace: &str) -> Self {
        ServeConfig {
            secure_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            certs: CertSource::SelfSigned { service: service.into(), namespace: namespace.into() },
            allow_legacy_tls: false,
            cert_poll_interval: Duration::from_secs(1),
            authn: AuthnOptions::default(),
            authz: AuthzOptions::default(),
        }
    }
}

/// The JSON document served at `/status` on the metrics port (see `crate::status`).
pub type StatusSource = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Adds metrics to the server's registry (called once, at start).
pub type RegisterMetrics = Box<dyn FnOnce(&mut prometheus_client::registry::Registry) + Send>;

/// What the wiring adds to the core server: the provider's readiness checks, its metrics and the
/// status document.
#[derive(Default)]
pub struct Extras {
    pub ready_checks: Vec<(String, super::Check)>,
    pub metrics: Option<RegisterMetrics>,
    pub status: Option<StatusSource>,
    /// Admission webhooks served on the secure port outside the authentication gate.
    pub webhooks: Webhooks,
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server; dropping it does not stop it, `shutdown` does.
pub struct RunningServer {
    pub secure_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// The CA to put in the APIService `caBundle` when serving a self-signed certificate.
    pub ca_pem: Option<String>,
    pub telemetry: Arc<Telemetry>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningServer {
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

pub async fn start(
    config: ServeConfig,
    client: kube::Client,
    provider: Arc<dyn MetricsProvider>,
) -> anyhow::Result<RunningServer> {
    start_with(config, client, provider, Extras::default()).await
}

/// `start`, also serving admission `webhooks` (outside the authentication gate).
pub async fn start_with_webhooks(
    config: ServeConfig,
    client: kube::Client,
    provider: Arc<dyn MetricsProvider>,
    webhooks: Webhooks,
) -> anyhow::Result<RunningServer> {
    start_with(config, client, provider, Extras { webhooks, ..Extras::default() }).await
}

pub async fn start_with(
    config: ServeConfig,
    client: kube::Client,
    provider: Arc<dyn MetricsProvider>,
    extras: Extras,
) -> anyhow::Result<RunningServer> {
    let (shutdown, stop) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let certs = ServingCerts::load(&config.certs)?;
    let reloader = certs.spawn_reloader(config.cert_poll_interval, stop.clone());
    tasks.spawn(async move {
        let _ = reloader.await;
    });
    let secure_app = SecureApp::new(
        client,
        provider,
        config.authn,
        config.authz,
        extras.ready_checks,
        extras.webhooks,
        stop.clone(),
    );
    let (client_cas, telemetry, gate) = (secure_app.client_cas(), secure_app.telemetry(), secure_app.gate());
    if let Some(add) = extras.metrics {
        telemetry.register(add);
    }
    let tls = tls::server_config(certs.clone(), client_cas, config.allow_legacy_tls)?;
    let secure = TcpListener::bind(config.secure_addr).await?;
    let metrics = TcpListener::bind(config.metrics_addr).await?;
    let (secure_addr, metrics_addr) = (secure.local_addr()?, metrics.local_addr()?);
    tasks.spawn(serve_tls(secure, TlsAcceptor::from(tls), secure_app, stop.clone()));
    let scrape = Scrape { telemetry: telemetry.clone(), certs: certs.clone(), gate };
    tasks.spawn(serve_metrics(metrics, Arc::new(scrape), extras.status, stop));
    tracing::info!(%secure_addr, %metrics_addr, "API server listening");
    Ok(RunningServer { secure_addr, metrics_addr, ca_pem: certs.ca_pem(), telemetry, shutdown, tasks })
}

/// The ConfigMap watch also feeds the TLS layer's client-certificate trust.
pub(super) fn watch_auth_config(
    client: kube::Client,
    cas: Arc<ClientCaStore>,
    stop: watch::Receiver<bool>,
) -> Arc<AuthConfigWatch> {
    AuthConfigWatch::spawn(
        client,
        Box::new(move |c| {
            if let Err(e) = cas.set(c.client_ca_pem.as_deref(), c.requestheader_ca_pem.as_deref()) {
                tracing::warn!(error = %e, "extension-apiserver-authentication: unusable CA bundle; keeping the previous one");
            }
        }),
        stop,
    )
}

async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, app: SecureApp, mut stop: watch::Receiver<bool>) {
    loop {
        let (tcp, peer_addr) = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
        };
        let (acceptor, app, mut stop) = (acceptor.clone(), app.clone(), stop.clone());
        // Without it, the first response on a connection waits behind the TLS 1.3 session tickets
        // for the client's delayed ACK (~40 ms, measured in benches/server.rs).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        tokio::spawn(async move {
            let (stream, peer) = match tls::accept(&acceptor, tcp, HANDSHAKE_TIMEOUT).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer_addr, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let service = app.connection(peer);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

/// What a scrape reads: counters kept elsewhere are brought up to date first.
struct Scrape {
    telemetry: Arc<Telemetry>,
    certs: Arc<ServingCerts>,
    gate: Arc<Gate>,
}

impl Scrape {
    fn render(&self) -> String {
        let t = &self.telemetry;
        t.tls_reloads_total(self.certs.reload_count());
        let authn = self.gate.authenticator.cache_stats();
        t.auth_cache_totals("authentication", authn.hits, authn.misses);
        let authz = self.gate.authorizer.cache_stats();
        t.auth_cache_totals("authorization", authz.hits, authz.misses);
        t.encode()
    }
}

async fn serve_metrics(
    listener: TcpListener,
    scrape: Arc<Scrape>,
    status: Option<StatusSource>,
    mut stop: watch::Receiver<bool>,
) {
    let mut app = Router::new();
    if let Some(status) = status {
        app = app.route("/status", axum::routing::get(move || std::future::ready(axum::Json(status()))));
    }
    let app = app.route(
        "/metrics",
        axum::routing::get(move || {
            let scrape = scrape.clone();
            async move {
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], scrape.render())
            }
        }),
    );
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "metrics listener stopped");
    }
}
