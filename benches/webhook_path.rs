//! Instruction-count driver for the `/autoscaling` admission webhook (issue #6), in one process
//! with no sockets on the measured path: our secure port's per-connection service (`SecureApp`,
//! what the TLS listener serves) with the real webhook, and a bare `service_fn` that reads the
//! review body to its end and answers our reply's bytes, each behind hyper-util's `auto::Builder`
//! on an in-memory duplex stream (`benches/common/duplex.rs`, shared with `read_path.rs`).
//!
//! Setup (not measured): devcluster in process (only for the `kube::Client` `SecureApp` watches
//! the authentication ConfigMap with: webhooks are served ahead of the authentication gate), a
//! DPA store holding `WEBHOOK_PATH_DPAS` (default 1,000) DPAs as the workload bench creates them
//! (`benches/workload/fleet.rs`: DPA `i > 0` on Deployment `app-<i>`, DPA 0 on `large-0`) plus
//! `bench-0/checkout` with the vertical target the bench's feed gives it, the gate open. Requests are
//! the workload bench's two reviews (`benches/workload/admission.rs`, ≈ 3 KiB: a defaulted
//! ReplicaSet pod with managedFields, volumes, probes, tolerations): **target**, a pod of
//! `checkout`'s ReplicaSet (patched: `autoscaler-id`, `rec-id`, requests and limits), and
//! **other**, a pod of a Deployment no DPA targets (allowed, no patch). One warm-up request of
//! each checks the reply (status, the patch carries `rec-id` or there is no patch); bare then
//! answers exactly those bytes, and every measured reply is compared byte for byte with them.
//!
//! Measured: `measure_ours_target`, `measure_ours_other`, `measure_bare_target`,
//! `measure_bare_other` each push `WEBHOOK_PATH_REQUESTS` (default 20,000) reviews of one kind
//! through one keep-alive connection and print ns/request; `WEBHOOK_PATH_ROUNDS` (default 3)
//! repeats them.
//!
//! Run natively: `cargo bench --bench webhook_path` (ns/request; noisy on a shared machine).
//! Instructions per request (repeatable on a busy machine):
//!
//! ```text
//! cargo bench --bench webhook_path --no-run   # prints the binary's path
//! WEBHOOK_PATH_REQUESTS=3000 WEBHOOK_PATH_ROUNDS=1 valgrind --tool=callgrind \
//!     --toggle-collect='webhook_path::measure_*' --callgrind-out-file=/tmp/wp.out target/release/deps/webhook_path-<hash>
//! callgrind_annotate --inclusive=yes /tmp/wp.out | grep -E 'measure_(ours|bare)_(target|other) \['   # ÷ 3000
//! # where ours' instructions go, one review kind at a time:
//! valgrind --tool=callgrind --toggle-collect='webhook_path::measure_ours_target' ... ; callgrind_annotate --inclusive=yes
//! ```
//!
//! Fails when a reply is wrong (status, patch, or bytes differing from the warm-up's).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::devcluster::{Config, DevCluster};

use autoscaling_apiserver::external_metrics::datadogmetric::{
    DatadogMetricProvider, DatadogMetricStore, ProviderConfig,
};
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::PeerCertificates;
use autoscaling_apiserver::server::{MetricsProvider, SecureApp, Webhooks};
use autoscaling_apiserver::workload::crd::DatadogPodAutoscaler;
use autoscaling_apiserver::workload::{AutoscalingGate, DpaEntry, DpaStore, WebhookState};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::watch;

#[allow(dead_code)]
#[path = "common"]
mod common {
    pub mod client;
    pub mod duplex;
}

#[allow(dead_code)]
#[path = "workload"]
mod workload {
    pub mod admission;
    pub mod fleet;
}

use common::duplex::{env_count, exchange};
use workload::{admission, fleet};

struct Params {
    dpas: usize,
    requests: usize,
    rounds: usize,
}

