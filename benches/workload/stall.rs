//! The stall probe (`BENCH_WORKLOAD_MODE=stall`): AdmissionReviews at a steady rate while a DPA
//! target scales up, without the 50,000-pod fleet. Session 5's full-scale run saw the first open
//! loop after `large-0`'s scale-up reach a p99 of 223 ms (max 774 ms) while the server's own
//! handler stayed under 26 ms; this mode reproduces that situation cheaply and says *when* the
//! slow reviews happen relative to the scale-up, and who was burning CPU meanwhile.
//!
//! Cluster: `large-0` with `BENCH_STALL_FROM` pods (default 20) and 200 pods in 10-pod
//! Deployments; the release server; a DPA on `large-0` and the webhook's target `checkout` (its
//! vertical values from the feed). The load client (its own process) runs one open loop of
//! `BENCH_LOAD_SECS` (default 20) at 1,000 req/s on 8 connections; 2 s in, `large-0` is scaled up
//! by `BENCH_STALL_PODS` (default 2,500) pods, which devcluster creates through admission (our
//! webhook) and then schedules and starts. Printed: the scale-up's milestones (every pod indexed
//! by the server, devcluster quiet again), per 500 ms window the review count, p99 and max, the
//! server's and this process's (devcluster's) CPU time in that window, and the slowest reviews.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use rcgen::ExtendedKeyUsagePurpose;

use super::super::common::certs::Ca;
use super::super::common::client::HOST;
use super::super::common::load::pct;
use super::super::common::setup::ClientTls;
use super::admission;
use super::children::{self, LoadClient, Step};
use super::fleet::{self, CHECKOUT};
use super::process::{Server, ServerFiles, cpu_ticks, cpu_ticks_at};

const CONNECTIONS: usize = 8;
const RATE: u64 = 1_000;
const WINDOW: Duration = Duration::from_millis(500);
/// When the scale-up is sent, after the open loop's start.
const SCALE_AT: Duration = Duration::from_secs(2);

fn env_usize(key: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(key) {
        Ok(text) => text.trim().parse().with_context(|| format!("{key}={text:?}")),
        Err(_) => Ok(default),
    }
}

/// utime + stime of each thread of `pid`, by thread id.
fn thread_ticks(pid: u32) -> anyhow::Result<HashMap<u32, u64>> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))?.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // A thread that just ended is skipped.
        if let Ok(t) = cpu_ticks_at(&format!("/proc/{pid}/task/{tid}/stat")) {
            out.insert(tid, t);
        }
    }
    Ok(out)
}

/// One CPU sample: time since the open loop's start, server ticks, its threads' ticks, own ticks.
struct Sample {
    at: Duration,
    server: u64,
    threads: HashMap<u32, u64>,
    own: u64,
}

impl Sample {
    /// The busiest server thread's ticks between `earlier` and this sample.
    fn busiest_thread(&self, earlier: &Sample) -> u64 {
        let delta = |(tid, t): (&u32, &u64)| t.saturating_sub(earlier.threads.get(tid).copied().unwrap_or(0));
        self.threads.iter().map(delta).max().unwrap_or(0)
    }
}

/// CPU samples every `WINDOW` until `until` after `t0`.
async fn sample_cpu(server: u32, t0: Instant, until: Duration) -> anyhow::Result<Vec<Sample>> {
    let me = std::process::id();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(t0), WINDOW);
    loop {
        tick.tick().await;
        let (server_ticks, threads) = (cpu_ticks(server)?, thread_ticks(server)?);
        samples.push(Sample { at: t0.elapsed(), server: server_ticks, threads, own: cpu_ticks(me)? });
        if t0.elapsed() > until {
            return Ok(samples);
        }
    }
}

