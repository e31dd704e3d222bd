//! External metrics from DatadogMetrics (issue #5's benchmark), everything in one process on
//! 127.0.0.1: devcluster, the simulated Datadog API, the DatadogMetric provider, our API server,
//! the bare baseline and the load client, on one tokio runtime. `BENCH_SERVERS_RUNTIME=own` runs
//! our API server and the bare baseline on a second runtime of their own (2 workers), as a
//! server process has its own: then the client's and the servers' four workers share the two
//! cores through the OS (BENCHMARKS.md, issue #5, session 7: the two arrangements give different
//! ratios); `BENCH_SERVERS_WORKERS` sets that runtime's workers (default 2).
//! `BENCH_CLIENT=process` runs the load client in a child process of its own (this binary again,
//! `common/child.rs`), so the servers share the cores with another process, as with kube-apiserver;
//! it then reports the CPU per request of the whole server process (or of its `servers` threads
//! with `BENCH_SERVERS_RUNTIME=own`).
//!
//! Part 1 — refresh: 1,000 DatadogMetrics (created through the API over 4 namespaces, annotated
//! always-active) using 100 distinct queries served by the simulated API; the provider
//! (`datadogmetric::start`, leader election, `DatadogClient` from the DCA settings) refreshes them
//! every `BENCH_REFRESH_SECS`. Per refresh: the Datadog HTTP calls (the simulator's counter, read
//! around the retriever's querier call; target <= 3), the Datadog phase (querier call start ->
//! results), and the refresh wall time from the querier call (the client's first HTTP request
//! follows it immediately) to the last status write of that refresh seen by a watch. The provider
//! does not expose its own timing (it logs only the Datadog phase at debug level). Also: time
//! until all 1,000 are Valid.
//!
//! Part 2 — reads: 9,000 more (10,000 in the store), refreshed once by the leader (its refresh
//! with 10,000 metrics is reported too), then the leader stops and a fresh replica (refresh period
//! 1 h, so no refresh and its 10,000 status writes land in the measurement) syncs them from their
//! statuses and serves them through `server::start`. Load as in benches/server.rs (front-proxy
//! client certificate + X-Remote-* headers of the HPA ServiceAccount, TLS 1.3, keep-alive), each
//! connection rotating over all 10,000 metric names, every reply checked for its metric's value;
//! first one pass over every name (each a SubjectAccessReview: the authorization cache is keyed by
//! metric name), then closed loop and open loop (2,000 req/s) next to the bare baseline.
//!
//! Run: `cargo bench --bench external_metrics`; `BENCH_SCALE=0.1` divides every count by 10
//! (`BENCH_REFRESH_SECS`, default 10, and `BENCH_CYCLES`, default 4, set the refresh part;
//! `BENCH_WORKERS` sets the leader's `external_metrics_provider.num_workers`, the status writes in
//! flight at once, default the product's 2).
//! Prints figures; fails only when something is wrong (a reply, a missing status, a deadline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::config::{self, Settings};
use autoscaling_apiserver::datadog::{ClientConfig as DatadogClientConfig, DatadogClient};
use autoscaling_apiserver::devcluster::datadog_api::{DatadogApi, DatadogApiConfig};
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::external_metrics::datadogmetric::{self, RunningProvider};
use autoscaling_apiserver::server::start;
use bytes::Bytes;
use tokio::sync::watch;

use common::bare::start_bare_servers;
use common::certs::Ca;
use common::child;
use common::client::{Conn, Expect, Workload, request_bytes};
use common::load::{LoadParams, Target, closed_loop, compare, connect_all};
use common::setup::{
    ClientTls, allow_hpa_external_metrics, buckets_since, latency_buckets, scrape, serve_config, trust_bench_cas,
    wait_ready,
};
use external_metrics::fleet::{self, RESOURCES_NS};
use external_metrics::querier::RecordingQuerier;
use external_metrics::refresh;
use external_metrics::tracker::Tracker;

/// Shared with benches/server.rs; each bench uses part of it.
#[allow(dead_code)]
#[path = "common"]
mod common {
    pub mod bare;
    pub mod certs;
    pub mod child;
    pub mod client;
    pub mod load;
    pub mod setup;
}

#[path = "external_metrics"]
mod external_metrics {
    pub mod fleet;
    pub mod querier;
    pub mod refresh;
    pub mod tracker;
}