impl Params {
    fn from_env() -> anyhow::Result<Self> {
        Ok(Params {
            dpas: env_count("WEBHOOK_PATH_DPAS", 1_000)?,
            requests: env_count("WEBHOOK_PATH_REQUESTS", 20_000)?,
            rounds: env_count("WEBHOOK_PATH_ROUNDS", 3)?,
        })
    }
}

/// `checkout`'s DPA with the vertical target the controller writes from the bench's feed values
/// (`fleet::write_checkout_values`).
fn checkout_dpa() -> Value {
    let mut dpa = fleet::dpa("bench-0", fleet::CHECKOUT, fleet::CHECKOUT);
    dpa["status"] = json!({"vertical": {"target": {"source": "Autoscaling", "version": "5d8f2c7a91b3e460",
        "podCPURequest": "250m", "podMemoryRequest": "300Mi",
        "desiredResources": [{"name": "app", "requests": {"cpu": "250m", "memory": "300Mi"},
            "limits": {"memory": "600Mi"}}]}}});
    dpa
}

fn entry(obj: Value) -> anyhow::Result<DpaEntry> {
    let dpa: DatadogPodAutoscaler = serde_json::from_value(obj).context("bench DPA")?;
    DpaEntry::from_object(&dpa).map_err(anyhow::Error::msg)
}

/// One review kind: its request bytes and the reply our server gave in the warm-up.
struct Kind {
    request: Vec<Vec<u8>>,
    reply: Bytes,
}

struct Setup {
    app: SecureApp,
    target: Kind,
    other: Kind,
}

impl Setup {
    fn ours(&self) -> autoscaling_apiserver::server::SecureService {
        // kube-apiserver's webhook client presents no certificate.
        self.app.connection(PeerCertificates(Arc::new(Vec::new())))
    }
}

type BareReply = Result<Response<Full<Bytes>>, std::convert::Infallible>;

/// The baseline: reads the review to its end, answers `body`.
fn bare(
    body: Bytes,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = std::convert::Infallible,
    Future = std::pin::Pin<Box<dyn std::future::Future<Output = BareReply> + Send>>,
> + 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let body = body.clone();
        Box::pin(async move {
            let _ = req.into_body().collect().await;
            let mut resp = Response::new(Full::new(body));
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(resp)
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = BareReply> + Send>>
    })
}

/// Status 200 and exactly the warm-up's bytes.
fn same(expected: &[u8]) -> impl Fn(usize, u16, &[u8]) -> anyhow::Result<()> + '_ {
    move |_, status, body| {
        if status != 200 || body != expected {
            bail!("not the warm-up's reply: {}", String::from_utf8_lossy(body));
        }
        Ok(())
    }
}

#[inline(never)]
fn measure_ours_target(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    rt.block_on(exchange(setup.ours(), &setup.target.request, 0, count, same(&setup.target.reply)))?;
    Ok(t.elapsed())
}

#[inline(never)]
fn measure_ours_other(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    rt.block_on(exchange(setup.ours(), &setup.other.request, 0, count, same(&setup.other.reply)))?;
    Ok(t.elapsed())
}

#[inline(never)]
fn measure_bare_target(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let service = bare(setup.target.reply.clone());
    rt.block_on(exchange(service, &setup.target.request, 0, count, same(&setup.target.reply)))?;
    Ok(t.elapsed())
}

#[inline(never)]
fn measure_bare_other(rt: &tokio::runtime::Runtime, setup: &Setup, count: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let service = bare(setup.other.reply.clone());
    rt.block_on(exchange(service, &setup.other.request, 0, count, same(&setup.other.reply)))?;
    Ok(t.elapsed())
}

