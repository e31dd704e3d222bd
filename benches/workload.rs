//! Workload autoscaling's memory and webhook figures (issue #6's benchmark, the seed's headline):
//! the release `autoscaling-apiserver serve` binary as a separate process against devcluster
//! (in this process) holding 50,000 pods in 20 namespaces.
//!
//! Cluster: the deploy/ CRDs; Deployments of 10 pods (`app-<n>`, round-robin over `bench-0..19`)
//! and one Deployment of 2,500 pods (`bench-0/large-0`), each with its ReplicaSet and Running,
//! Ready pods carrying the fields a real API server stores (populated straight into the store).
//!
//! Server: `serve --config datadog.yaml --kubeconfig …` (api/app keys, cluster name, the Remote
//! feed directory polled every second, leader election off so it leads). RSS is VmRSS of
//! `/proc/<pid>/status` once four samples 500 ms apart agree within 256 KiB:
//! 1. `autoscaling.workload.enabled: false`;
//! 2. enabled, no DPA (target: within 5 MiB of 1; the stack watches DPAs and profiles only);
//! 3. 1 DPA on `large-0` — from its creation to `/status` showing all its pods indexed is the
//!    "first DPA → synced pod index" time — then 100 and 1,000 DPAs, DPA `i` on `app-<i>`.
//!    Bytes per tracked pod = (RSS − RSS with 0 DPAs) / pods indexed (target ≤ 300 B; this
//!    includes every per-DPA cost too: the DPA store, the controller's state, one watch per
//!    target). Pods outside targets: `/status` pods indexed must equal the targets' pods exactly.
//! 4. The naive alternative: a kube-rs `reflector` of `Api<Pod>::all` (full Pods) in a child
//!    process (this binary with `BENCH_WORKLOAD_CHILD=reflector`), RSS after its first list.
//! 5. `large-0` scaled to twice its pods (devcluster creates them through admission): that RSS
//!    step over the pods added is the marginal cost of one tracked pod, free of per-target costs.
//! 6. AdmissionReview: the DPA of `app-<last>` is swapped for one on `bench-0/checkout` (0
//!    replicas) whose vertical recommendation comes from the feed; once the webhook patches its
//!    pods with the rec-id, pod CREATE reviews (a checkout pod: patched; a pod of a Deployment
//!    without DPA: allowed, no patch) are POSTed to `/autoscaling` over TLS keep-alive, 8
//!    connections, open loop at 1,000 req/s (p99 target ≤ 2 ms), then a closed loop for the
//!    throughput ceiling. The load client runs in its own process (this binary with
//!    `BENCH_WORKLOAD_CHILD=admission-load`, a current_thread runtime), so devcluster's tasks in
//!    this process do not delay its sends and reads. Every run is repeated against the bare
//!    baseline (`BENCH_WORKLOAD_CHILD=bare`: hyper + rustls on the server's multi-thread runtime
//!    reading the review, then answering the exact head and body our server answered), from the
//!    same client process, in the same run: ours and bare p99 side by side under identical
//!    conditions. Every reply is checked byte for byte against our server's first one. Around each
//!    of our open loops the server's own `http_request_duration_seconds{route="webhook"}`
//!    histogram is scraped (handling time alone).
//!
//! `BENCH_WORKLOAD_MODE=stall` runs the stall probe instead (`workload/stall.rs`: reviews at a
//! steady rate while a target scales up, without the 50,000-pod fleet).
//!
//! Run: `cargo bench --bench workload`; `BENCH_SCALE=0.1` divides pod and DPA counts by 10;
//! `BENCH_LOAD_SECS` (default 10) sets each open-loop run's length. Prints figures and a summary
//! table; fails only when something is wrong (a reply, a count, a deadline).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use rcgen::ExtendedKeyUsagePurpose;

use common::certs::Ca;
use common::client::HOST;
use common::setup::{ClientTls, scrape};
use workload::children::{self, BareServer, LoadClient};
use workload::fleet::{self, CHECKOUT, LARGE};
use workload::process::{self, Reflector, Server, ServerFiles, mib, settled_rss};
use workload::{admission, compare};

/// Shared with the other benches; this one uses the client, load loops, certificates and TLS.
#[allow(dead_code)]
#[path = "common"]
mod common {
    pub mod bare;
    pub mod certs;
    pub mod client;
    pub mod load;
    pub mod setup;
}

#[path = "workload"]
mod workload {
    pub mod admission;
    pub mod children;
    pub mod compare;
    pub mod fleet;
    pub mod process;
    pub mod stall;
}

