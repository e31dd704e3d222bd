//! API server throughput and latency on the external metric endpoint (issue #3), next to a bare
//! hyper + rustls server in the same process returning the same bytes, in the same run.
//!
//! Setup: devcluster (in-process kube-apiserver), the extension-apiserver-authentication ConfigMap
//! with a front-proxy CA, RBAC letting the HPA ServiceAccount get/list external metrics, then
//! `server::start` with a constant provider. Every load request is what the aggregator forwards for
//! the HPA: front-proxy client certificate (CN front-proxy-client) + X-Remote-User/-Group headers,
//! so each request is authenticated (request headers) and authorized (SubjectAccessReview, cached
//! after the first request).
//!
//! Load client: a minimal HTTP/1.1 keep-alive client over tokio-rustls (no HTTP library, to keep
//! the client's share of the two cores small), C connections each issuing sequential requests, on
//! the same tokio runtime as both servers. Modes, each run alternately ours / bare / ours / bare:
//! closed-loop (fixed request count, as fast as possible) and open-loop (fixed rate, fixed time).
//!
//! Also printed: `start()` -> first `/readyz` 200 in process; handshake and first requests on fresh
//! connections (ours, bare, bare with TCP_NODELAY); the real binary (`serve` against devcluster)
//! from spawn to `/readyz` 200; the cost of one `ClientCaStore::verify` call; the server's
//! request and auth-cache counters from its metrics port.
//!
//! The client, the bare server, the load loops and the setup live in benches/common/ (shared with
//! benches/external_metrics.rs).
//!
//! Run: `cargo bench --bench server`. Prints figures; asserts only that responses are correct.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::server::tls::ClientCaStore;
use autoscaling_apiserver::server::{ExternalMetricValue, MetricsProvider, ProviderError, start};
use rustls::ClientConfig;

use common::bare::start_bare_servers;
use common::certs::{Ca, Leaf};
use common::client::{Conn, HPA_USER, Workload, request_bytes};
use common::load::{LoadParams, Target, compare, fresh_connection};
use common::setup::{ClientTls, allow_hpa_external_metrics, scrape, serve_config, trust_bench_cas, wait_ready};

/// Shared with benches/external_metrics.rs; each bench uses part of it.
#[allow(dead_code)]
#[path = "common"]
mod common {
    pub mod bare;
    pub mod certs;
    pub mod client;
    pub mod load;
    pub mod setup;
}

const METRIC: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps";

// ---------------------------------------------------------------------------------------------
// Provider

struct ConstProvider;

impl MetricsProvider for ConstProvider {
    fn get(&self, _ns: &str, metric: &str, _s: &LabelSelector) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            metric_labels: None,
            timestamp: "2026-11-23T10:00:00Z".into(),
            window: None,
            value: "42".into(),
        }])
    }
}

// ---------------------------------------------------------------------------------------------
// Process start

/// The real binary: `autoscaling-apiserver serve` against devcluster, from spawn to the first
/// `/readyz` 200 (polled every 1 ms; connection refused until the listener is bound).
struct StartRun {
    /// Spawn -> TLS handshake done on the first accepted connection.
    listening: Duration,
    /// Spawn -> /readyz 200.
    ready: Duration,
    /// Round trip of the first /readyz request on that connection.
    first_rt: Duration,
    polls: usize,
}

async fn install_datadogmetric_crd(dc: &DevCluster) -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/01-crd-datadogmetrics.yaml");
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&std::fs::read_to_string(path)?)?;
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(dc.client().await?);
    crds.create(&Default::default(), &crd).await?;
    let established = kube::runtime::wait::conditions::is_crd_established();
    let name = "datadogmetrics.datadoghq.com";
    tokio::time::timeout(Duration::from_secs(10), kube::runtime::wait::await_condition(crds, name, established))
        .await??;
    Ok(())
}

