//! Instruction-count driver for the external-metric read path (issue #5), in one process with no
//! sockets on the measured path: our secure port's per-connection service (`SecureApp`, what the
//! TLS listener serves) and a bare `service_fn` returning the same bytes, each behind hyper-util's
//! `auto::Builder` (the listener's builder call) on an in-memory duplex stream — no TCP, no TLS.
//!
//! Setup (not measured): devcluster in process (its `extension-apiserver-authentication`
//! ConfigMap, RBAC letting the HPA ServiceAccount read external metrics), a DatadogMetric store
//! filled with `READ_PATH_METRICS` (default 10,000) valid entries as the benches' fleet names them
//! (`bench-<i % 4>/ddm-<i:05>`), the real `DatadogMetricProvider` reading it, and `SecureApp::new`
//! with the default authentication options; allowed decisions are kept 1 h (not 5 min) and values
//! count as fresh for a day, so a slow run under valgrind outlives neither. Requests are what the
//! aggregator forwards for the HPA: `GET …/namespaces/<ns>/datadogmetric@<ns>:<name>` with the
//! front-proxy client certificate (devcluster's aggregator identity) as the connection's peer
//! chain and `X-Remote-User` / `X-Remote-Group` headers. One warm-up pass over every name (each a SubjectAccessReview to
//! devcluster) fills the decision table, and every reply of that pass is checked for its metric's
//! value; the measured passes then rotate over all names on one keep-alive connection, so every
//! request misses the connection's last decision and hits the shared table, as in
//! `benches/external_metrics.rs`.
//!
//! Measured: `measure_ours` and `measure_bare` each push `READ_PATH_REQUESTS` (default 20,000)
//! requests through their service (the client side — writing request bytes and reading
//! Content-Length-delimited replies — is the same code for both) and print ns/request;
//! `READ_PATH_ROUNDS` (default 3) alternates them.
//!
//! Run natively: `cargo bench --bench read_path` (ns/request; noisy on a shared machine).
//! Instructions per request (repeatable on a busy machine):
//!
//! ```text
//! cargo bench --bench read_path --no-run   # prints the binary's path
//! READ_PATH_METRICS=1500 READ_PATH_REQUESTS=3000 READ_PATH_ROUNDS=1 valgrind --tool=callgrind \
//!     --toggle-collect='read_path::measure_*' --callgrind-out-file=/tmp/rp.out target/release/deps/read_path-<hash>
//! callgrind_annotate --inclusive=yes /tmp/rp.out | grep -E 'measure_(ours|bare) \['   # ÷ READ_PATH_REQUESTS
//! ```
//!
//! (Instruction counts hardly depend on how many names rotate; 1,500 keeps the warm-up's
//! SubjectAccessReviews to ~15 s under valgrind, 10,000 take minutes.) Fails when a reply is wrong
//! (status, or a warm-up reply without its metric's value).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::config::Settings;
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::external_metrics::datadogmetric::{
    DatadogMetricProvider, DatadogMetricStore, MetricState, ProviderConfig, Writer,
};
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::PeerCertificates;
use autoscaling_apiserver::server::{SecureApp, Webhooks, format_quantity};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k8s_openapi::jiff::Timestamp;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::sync::watch;

#[allow(dead_code)]
#[path = "common"]
mod common {
    pub mod certs;
    pub mod client;
    pub mod duplex;
    pub mod setup;
}

use common::client::request_bytes;
use common::duplex::{Client, env_count, exchange};
use common::setup::allow_hpa_external_metrics;

const NAMESPACES: usize = 4;
/// Distinct values, as the benches' fleet uses 100 queries.
const VALUES: usize = 100;

struct Params {
    metrics: usize,
    requests: usize,
    rounds: usize,
}

impl Params {
    fn from_env() -> anyhow::Result<Self> {
        Ok(Params {
            metrics: env_count("READ_PATH_METRICS", 10_000)?,
            requests: env_count("READ_PATH_REQUESTS", 20_000)?,
            rounds: env_count("READ_PATH_ROUNDS", 3)?,
        })
    }
}

fn namespace_of(i: usize) -> String {
    format!("bench-{}", i % NAMESPACES)
}

fn name_of(i: usize) -> String {
    format!("ddm-{i:05}")
}

fn value_of(i: usize) -> f64 {
    ((i % VALUES) + 1) as f64 * 1.5
}

/// The store's entries: valid, with a fresh value.
fn fill(store: &DatadogMetricStore, metrics: usize) {
    let now = Timestamp::now();
    for i in 0..metrics {
        let (ns, name) = (namespace_of(i), name_of(i));
        let mut state = MetricState::autogen(&format!("{ns}/{name}"), "avg:bench.requests{*}", "", "", now);
        state.autogen = false;
        state.active = true;
        state.valid = true;
        state.error = None;
        state.value = value_of(i);
        state.data_time = Some(now);
        store.set(state, Writer::Controller);
    }
}

/// What a pass checks in each reply.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Status 200 only (the measured passes: the same cheap check for both services).
    Status,
    /// Status 200 and the metric's value in the body.
    Value,
}