struct Sizes {
    refresh_metrics: usize,
    queries: usize,
    store_metrics: usize,
    refresh: Duration,
    cycles: usize,
    workers: Option<usize>,
}

fn env_number(key: &str, default: f64) -> anyhow::Result<f64> {
    match std::env::var(key) {
        Ok(text) => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => bail!("{key}={text:?} is not a positive number"),
        },
        Err(_) => Ok(default),
    }
}

impl Sizes {
    fn from_env() -> anyhow::Result<Sizes> {
        let scale = env_number("BENCH_SCALE", 1.0)?;
        let count = |n: f64| ((n * scale).round() as usize).max(1);
        let refresh_metrics = count(1_000.0);
        Ok(Sizes {
            refresh_metrics,
            queries: count(100.0).min(refresh_metrics),
            store_metrics: count(10_000.0).max(refresh_metrics),
            refresh: Duration::from_secs_f64(env_number("BENCH_REFRESH_SECS", 10.0)?),
            cycles: env_number("BENCH_CYCLES", 4.0)?.round().max(1.0) as usize,
            workers: match std::env::var("BENCH_WORKERS") {
                Ok(_) => Some(env_number("BENCH_WORKERS", 2.0)?.round().max(1.0) as usize),
                Err(_) => None,
            },
        })
    }
}

/// One replica's DCA settings: the simulated API as the endpoint, max_age 900 s (the
/// values refreshed in part 2 must stay fresh through the read measurement).
fn settings(pod: &str, refresh: Duration, api: &DatadogApi, workers: Option<usize>) -> anyhow::Result<Settings> {
    let mut env = vec![
        ("DD_POD_NAME", pod.to_owned()),
        ("DD_KUBE_RESOURCES_NAMESPACE", RESOURCES_NS.to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "true".to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD", refresh.as_secs_f64().to_string()),
        ("DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE", "900".to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", api.url()),
        ("DD_API_KEY", api.api_key().to_owned()),
        ("DD_APP_KEY", api.app_key().to_owned()),
    ];
    if let Some(workers) = workers {
        env.push(("DD_EXTERNAL_METRICS_PROVIDER_NUM_WORKERS", workers.to_string()));
    }
    let (settings, diagnostics) = config::load(None, env.into_iter().map(|(k, v)| (k.to_owned(), v)), &[])?;
    if !diagnostics.is_empty() {
        bail!("settings of {pod}: {diagnostics:?}");
    }
    Ok(settings)
}

struct Replica {
    running: RunningProvider,
    stop: watch::Sender<bool>,
}

fn replica(client: &kube::Client, settings: &Settings, querier: Arc<RecordingQuerier>) -> anyhow::Result<Replica> {
    let (stop, stopped) = watch::channel(false);
    let running = datadogmetric::start(client.clone(), settings, querier, stopped)?;
    Ok(Replica { running, stop })
}

impl Replica {
    async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(60), self.running.task)
            .await
            .context("provider did not stop within 60 s")?
            .context("provider task")
    }
}

/// Polls `probe` every 50 ms until `Some`, failing with `what` after `limit`.
async fn until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// `BENCH_SERVERS_RUNTIME`: `shared` (default) or `own` (see the module docs).
fn servers_runtime() -> anyhow::Result<Option<tokio::runtime::Runtime>> {
    match std::env::var("BENCH_SERVERS_RUNTIME").as_deref() {
        Err(_) | Ok("shared") => Ok(None),
        Ok("own") => {
            let workers = env_number("BENCH_SERVERS_WORKERS", 2.0)?.round().max(1.0) as usize;
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            Ok(Some(rt.worker_threads(workers).thread_name("servers").enable_all().build()?))
        }
        Ok(other) => bail!("BENCH_SERVERS_RUNTIME={other:?}: expected `shared` or `own`"),
    }
}