pub async fn run() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let added = env_usize("BENCH_STALL_PODS", 2_500)?;
    let from = env_usize("BENCH_STALL_FROM", 20)?.max(1);
    let secs = env_usize("BENCH_LOAD_SECS", 20)?.max(5) as u64;
    let small = 200;
    println!(
        "== stall probe: {LARGE_NAME} {from} -> {} pods during a {secs}-s open loop at {RATE} req/s",
        from + added
    );
    let dc = DevCluster::start(Config::default()).await?;
    let admin = dc.client().await?;
    fleet::install(&admin).await?;
    fleet::populate(&dc, small + from, from)?;
    fleet::wait_quiet(&dc).await?;

    let ca = Ca::new("bench-serving-ca")?;
    let serving = ca.leaf(HOST, &[HOST, "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)?;
    let tls = ClientTls::new(Some(&ca.pem()), &ca, &Ca::new("bench-front-proxy")?)?.anon;
    let dir = tempfile::tempdir()?;
    let files = ServerFiles::write(dir.path(), &dc.kubeconfig_yaml(), &serving.cert_pem, &serving.key_pem)?;
    let mut server = Server::spawn(&files, true).await?;
    println!("server pid {}", server.pid);
    fleet::create_dpas(&admin, 0, 1).await?;
    server
        .wait_workload("large-0's pods indexed", Duration::from_millis(50), |w| {
            w.targets == 1 && w.pods_indexed >= from
        })
        .await?;
    fleet::create_checkout(&admin).await?;
    fleet::write_checkout_values(&files.feed)?;
    fleet::wait_vertical(&admin).await?;
    let review = admission::review("bench-0", CHECKOUT, "6b7c9d5f4", "2f7a3c0e-1d5b-4e8a-9c6f-0a1b2c3d4e5f");
    let t = Instant::now();
    let (request, reply) = loop {
        let (reply, request, raw) = admission::probe(server.secure, tls.clone(), &review).await?;
        if admission::patch_of(&reply)?.iter().any(|op| op.to_string().contains("rec-id")) {
            break (request, raw);
        }
        if t.elapsed() > Duration::from_secs(60) {
            bail!("the webhook still gives checkout's pods no rec-id after 60 s: {reply}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    std::fs::write(files.dir.join(children::CA_FILE), ca.pem())?;
    children::write_work(&files.dir, "target", &request, &reply.head, &reply.body)?;
    let mut client = LoadClient::spawn(&files.dir).await?;
    client.run(&Step::Connect { addr: server.secure, work: "target".into(), connections: CONNECTIONS }).await?;
    client.run(&Step::Closed { requests: 1_000 }).await?;
    fleet::wait_quiet(&dc).await?;

    let t0 = Instant::now();
    let cpu = tokio::spawn(sample_cpu(server.pid, t0, Duration::from_secs(secs)));
    let scale = async {
        tokio::time::sleep(SCALE_AT).await;
        fleet::scale_large(&admin, from + added).await?;
        let scaled = t0.elapsed();
        let want = from + added;
        let w = server
            .wait_workload("the scaled-up pods indexed", Duration::from_millis(20), |w| w.pods_indexed >= want)
            .await?;
        let indexed = t0.elapsed();
        fleet::wait_quiet(&dc).await?;
        // wait_quiet returns 2 s after the last write.
        let quiet = t0.elapsed().saturating_sub(Duration::from_secs(2));
        anyhow::Ok((scaled, indexed, quiet, w.pods_indexed))
    };
    let step = Step::Open { rate: RATE, secs };
    let (open, scaled) = tokio::join!(client.run(&step), scale);
    let (open, (scaled, indexed, quiet, pods)) = (open?, scaled?);
    let cpu = cpu.await??;
    client.stop().await;
    server.stop().await;
    dc.shutdown().await;

    let mut all = open.service.clone();
    let total = pct(&mut all);
    println!(
        "open loop: {} reviews, p50 {:.3} / p99 {:.3} / max {:.1} ms",
        open.service.len(),
        total.p50,
        total.p99,
        total.max
    );
    println!(
        "scale-up sent at {:.2} s; {pods} pods indexed at {:.2} s; devcluster quiet (last write) at {:.2} s",
        scaled.as_secs_f64(),
        indexed.as_secs_f64(),
        quiet.as_secs_f64()
    );
    println!("window (s) | reviews | p99 ms | max ms | server CPU % (busiest thread) | devcluster+bench CPU %");
    let windows = (secs * 1000 / WINDOW.as_millis() as u64) as usize + 1;
    for w in 0..windows {
        let lo = w as u64 * WINDOW.as_nanos() as u64;
        let hi = lo + WINDOW.as_nanos() as u64;
        let mut lat: Vec<u64> =
            open.service.iter().zip(&open.sent).filter(|(_, s)| (lo..hi).contains(*s)).map(|(l, _)| *l).collect();
        if lat.is_empty() {
            continue;
        }
        let p = pct(&mut lat);
        let (server_cpu, own_cpu) = match (cpu.get(w), cpu.get(w + 1)) {
            (Some(a), Some(b)) => {
                // Clock ticks are 1/100 s (USER_HZ): ticks per second is a percentage of one core.
                let span = (b.at - a.at).as_secs_f64();
                let server = (b.server - a.server) as f64 / span;
                let busiest = b.busiest_thread(a) as f64 / span;
                (format!("{server:.0} ({busiest:.0})"), format!("{:.0}", (b.own - a.own) as f64 / span))
            }
            _ => ("?".into(), "?".into()),
        };
        println!(
            "{:5.1}-{:<5.1} | {:5} | {:8.3} | {:7.1} | {server_cpu:>9} | {own_cpu:>4}",
            lo as f64 / 1e9,
            hi as f64 / 1e9,
            lat.len(),
            p.p99,
            p.max
        );
    }
    let mut slow: Vec<(u64, u64)> = open.sent.iter().copied().zip(open.service.iter().copied()).collect();
    slow.sort_by_key(|(_, l)| std::cmp::Reverse(*l));
    let listed: Vec<String> =
        slow.iter().take(10).map(|(s, l)| format!("{:.1} ms at {:.3} s", *l as f64 / 1e6, *s as f64 / 1e9)).collect();
    println!("slowest: {}", listed.join(", "));
    Ok(())
}

const LARGE_NAME: &str = fleet::LARGE;