/// Our reply to `request`, checked: 200, and a patch carrying `rec-id` iff `patched`.
async fn warm_up(app: &SecureApp, request: Vec<u8>, patched: bool) -> anyhow::Result<Kind> {
    let service = app.connection(PeerCertificates(Arc::new(Vec::new())));
    let reply = std::sync::Mutex::new(Bytes::new());
    let requests = vec![request];
    exchange(service, &requests, 0, 1, |_, status, body| {
        if status != 200 {
            bail!("{}", String::from_utf8_lossy(body));
        }
        let response: Value = serde_json::from_slice(body).context("response review")?;
        let ops = admission::patch_of(&response)?;
        let has_rec_id = ops.iter().any(|op| op["path"].as_str().is_some_and(|p| p.contains("rec-id")));
        if has_rec_id != patched || (!patched && !ops.is_empty()) {
            bail!("unexpected answer (patched: {patched}): {response}");
        }
        *reply.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Bytes::copy_from_slice(body);
        Ok(())
    })
    .await?;
    let reply = reply.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(Kind { request: requests, reply })
}

async fn set_up(params: &Params, stop: watch::Receiver<bool>) -> anyhow::Result<(DevCluster, Setup)> {
    let dc = DevCluster::start(Config::default()).await?;
    let client = dc.client().await?;
    let dpas = Arc::new(DpaStore::default());
    let mut entries = vec![entry(checkout_dpa())?];
    for i in 0..params.dpas.saturating_sub(1) {
        entries.push(entry(fleet::dpa_number(i))?);
    }
    dpas.replace_all(entries);
    let gate = Arc::new(AutoscalingGate::default());
    gate.open("webhook_path driver");
    let webhooks = Webhooks::default().with("/autoscaling", Arc::new(WebhookState { gate, dpas }));
    // The provider is never asked: only webhook requests are sent.
    let (store, _changes) = DatadogMetricStore::new();
    let config = ProviderConfig::from_settings(&autoscaling_apiserver::config::Settings::defaults())?;
    let provider: Arc<dyn MetricsProvider> = Arc::new(DatadogMetricProvider::serving(Arc::new(store), config));
    let app =
        SecureApp::new(client, provider, AuthnOptions::default(), AuthzOptions::default(), Vec::new(), webhooks, stop);
    let review = admission::review("bench-0", fleet::CHECKOUT, "6b7c9d5f4", "2f7a3c0e-1d5b-4e8a-9c6f-0a1b2c3d4e5f");
    let target = warm_up(&app, admission::request(&serde_json::to_vec(&review)?), true).await?;
    let other = params.dpas.max(fleet::PODS_PER_DEPLOYMENT);
    let review = admission::review(
        &fleet::namespace_of(other),
        &format!("app-{other}"),
        "6b7c9d5f4",
        "7c1d2e3f-4a5b-4c6d-8e9f-1a2b3c4d5e6f",
    );
    let other = warm_up(&app, admission::request(&serde_json::to_vec(&review)?), false).await?;
    Ok((dc, Setup { app, target, other }))
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
    for (name, kind) in [("target", &setup.target), ("other", &setup.other)] {
        println!(
            "{name}: request {} bytes, reply {} bytes: {}",
            kind.request[0].len(),
            kind.reply.len(),
            String::from_utf8_lossy(&kind.reply)
        );
    }
    println!("{} DPAs in the store; measured: {} reviews per pass, one connection", params.dpas, params.requests);
    for round in 0..params.rounds {
        let n = params.requests;
        let ours_target = per_request(measure_ours_target(&rt, &setup, n)?, n);
        let bare_target = per_request(measure_bare_target(&rt, &setup, n)?, n);
        let ours_other = per_request(measure_ours_other(&rt, &setup, n)?, n);
        let bare_other = per_request(measure_bare_other(&rt, &setup, n)?, n);
        println!(
            "round {round}: target ours {ours_target:.0} / bare {bare_target:.0} ns/review; \
             other ours {ours_other:.0} / bare {bare_other:.0} ns/review"
        );
    }
    let _ = stop_tx.send(true);
    rt.block_on(dc.shutdown());
    Ok(())
}