async fn process_start(dc: &DevCluster, serving: &Leaf, config: Arc<ClientConfig>) -> anyhow::Result<Vec<StartRun>> {
    // `serve` runs the DatadogMetric provider: /readyz waits for its first list, so the CRD
    // must be served (no DatadogMetric exists, so no Datadog call is made).
    install_datadogmetric_crd(dc).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("kubeconfig"), dc.kubeconfig_yaml())?;
    std::fs::write(dir.path().join("tls.crt"), &serving.cert_pem)?;
    std::fs::write(dir.path().join("tls.key"), &serving.key_pem)?;
    let readyz = request_bytes("/readyz", false);
    let mut times = Vec::new();
    for _ in 0..3 {
        let port = |l: std::net::TcpListener| l.local_addr().map(|a| a.port());
        let secure = port(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        let metrics = port(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        let addr: SocketAddr = ([127, 0, 0, 1], secure).into();
        let t0 = Instant::now();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autoscaling-apiserver"))
            .env_clear()
            .env("DD_API_KEY", "0123456789abcdef0123456789abcdef")
            .env("DD_APP_KEY", "0123456789abcdef0123456789abcdef01234567")
            .env("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "http://127.0.0.1:9")
            .args(["--log-level", "error", "serve", "--bind-address", "127.0.0.1"])
            .arg("--kubeconfig")
            .arg(dir.path().join("kubeconfig"))
            .arg("--cert-dir")
            .arg(dir.path())
            .args(["--secure-port", &secure.to_string(), "--metrics-port", &metrics.to_string()])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        // Connect (refused until the listener is bound), then poll on that one keep-alive
        // connection, so at most its first request can meet the Nagle stall.
        let mut conn = None;
        let (mut listening, mut first_rt, mut polls) = (Duration::ZERO, Duration::ZERO, 0);
        let ready = loop {
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("serve: /readyz not 200 within 10 s");
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("serve exited early: {status}");
            }
            if conn.is_none() {
                conn = Conn::connect(addr, config.clone()).await.ok();
                listening = t0.elapsed();
            }
            if let Some(c) = conn.as_mut() {
                let t = Instant::now();
                let reply = c.round_trip(&readyz).await;
                polls += 1;
                if polls == 1 {
                    first_rt = t.elapsed();
                }
                match reply {
                    Ok(r) if r.status == 200 => break t0.elapsed(),
                    Ok(_) => {}
                    Err(_) => conn = None,
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        times.push(StartRun { listening, ready, first_rt, polls });
        child.kill().await?;
    }
    Ok(times)
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!(
        "machine: {} CPUs visible; devcluster, API server, bare server and load client share one tokio runtime",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // --- devcluster, auth ConfigMap, RBAC for the HPA ServiceAccount
    let dc = DevCluster::start(Config::default()).await?;
    let kube_client = dc.client().await?;
    let (front_proxy, client_ca) = (Ca::new("front-proxy-ca")?, Ca::new("client-ca")?);
    trust_bench_cas(&kube_client, &front_proxy, &client_ca).await?;
    allow_hpa_external_metrics(&kube_client).await?;

    // --- start() → first /readyz 200
    let t0 = Instant::now();
    let server = start(serve_config()?, kube_client, Arc::new(ConstProvider)).await?;
    let started_in = t0.elapsed();

    // One client config trusts both servers' CAs and presents the front-proxy client certificate.
    let bare_ca = Ca::new("bare-server-ca")?;
    let tls = ClientTls::new(server.ca_pem.as_deref(), &bare_ca, &front_proxy)?;
    let ready = wait_ready(server.secure_addr, tls.anon.clone(), t0, Duration::from_secs(10)).await?;
    println!("\n== start-up (in process; devcluster already running, so the ConfigMap sync is a local list)");
    println!("server::start() returned in {:.2} ms", started_in.as_secs_f64() * 1e3);
    println!("first TLS connection to the secure port established at {:.2} ms", ready.connected_in.as_secs_f64() * 1e3);
    println!(
        "first /readyz 200 at {:.2} ms after calling start() ({} poll(s), 1 ms apart; the first poll's \
         round trip alone took {:.2} ms)",
        ready.ready_in.as_secs_f64() * 1e3,
        ready.polls,
        ready.first_poll.as_secs_f64() * 1e3
    );

    // --- warm the auth caches; fetch the response our server sends
    let request = request_bytes(METRIC, true);
    let mut first = Conn::connect(server.secure_addr, tls.client.clone()).await?;
    let t = Instant::now();
    let reply = first.round_trip(&request).await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    if reply.status != 200 {
        bail!("metric request as the HPA: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let t = Instant::now();
    let second = first.round_trip(&request).await?;
    let second_ms = t.elapsed().as_secs_f64() * 1e3;
    let work = Workload::single(request, reply.body.clone());
    work.check(0, &second)?;
    println!("\n== auth warm-up (user {HPA_USER} via front-proxy cert, RBAC-allowed)");
    println!("first metric request (authorization = SubjectAccessReview to devcluster): {first_ms:.2} ms");
    println!("second metric request (authorization decision from the 5 min allow cache): {second_ms:.2} ms");
    println!("all load requests below hit the cached decision");
    println!("response ({} body bytes):\n{}", reply.body.len(), reply.head.trim_end());
    println!("{}", String::from_utf8_lossy(&reply.body));

    // --- bare server with the same headers (minus those hyper sets itself) and body
    let bare_servers = start_bare_servers(&reply, &bare_ca, &front_proxy, &client_ca).await?;
    let ours = Target { name: "ours", addr: server.secure_addr, work: work.clone() };
    let bare = Target { name: "bare", addr: bare_servers.addr, work: work.clone() };
    let mut bare_check = Conn::connect(bare.addr, tls.client.clone()).await?;
    let bare_reply = bare_check.round_trip(work.item(0).0).await?;
    work.check(0, &bare_reply)?;
    println!("bare server response head:\n{}", bare_reply.head.trim_end());

    println!("\n== fresh connections (front-proxy cert; neither server sets TCP_NODELAY, the client does)");
    let bare_nodelay = Target { name: "bare with TCP_NODELAY", addr: bare_servers.nodelay_addr, work };
    for t in [&ours, &bare, &bare_nodelay] {
        println!("{}: {}", t.name, fresh_connection(t, tls.client.clone()).await?);
    }
    println!("(a ~40 ms first request is Nagle holding the response behind the unacknowledged TLS 1.3");
    println!(" session tickets until the client's delayed ACK; it depends on timing, so not every time)");

    // --- closed loop, open loop
    let figures = compare(&ours, &bare, &tls.client, LoadParams::from_env()?).await?;
    let (o, b) = (figures.ours_rps, figures.bare_rps);

    println!("\n== process start: `autoscaling-apiserver serve` (release binary) against the running devcluster");
    let times = process_start(&dc, &bare_servers.leaf, tls.anon.clone()).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (i, r) in times.iter().enumerate() {
        println!(
            "run {i}: spawn -> TLS handshake done {:.1} ms; spawn -> /readyz 200 {:.1} ms ({} poll(s); the first \
             poll's round trip {:.1} ms); includes the ConfigMap sync",
            ms(r.listening),
            ms(r.ready),
            r.polls,
            ms(r.first_rt)
        );
    }

    println!("\n== where our time goes: ClientCaStore::verify (the gate re-verifies the client chain per request)");
    let store = ClientCaStore::new();
    store.set(Some(&client_ca.pem()), Some(&front_proxy.pem()))?;
    let chain = [tls.front_proxy_leaf.cert.clone()];
    let n = 5_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(store.verify(std::hint::black_box(&chain)));
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{n} calls, {per:.1} us per call on one core (front-proxy leaf, both CA bundles set)");
    println!(
        "core time per request incl. client (2 cores x wall / requests, closed loop): ours {:.1} us, bare {:.1} us",
        2e6 / o,
        2e6 / b
    );

    // The metrics port (plain HTTP), as Prometheus scrapes it: request and auth-cache counters.
    println!("\nour server's counters:");
    for line in scrape(server.metrics_addr, &["http_requests_total{", "auth_cache_lookups_total{"]).await? {
        println!("  {line}");
    }
    server.shutdown().await;
    dc.shutdown().await;
    Ok(())
}