impl Check {
    /// Judges the reply to request `i`.
    fn reply(self, i: usize, status: u16, body: &[u8]) -> anyhow::Result<()> {
        let expected = match self {
            Check::Status => None,
            Check::Value => Some(format!("\"value\":\"{}\"", format_quantity(value_of(i)))),
        };
        let has_value = expected.as_ref().is_none_or(|v| body.windows(v.len()).any(|w| w == v.as_bytes()));
        if status != 200 || !has_value {
            bail!("{}", String::from_utf8_lossy(body));
        }
        Ok(())
    }
}

struct Setup {
    app: SecureApp,
    peer: PeerCertificates,
    requests: Vec<Vec<u8>>,
    /// What the bare service answers (metric 0's reply body).
    body: Bytes,
}

impl Setup {
    fn ours(&self) -> autoscaling_apiserver::server::SecureService {
        self.app.connection(self.peer.clone())
    }
}

type BareReply = Result<Response<Full<Bytes>>, std::convert::Infallible>;

/// The baseline: the same bytes as metric 0's reply, whatever was asked.
fn bare(
    body: Bytes,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = std::convert::Infallible,
    Future = std::future::Ready<BareReply>,
> + 'static {
    hyper::service::service_fn(move |_req: Request<Incoming>| {
        let mut resp = Response::new(Full::new(body.clone()));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        std::future::ready(Ok(resp))
    })
}

#[inline(never)]
fn measure_ours(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    rt.block_on(exchange(setup.ours(), &setup.requests, 0, count, |i, s, b| Check::Status.reply(i, s, b)))?;
    Ok(t.elapsed())
}

#[inline(never)]
fn measure_bare(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    rt.block_on(exchange(bare(setup.body.clone()), &setup.requests, 0, count, |i, s, b| Check::Status.reply(i, s, b)))?;
    Ok(t.elapsed())
}

/// devcluster, RBAC, the filled store and our app, the authentication ConfigMap synced.
async fn set_up(params: &Params, stop: watch::Receiver<bool>) -> anyhow::Result<(DevCluster, Setup)> {
    let dc = DevCluster::start(Config::default()).await?;
    let client = dc.client().await?;
    allow_hpa_external_metrics(&client).await?;
    let (store, _changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    fill(&store, params.metrics);
    let mut config = ProviderConfig::from_settings(&Settings::defaults())?;
    // Values stay fresh through a slow run under valgrind (the default max age is minutes).
    config.metrics_max_age = Duration::from_secs(24 * 3600);
    let provider = Arc::new(DatadogMetricProvider::serving(store, config));
    let authz = AuthzOptions { allowed_ttl: Duration::from_secs(3600), ..AuthzOptions::default() };
    let app = SecureApp::new(client, provider, AuthnOptions::default(), authz, Vec::new(), Webhooks::default(), stop);
    let identity = dc.front_proxy_identity_pem();
    let chain = CertificateDer::pem_slice_iter(identity.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("front-proxy identity PEM")?;
    let peer = PeerCertificates(Arc::new(chain));
    let requests = (0..params.metrics)
        .map(|i| {
            let (ns, name) = (namespace_of(i), name_of(i));
            request_bytes(
                &format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/datadogmetric@{ns}:{name}"),
                true,
            )
        })
        .collect();
    let mut setup = Setup { app, peer, requests, body: Bytes::new() };
    setup.body = first_reply(&setup).await?;
    Ok((dc, setup))
}

/// Metric 0's reply body, once the authentication ConfigMap is synced (401 before).
async fn first_reply(setup: &Setup) -> anyhow::Result<Bytes> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let builder = auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(server_io), setup.ours());
        let mut client = Client::new(client_io);
        let reply = async move {
            let (status, body) = client.round_trip(&setup.requests[0]).await?;
            anyhow::Ok((status, Bytes::copy_from_slice(body)))
        };
        let (_, reply) = tokio::join!(conn, reply);
        let (status, body) = reply?;
        if status == 200 {
            return Ok(body);
        }
        if Instant::now() > deadline {
            bail!("metric 0 still answered {status} after 60 s: {}", String::from_utf8_lossy(&body));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn per_request(d: Duration, count: usize) -> f64 {
    d.as_secs_f64() * 1e9 / count as f64
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let params = Params::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (stop_tx, stop) = watch::channel(false);
    let (dc, setup) = rt.block_on(set_up(&params, stop))?;
    println!("{} DatadogMetrics in the store; metric 0's reply ({} bytes):", params.metrics, setup.body.len());
    println!("{}", String::from_utf8_lossy(&setup.body));

    let t = Instant::now();
    rt.block_on(exchange(setup.ours(), &setup.requests, 0, params.metrics, |i, s, b| Check::Value.reply(i, s, b)))?;
    println!(
        "warm-up: {} requests (one SubjectAccessReview each, values checked) in {:.2} s",
        params.metrics,
        t.elapsed().as_secs_f64()
    );

    println!("measured: {} requests per pass, rotating over {} names, one connection", params.requests, params.metrics);
    for round in 0..params.rounds {
        let ours = measure_ours(&rt, &setup, params.requests)?;
        let bare = measure_bare(&rt, &setup, params.requests)?;
        let (o, b) = (per_request(ours, params.requests), per_request(bare, params.requests));
        println!("round {round}: ours {o:.0} ns/request, bare {b:.0} ns/request, ours - bare {:.0} ns", o - b);
    }

    let _ = stop_tx.send(true);
    rt.block_on(dc.shutdown());
    Ok(())
}