/// How long RSS may take to settle before the last sample is taken as it is.
const SETTLE: Duration = Duration::from_secs(60);
const CONNECTIONS: usize = 8;
const RATE: u64 = 1_000;

struct Sizes {
    pods: usize,
    large: usize,
    /// Cumulative DPA counts measured.
    dpa_steps: Vec<usize>,
    load_secs: u64,
}

fn env_number(key: &str, default: f64) -> anyhow::Result<f64> {
    match std::env::var(key) {
        Ok(text) => text.trim().parse::<f64>().map_err(|e| anyhow::anyhow!("{key}={text:?}: {e}")),
        Err(_) => Ok(default),
    }
}

impl Sizes {
    fn from_env() -> anyhow::Result<Self> {
        let scale = env_number("BENCH_SCALE", 1.0)?;
        if !(0.001..=10.0).contains(&scale) {
            bail!("BENCH_SCALE={scale}: expected a factor between 0.001 and 10");
        }
        let n = |x: f64| ((x * scale).round() as usize).max(1);
        let (pods, large) = (n(50_000.0).max(200), n(2_500.0).max(20));
        let small_deployments = (pods - large) / fleet::PODS_PER_DEPLOYMENT;
        let cap = |k: usize| k.min(small_deployments + 1);
        let dpa_steps = vec![1, cap(n(100.0).max(2)), cap(n(1_000.0).max(3))];
        let load_secs = env_number("BENCH_LOAD_SECS", 10.0)?.max(1.0) as u64;
        Ok(Sizes { pods, large, dpa_steps, load_secs })
    }

    /// Pods of the targets of the first `dpas` DPAs.
    fn tracked(&self, dpas: usize) -> usize {
        self.large + (dpas - 1) * fleet::PODS_PER_DEPLOYMENT
    }
}

/// One RSS figure.
struct Row {
    what: String,
    rss: u64,
    settled: bool,
    dpas: usize,
    pods: usize,
}

fn main() -> anyhow::Result<()> {
    let multi_thread = || tokio::runtime::Runtime::new().context("tokio runtime");
    match std::env::var(process::CHILD_ENV).as_deref() {
        Ok("reflector") => multi_thread()?.block_on(process::run_reflector_child()),
        Ok(children::LOAD_CHILD) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("current_thread runtime")?
            .block_on(children::run_load_child()),
        // The multi-thread runtime the server runs on (`Runtime::new`, one worker per core).
        Ok(children::BARE_CHILD) => multi_thread()?.block_on(children::run_bare_child()),
        Ok(other) => bail!("{}={other:?}: not a child this bench knows", process::CHILD_ENV),
        Err(_) if std::env::var("BENCH_WORKLOAD_MODE").as_deref() == Ok("stall") => {
            multi_thread()?.block_on(workload::stall::run())
        }
        Err(_) => multi_thread()?.block_on(run()),
    }
}