/// Runs a server's start on `rt` when there is one (entered with `block_on`, so every task the
/// server spawns — accept loops, connections — runs there), else on the current runtime.
async fn on<F: std::future::Future>(rt: Option<&tokio::runtime::Runtime>, start: F) -> F::Output {
    match rt {
        Some(rt) => tokio::task::block_in_place(|| rt.block_on(start)),
        None => start.await,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(job) = std::env::var_os(child::CHILD) {
        return child::run(std::path::Path::new(&job)).await;
    }
    let in_child = child::client_in_process()?;
    let sizes = Sizes::from_env()?;
    let servers_rt = servers_runtime()?;
    println!(
        "machine: {} CPUs visible; devcluster, simulated Datadog API, provider and load client share one tokio \
         runtime, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if servers_rt.is_some() {
            "our API server and the bare server run on a second one (2 workers; BENCH_SERVERS_RUNTIME=own)"
        } else {
            "and so do our API server and the bare server"
        }
    );
    println!(
        "sizes: {} DatadogMetrics over {} distinct queries for the refresh part, {} in the store for reads; \
         refresh period {}, {} measured refreshes; leader's status writes in flight: {}",
        sizes.refresh_metrics,
        sizes.queries,
        sizes.store_metrics,
        secs(sizes.refresh),
        sizes.cycles,
        sizes.workers.map_or("the default num_workers".to_owned(), |w| w.to_string())
    );

    let dc = DevCluster::start(Config::default()).await?;
    let client = dc.client().await?;
    let (front_proxy, client_ca) = (Ca::new("front-proxy-ca")?, Ca::new("client-ca")?);
    trust_bench_cas(&client, &front_proxy, &client_ca).await?;
    allow_hpa_external_metrics(&client).await?;
    fleet::install(&client).await?;
    let api = Arc::new(
        DatadogApi::start(DatadogApiConfig { series: fleet::series(sizes.queries), ..Default::default() }).await?,
    );

    // --- part 1: refresh
    let t = Instant::now();
    fleet::create(&client, 0..sizes.refresh_metrics, sizes.queries).await?;
    println!("\n== refresh: {} DatadogMetrics created through the API in {}", sizes.refresh_metrics, secs(t.elapsed()));
    let tracker = Tracker::spawn(&client);
    let leader_settings = settings("bench-leader", sizes.refresh, &api, sizes.workers)?;
    let querier =
        RecordingQuerier::new(DatadogClient::new(DatadogClientConfig::from_settings(&leader_settings)?)?, api.clone());
    let started = Instant::now();
    let leader = replica(&client, &leader_settings, querier.clone())?;
    let limit = sizes.refresh * 3 + Duration::from_secs(180);
    let all_valid = until("every DatadogMetric Valid", limit, || tracker.all_valid_at(sizes.refresh_metrics)).await?;
    let first_call = querier.log().first().map(|c| c.started).context("no Datadog query before all were Valid")?;
    println!(
        "provider start -> first Datadog call {} (the retriever's first tick is one refresh period after start)",
        secs(first_call - started)
    );
    println!(
        "first Datadog call -> all {} Valid (statuses seen by a watch) {}; provider start -> all Valid {}",
        sizes.refresh_metrics,
        secs(all_valid - first_call),
        secs(all_valid - started)
    );
    let cycles = refresh::measure(&querier, &tracker, sizes.refresh_metrics, 0, sizes.cycles, sizes.refresh).await?;
    refresh::report(&cycles, sizes.refresh_metrics);

    // --- part 2: 10,000 in the store
    let t = Instant::now();
    fleet::create(&client, sizes.refresh_metrics..sizes.store_metrics, sizes.queries).await?;
    let created = Instant::now();
    println!(
        "\n== {} DatadogMetrics: {} more created through the API in {}",
        sizes.store_metrics,
        sizes.store_metrics - sizes.refresh_metrics,
        secs(created - t)
    );
    let mark = querier.log().len();
    let limit = sizes.refresh * 3 + Duration::from_secs(600);
    let all_valid = until("every DatadogMetric Valid", limit, || tracker.all_valid_at(sizes.store_metrics)).await?;
    println!("creation done -> all {} Valid {}", sizes.store_metrics, secs(all_valid - created));
    let cycles = refresh::measure(&querier, &tracker, sizes.store_metrics, mark, 1, sizes.refresh).await?;
    refresh::report(&cycles, sizes.store_metrics);
    leader.shutdown().await?;
    let valid_seen = tracker.valid_count();
    tracker.stop();
    println!(
        "simulated Datadog API: {} calls in all, at most {} in flight; {valid_seen} DatadogMetrics Valid when the \
         leader stopped",
        api.calls(),
        api.max_in_flight()
    );

    // --- the serving replica: syncs the statuses, never refreshes during the measurement
    let serving_settings = settings("bench-serving", Duration::from_secs(3600), &api, None)?;
    let idle =
        RecordingQuerier::new(DatadogClient::new(DatadogClientConfig::from_settings(&serving_settings)?)?, api.clone());
    let t = Instant::now();
    let serving = replica(&client, &serving_settings, idle.clone())?;
    let provider = serving.running.provider.clone();
    let n = sizes.store_metrics;
    until("the serving replica's store", Duration::from_secs(300), || {
        (provider.is_synced() && provider.metrics().iter().filter(|m| m.valid).count() == n).then_some(())
    })
    .await?;
    println!("\n== reads: a new replica synced {n} valid DatadogMetrics from their statuses in {}", secs(t.elapsed()));

    let t0 = Instant::now();
    let server = on(servers_rt.as_ref(), start(serve_config()?, client.clone(), provider.clone())).await?;
    let bare_ca = Ca::new("bare-server-ca")?;
    let tls = ClientTls::new(server.ca_pem.as_deref(), &bare_ca, &front_proxy)?;
    wait_ready(server.secure_addr, tls.anon.clone(), t0, Duration::from_secs(30)).await?;

    let requests: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let (ns, name) = (fleet::namespace_of(i), fleet::name_of(i));
            request_bytes(
                &format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/datadogmetric@{ns}:{name}"),
                true,
            )
        })
        .collect();
    let expect: Vec<Expect> = (0..n)
        .map(|i| Expect::Contains(Bytes::from(format!("\"value\":\"{}\"", fleet::expected_value(i, sizes.queries)))))
        .collect();
    let work = Workload { requests: Arc::new(requests), expect: Arc::new(expect) };
    let mut first = Conn::connect(server.secure_addr, tls.client.clone()).await?;
    let reply = first.round_trip(work.item(0).0).await?;
    work.check(0, &reply)?;
    println!("response ({} body bytes):\n{}", reply.body.len(), String::from_utf8_lossy(&reply.body));

    let params = LoadParams::from_env()?;
    let ours = Target { name: "ours", addr: server.secure_addr, work: work.clone() };
    let t = Instant::now();
    let conns = connect_all(&ours, &tls.client, params.connections).await?;
    let per_conn = n.div_ceil(params.connections);
    let pass = closed_loop(conns, per_conn * params.connections, &work).await?;
    println!(
        "auth warm-up: one pass over all {n} metric names ({} requests, each name a SubjectAccessReview to \
         devcluster) in {}",
        pass.service.len(),
        secs(t.elapsed())
    );
    drop(pass);
    let counters = ["http_requests_total{", "auth_cache_lookups_total{"];
    let before = scrape(server.metrics_addr, &counters).await?;
    let before_latency = latency_buckets(server.metrics_addr, "metric").await?;

    let bare_servers = on(servers_rt.as_ref(), start_bare_servers(&reply, &bare_ca, &front_proxy, &client_ca)).await?;
    let bare_work =
        Workload { requests: work.requests.clone(), expect: Arc::new(vec![Expect::Body(reply.body.clone())]) };
    let bare = Target { name: "bare", addr: bare_servers.addr, work: bare_work };
    println!("load requests rotate over all {n} names; the bare server answers metric 0's bytes to each");
    let figures = if in_child {
        let roots = vec![server.ca_pem.clone().context("self-signed CA")?, bare_ca.pem()];
        child::compare_in_child(&ours, &bare, roots, &tls.front_proxy_leaf, params).await?
    } else {
        compare(&ours, &bare, &tls.client, params).await?
    };
    println!(
        "core time per request incl. client (2 cores x wall / requests, closed loop): ours {:.1} us, bare {:.1} us",
        2e6 / figures.ours_rps,
        2e6 / figures.bare_rps
    );
    let after = scrape(server.metrics_addr, &counters).await?;
    let latency = buckets_since(&before_latency, &latency_buckets(server.metrics_addr, "metric").await?);
    println!("\nour server's metric reads during the load runs, handler time (cumulative buckets; a client-side tail");
    println!("beyond the slowest bucket reached here is spent outside the handler: scheduling, TCP, TLS):");
    for (le, count) in latency {
        println!("  le {le} s: {count}");
    }
    println!("\nour server's counters before the load runs (after the warm-up pass):");
    for line in before {
        println!("  {line}");
    }
    println!("after them (authorization misses during the runs mean the decision cache did not hold every name):");
    for line in after {
        println!("  {line}");
    }
    if !idle.log().is_empty() {
        println!("note: the serving replica queried Datadog {} time(s) during the reads", idle.log().len());
    }

    server.shutdown().await;
    if let Some(rt) = servers_rt {
        rt.shutdown_background();
    }
    serving.shutdown().await?;
    dc.shutdown().await;
    Ok(())
}