async fn run() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes = Sizes::from_env()?;
    println!(
        "== workload bench: {} pods in {} namespaces ({} in {LARGE}, the rest in Deployments of {}); DPA steps {:?}",
        sizes.pods,
        fleet::NAMESPACES,
        sizes.large,
        fleet::PODS_PER_DEPLOYMENT,
        sizes.dpa_steps
    );
    let dc = DevCluster::start(Config::default()).await?;
    let admin = dc.client().await?;
    fleet::install(&admin).await?;
    let t = Instant::now();
    let objects = fleet::populate(&dc, sizes.pods, sizes.large)?;
    println!("populate: {objects} objects in {:.2?}", t.elapsed());
    let t = Instant::now();
    fleet::wait_quiet(&dc).await?;
    println!("devcluster controllers quiet after {:.2?} (Deployment statuses written)", t.elapsed());

    let ca = Ca::new("bench-serving-ca")?;
    let serving = ca.leaf(HOST, &[HOST, "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)?;
    let tls = ClientTls::new(Some(&ca.pem()), &ca, &Ca::new("bench-front-proxy")?)?.anon;
    let dir = tempfile::tempdir()?;
    let files = ServerFiles::write(dir.path(), &dc.kubeconfig_yaml(), &serving.cert_pem, &serving.key_pem)?;
    let mut rows = Vec::new();

    // 1. Autoscaling disabled.
    let mut server = Server::spawn(&files, false).await?;
    server.wait_workload("the disabled server's first list", Duration::from_millis(50), |w| !w.enabled).await?;
    let (rss, settled) = settled_rss(server.pid, SETTLE).await?;
    println!("disabled: RSS {:.1} MiB{}", mib(rss), if settled { "" } else { " (not settled)" });
    rows.push(Row { what: "autoscaling disabled".into(), rss, settled, dpas: 0, pods: 0 });
    server.stop().await;

    // 2. Enabled, no DPA.
    let mut server = Server::spawn(&files, true).await?;
    let w = server
        .wait_workload("the enabled server's DPA list", Duration::from_millis(50), |w| w.enabled && w.dpas_synced)
        .await?;
    if w.gate_open || w.pods_indexed != 0 {
        bail!("no DPA exists, yet the gate is open or pods are indexed: {w:?}");
    }
    let (rss, settled) = settled_rss(server.pid, SETTLE).await?;
    let w = server.status().await?.workload;
    if w.gate_open || w.pods_indexed != 0 {
        bail!("no DPA exists, yet after settling the gate is open or pods are indexed: {w:?}");
    }
    println!("enabled, 0 DPAs: RSS {:.1} MiB; gate closed, 0 pods indexed", mib(rss));
    rows.push(Row { what: "enabled, 0 DPAs".into(), rss, settled, dpas: 0, pods: 0 });

    // 3. 1, 100, 1,000 DPAs.
    let mut first_dpa = Duration::ZERO;
    let mut created = 0;
    for &step in &sizes.dpa_steps {
        let want = sizes.tracked(step);
        let t = Instant::now();
        fleet::create_dpas(&admin, created, step).await?;
        let created_in = t.elapsed();
        let poll = if created == 0 { Duration::from_millis(5) } else { Duration::from_millis(100) };
        let w = server
            .wait_workload(&format!("{step} targets with {want} pods indexed"), poll, |w| {
                w.targets == step && w.pods_indexed >= want
            })
            .await?;
        let synced_in = t.elapsed();
        if created == 0 {
            first_dpa = synced_in;
        }
        created = step;
        let (rss, settled) = settled_rss(server.pid, SETTLE).await?;
        let w_after = server.status().await?.workload;
        if w.pods_indexed != want || w_after.pods_indexed != want {
            bail!(
                "{step} DPAs: {} then {} pods indexed, the targets have {want}",
                w.pods_indexed,
                w_after.pods_indexed
            );
        }
        println!(
            "{step} DPAs: created in {created_in:.2?}, all {want} target pods indexed {synced_in:.2?} after the \
             first create; RSS {:.1} MiB; {} of {} cluster pods outside targets indexed",
            mib(rss),
            w_after.pods_indexed - want,
            sizes.pods - want
        );
        rows.push(Row { what: format!("{step} DPA(s)"), rss, settled, dpas: step, pods: want });
    }

    // 4. The naive reflector.
    let t = Instant::now();
    let reflector = Reflector::spawn(&files.dir.join("kubeconfig")).await?;
    let listed_in = t.elapsed();
    if reflector.pods < sizes.pods {
        bail!("the reflector listed {} pods, the cluster has {}", reflector.pods, sizes.pods);
    }
    let (reflector_rss, reflector_settled) = settled_rss(reflector.pid, SETTLE).await?;
    println!(
        "naive reflector: {} pods after {:.2?} (list {:.2?}); RSS {:.1} MiB (started at {:.1} MiB)",
        reflector.pods,
        listed_in,
        reflector.list_time,
        mib(reflector_rss),
        mib(reflector.start_rss)
    );
    let reflector_pods = reflector.pods;
    let reflector_start = reflector.start_rss;
    reflector.stop().await;

    // 5. The pure per-pod cost: large-0 doubled, every other count unchanged.
    let want = sizes.tracked(created) + sizes.large;
    let t = Instant::now();
    fleet::scale_large(&admin, 2 * sizes.large).await?;
    server
        .wait_workload(&format!("{want} pods indexed after scaling {LARGE}"), Duration::from_millis(200), |w| {
            w.pods_indexed >= want
        })
        .await?;
    let (rss, settled) = settled_rss(server.pid, SETTLE).await?;
    let indexed = server.status().await?.workload.pods_indexed;
    if indexed != want {
        bail!("{LARGE} scaled to {}: {indexed} pods indexed, the targets have {want}", 2 * sizes.large);
    }
    println!(
        "{LARGE} scaled to {} pods: all {want} target pods indexed after {:.2?}; RSS {:.1} MiB",
        2 * sizes.large,
        t.elapsed(),
        mib(rss)
    );
    rows.push(Row { what: format!("{created} DPAs, {LARGE} doubled"), rss, settled, dpas: created, pods: want });

    // 6. AdmissionReviews.
    let last = *sizes.dpa_steps.last().context("no DPA step")? - 1;
    fleet::delete_dpa(&admin, &fleet::namespace_of(last), &format!("app-{last}")).await?;
    fleet::create_checkout(&admin).await?;
    fleet::write_checkout_values(&files.feed)?;
    let target = fleet::wait_vertical(&admin).await?;
    println!("checkout's vertical target from the feed: {target}");
    let target_review = admission::review("bench-0", CHECKOUT, "6b7c9d5f4", "2f7a3c0e-1d5b-4e8a-9c6f-0a1b2c3d4e5f");
    let other = fleet::PODS_PER_DEPLOYMENT.max(last + 1);
    let other_review = admission::review(
        &fleet::namespace_of(other),
        &format!("app-{other}"),
        "6b7c9d5f4",
        "7c1d2e3f-4a5b-4c6d-8e9f-1a2b3c4d5e6f",
    );
    let t = Instant::now();
    let (patched, target_request, target_reply) = loop {
        let (reply, request, raw) = admission::probe(server.secure, tls.clone(), &target_review).await?;
        let ops = admission::patch_of(&reply)?;
        if ops.iter().any(|op| op.to_string().contains("rec-id")) {
            break (ops, request, raw);
        }
        if t.elapsed() > Duration::from_secs(60) {
            bail!("the webhook still gives checkout's pods no rec-id after 60 s: {reply}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (other_reply, other_request, other_raw) = admission::probe(server.secure, tls.clone(), &other_review).await?;
    if !admission::patch_of(&other_reply)?.is_empty() || other_reply["response"]["allowed"] != true {
        bail!("a pod no DPA targets got a patch or was refused: {other_reply}");
    }
    println!("target review ({} B) -> {} patch operations: {}", target_request.len(), patched.len(), {
        let text = serde_json::to_string(&patched)?;
        if text.len() > 400 { format!("{}…", text.chars().take(400).collect::<String>()) } else { text }
    });
    println!("non-target review ({} B) -> allowed, no patch", other_request.len());
    std::fs::write(files.dir.join(children::CA_FILE), ca.pem())?;
    children::write_work(&files.dir, "target", &target_request, &target_reply.head, &target_reply.body)?;
    children::write_work(&files.dir, "non-target", &other_request, &other_raw.head, &other_raw.body)?;
    let bare = BareServer::spawn(&files.dir, &["target", "non-target"]).await?;
    let mut client = LoadClient::spawn(&files.dir).await?;
    println!(
        "load client (pid {}) and bare baseline (pid {}) in their own processes; each run: {CONNECTIONS} fresh \
         connections, 1,000-request warm-up, open loop, closed loop",
        client.pid().map_or("?".into(), |p| p.to_string()),
        bare.pid().map_or("?".into(), |p| p.to_string())
    );
    // The scale-up of step 5 keeps devcluster busy after the server has indexed the pods (pods
    // bound, started, turned Ready; statuses written): session 5's first open loop ran into that
    // (p99 223 ms). The load waits (at most 120 s) until devcluster has written nothing for 2 s,
    // and says how long that took and who used the CPU meanwhile.
    let (t, cpu) = (Instant::now(), [process::cpu_ticks(server.pid)?, process::cpu_ticks(std::process::id())?]);
    let quiet = fleet::quiet_within(&dc, Duration::from_secs(120)).await;
    let share = |before: u64, now: u64| (now - before) as f64 / t.elapsed().as_secs_f64();
    println!(
        "devcluster {} {:.2?} after the checkout pods' first review; meanwhile CPU (% of one core): our server \
         {:.0}, devcluster (bench process) {:.0}",
        if quiet { "quiet (no write for 2 s)" } else { "still writing" },
        t.elapsed(),
        share(cpu[0], process::cpu_ticks(server.pid)?),
        share(cpu[1], process::cpu_ticks(std::process::id())?)
    );
    let servers =
        compare::Servers { ours: server.secure, ours_metrics: server.metrics, ours_pid: server.pid, bare: &bare };
    let load = compare::run(&mut client, &servers, CONNECTIONS, RATE, sizes.load_secs).await?;
    client.stop().await;
    bare.stop().await;
    let mut histogram = scrape(server.metrics, &["http_request_duration_seconds_bucket"]).await?;
    histogram.retain(|l| l.contains("\"webhook\""));
    println!("server-side webhook latency, all load runs (cumulative buckets):");
    for line in &histogram {
        println!("  {line}");
    }
    let final_rss = process::rss_bytes(server.pid)?;
    server.stop().await;
    dc.shutdown().await;

    // Summary.
    let (disabled, zero) = (rows[0].rss, rows[1].rss);
    println!("\n== summary ({} pods in the cluster)", sizes.pods);
    println!("| figure | value | target |");
    println!("|---|---|---|");
    for r in &rows {
        let flag = if r.settled { "" } else { " (not settled)" };
        let extra = if r.dpas == 0 {
            String::new()
        } else {
            let delta = r.rss as i64 - zero as i64;
            format!(
                "; {} pods indexed, +{:.1} MiB over 0 DPAs = **{:.0} B per tracked pod**",
                r.pods,
                delta as f64 / 1048576.0,
                delta as f64 / r.pods as f64
            )
        };
        let target = match r.dpas {
            0 if r.what.starts_with("enabled") => format!(
                "within 5 MiB of disabled: {:+.2} MiB, {}",
                (zero as f64 - disabled as f64) / 1048576.0,
                met((zero as f64 - disabled as f64).abs() <= 5.0 * 1048576.0)
            ),
            0 => "idle RSS <= 40 MiB: ".to_owned() + met(r.rss <= 40 * 1048576),
            _ => format!("<= 300 B/pod: {}", met((r.rss as f64 - zero as f64) / r.pods as f64 <= 300.0)),
        };
        println!("| server RSS, {} | {:.1} MiB{flag}{extra} | {target} |", r.what, mib(r.rss));
    }
    for pair in rows[2..].windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.dpas == a.dpas {
            let (dr, dp) = (b.rss as f64 - a.rss as f64, (b.pods - a.pods) as f64);
            println!(
                "| **marginal per tracked pod**: {LARGE} doubled at {} DPAs | {:+.2} MiB for {dp:.0} more pods = **{:.0} B \
                 per pod** | <= 300 B/pod: {} |",
                b.dpas,
                dr / 1048576.0,
                dr / dp,
                met(dr / dp <= 300.0)
            );
            continue;
        }
        let (dr, dp, dd) = (b.rss as f64 - a.rss as f64, (b.pods - a.pods) as f64, (b.dpas - a.dpas) as f64);
        println!(
            "| marginal, {} -> {} DPAs | {:+.1} MiB for {dp:.0} more pods and {dd:.0} more targets = {:.0} B per pod, \
             {:.1} KiB per target | |",
            a.dpas,
            b.dpas,
            dr / 1048576.0,
            dr / dp,
            dr / dd / 1024.0
        );
    }
    println!("| pods outside targets indexed | 0 of {} (every step) | 0: met |", sizes.pods - sizes.tracked(created));
    println!(
        "| naive kube-rs reflector, all Pods | {:.1} MiB RSS ({:+.1} MiB after listing {reflector_pods} pods = {:.0} B \
         per pod){} | (comparison) |",
        mib(reflector_rss),
        mib(reflector_rss.saturating_sub(reflector_start)),
        reflector_rss.saturating_sub(reflector_start) as f64 / reflector_pods as f64,
        if reflector_settled { "" } else { " (not settled)" }
    );
    println!(
        "| first DPA created -> its {} pods indexed (/status polled every 5 ms) | {:.0} ms | <= 1 s plus the list time |",
        sizes.large,
        first_dpa.as_secs_f64() * 1e3
    );
    for pair in load.chunks(2) {
        let [ours, bare] = pair else { continue };
        if (ours.server, bare.server) != ("ours", "bare") {
            bail!("load rows out of order: {} then {}", ours.server, bare.server);
        }
        let server_side = ours.server_side.as_ref().map_or(String::new(), |s| {
            format!("; server-side {:.2} % <= 0.2 ms, slowest <= {:.1} ms", s.within(0.0002), s.slowest() * 1e3)
        });
        println!(
            "| AdmissionReview {}, round {}: open loop {RATE} req/s, p99 ours / bare | **{:.3}** / {:.3} ms (p50 {:.3} \
             / {:.3}, max {:.1} / {:.1}, corrected p99 {:.3} / {:.3}; achieved {:.0} / {:.0} req/s{server_side}); \
             closed loop {:.0} / {:.0} req/s | p99 <= 2 ms: {} |",
            ours.work,
            ours.round,
            ours.p99,
            bare.p99,
            ours.p50,
            bare.p50,
            ours.max,
            bare.max,
            ours.corrected_p99,
            bare.corrected_p99,
            ours.achieved,
            bare.achieved,
            ours.closed_rps,
            bare.closed_rps,
            met(ours.p99 <= 2.0)
        );
    }
    println!("| server RSS after the load | {:.1} MiB | |", mib(final_rss));
    Ok(())
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
