//! Load against a target: keep-alive connections issuing sequential requests, closed loop (a fixed
//! request count, as fast as possible) and open loop (a fixed rate for a fixed time, with
//! coordinated-omission-corrected latency), percentiles, and [`compare`], which runs both modes on
//! our server and the bare baseline alternately and prints the figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use super::client::{Conn, Workload, env_count};

pub struct Target {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub work: Workload,
}

/// Connection count, closed-loop sizes and open-loop rate (the server-core benchmark's values).
#[derive(Clone, Copy)]
pub struct LoadParams {
    /// Concurrent keep-alive connections per run.
    pub connections: usize,
    /// Closed loop: requests per run (split evenly over the connections), after a warm-up run.
    pub closed_requests: usize,
    pub warmup_requests: usize,
    /// Open loop: target rate and duration per run.
    pub open_rate: u64,
    pub open_secs: u64,
    /// Closed-loop rounds (each runs ours then bare).
    pub closed_rounds: usize,
    /// The servers run in this process (the load client is a child, see `child.rs`): their CPU is
    /// read from it.
    pub server_pid: Option<u32>,
}

impl Default for LoadParams {
    /// The server-core benchmark's values.
    fn default() -> Self {
        LoadParams {
            connections: 16,
            closed_requests: 20_000,
            warmup_requests: 2_000,
            open_rate: 2_000,
            open_secs: 5,
            closed_rounds: 2,
            server_pid: None,
        }
    }
}

impl LoadParams {
    /// The defaults, with the closed loop lengthened by `BENCH_CLOSED_REQUESTS` and
    /// `BENCH_CLOSED_ROUNDS` (for a profiler to attach, or to average out a busy machine).
    pub fn from_env() -> anyhow::Result<Self> {
        let d = LoadParams::default();
        Ok(LoadParams {
            closed_requests: env_count("BENCH_CLOSED_REQUESTS", d.closed_requests)?,
            closed_rounds: env_count("BENCH_CLOSED_ROUNDS", d.closed_rounds)?,
            ..d
        })
    }
}

pub async fn connect_all(t: &Target, tls: &Arc<ClientConfig>, n: usize) -> anyhow::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = Conn::connect(t.addr, tls.clone()).await?;
        let (request, _) = t.work.item(i);
        t.work.check(i, &c.round_trip(request).await?)?;
        conns.push(c);
    }
    Ok(conns)
}

pub struct Run {
    pub wall: Duration,
    /// Latency from writing the request to having the whole response, nanoseconds.
    pub service: Vec<u64>,
    /// Open loop only: like `service`, but from the due time when the send was late because the
    /// connection was still busy (coordinated-omission correction).
    pub corrected: Vec<u64>,
    /// Open loop only: when each request of `service` was written, nanoseconds after the start.
    pub sent: Vec<u64>,
    pub conns: Vec<Conn>,
}

impl Run {
    fn empty() -> Self {
        Run { wall: Duration::ZERO, service: Vec::new(), corrected: Vec::new(), sent: Vec::new(), conns: Vec::new() }
    }
}

pub async fn closed_loop(conns: Vec<Conn>, total: usize, work: &Workload) -> anyhow::Result<Run> {
    let c_count = conns.len();
    let per_conn = total / c_count;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let work = work.clone();
        tasks.spawn(async move {
            let mut lat = Vec::with_capacity(per_conn);
            for k in 0..per_conn {
                let n = i + k * c_count;
                let t = Instant::now();
                let r = c.round_trip(work.item(n).0).await?;
                lat.push(t.elapsed().as_nanos() as u64);
                work.check(n, &r)?;
            }
            anyhow::Ok((c, lat))
        });
    }
    let mut run = Run::empty();
    while let Some(done) = tasks.join_next().await {
        let (c, lat) = done??;
        run.service.extend(lat);
        run.conns.push(c);
    }
    run.wall = started.elapsed();
    Ok(run)
}

/// Each connection sends on its own fixed schedule (rate / C per second, staggered), so the total
/// offered load is `rate` regardless of response times; a late response delays the next send on
/// that connection, and `corrected` latency counts that wait.
pub async fn open_loop(conns: Vec<Conn>, rate: u64, secs: u64, work: &Workload) -> anyhow::Result<Run> {
    let c_count = conns.len();
    let n = c_count as u64;
    let period = Duration::from_nanos(1_000_000_000 * n / rate);
    let per_conn = (rate * secs / n) as usize;
    let started = Instant::now() + Duration::from_millis(5);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let work = work.clone();
        let base = started + period * i as u32 / n as u32;
        tasks.spawn(async move {
            let (mut service, mut corrected) = (Vec::with_capacity(per_conn), Vec::with_capacity(per_conn));
            let mut sent = Vec::with_capacity(per_conn);
            for k in 0..per_conn {
                let due = base + period * k as u32;
                // Behind schedule (the previous response came after this send was due): count
                // from the due time. On time: count from the actual send, so the timer wheel's
                // 1 ms granularity is not charged to the server.
                let behind = Instant::now() > due;
                tokio::time::sleep_until(due.into()).await;
                let idx = i + k * c_count;
                let t = Instant::now();
                let r = c.round_trip(work.item(idx).0).await?;
                let done = Instant::now();
                service.push((done - t).as_nanos() as u64);
                corrected.push((done - if behind { due } else { t }).as_nanos() as u64);
                sent.push(t.saturating_duration_since(started).as_nanos() as u64);
                work.check(idx, &r)?;
            }
            anyhow::Ok((c, service, corrected, sent))
        });
    }
    let mut run = Run::empty();
    while let Some(done) = tasks.join_next().await {
        let (c, service, corrected, sent) = done??;
        run.service.extend(service);
        run.corrected.extend(corrected);
        run.sent.extend(sent);
        run.conns.push(c);
    }
    run.wall = started.elapsed();
    Ok(run)
}

pub struct Pct {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Percentiles in milliseconds (nearest rank).
pub fn pct(v: &mut [u64]) -> Pct {
    v.sort_unstable();
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1e6;
    Pct { p50: at(0.50), p99: at(0.99), max: at(1.0) }
}

/// Fresh connection: handshake time and the first request's round trip, a few times.
pub async fn fresh_connection(t: &Target, config: Arc<ClientConfig>) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let (request, _) = t.work.item(0);
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut c = Conn::connect(t.addr, config.clone()).await?;
        let hs = t0.elapsed();
        let t1 = Instant::now();
        c.round_trip(request).await?;
        let first = t1.elapsed();
        let t2 = Instant::now();
        c.round_trip(request).await?;
        out.push(format!(
            "handshake {:.2} ms, 1st request {:.2} ms, 2nd {:.2} ms",
            hs.as_secs_f64() * 1e3,
            first.as_secs_f64() * 1e3,
            t2.elapsed().as_secs_f64() * 1e3
        ));
    }
    Ok(out.join("; "))
}

/// Mean closed-loop throughput of each target, req/s.
pub struct Comparison {
    pub ours_rps: f64,
    pub bare_rps: f64,
}

/// Closed loop (warm-up, then `closed_rounds` rounds) and open loop (two rounds), ours and bare alternately,
/// printing every run and the throughput ratio.
pub async fn compare(
    ours: &Target,
    bare: &Target,
    tls: &Arc<ClientConfig>,
    p: LoadParams,
) -> anyhow::Result<Comparison> {
    let LoadParams { connections, closed_requests, warmup_requests, open_rate, open_secs, closed_rounds, server_pid } =
        p;
    println!(
        "\n== closed loop: {connections} keep-alive HTTP/1.1 connections, {closed_requests} requests per run \
         (after a {warmup_requests}-request warm-up per server)"
    );
    let targets = [ours, bare];
    let mut throughput = [Vec::new(), Vec::new()];
    let mut pools = Vec::new();
    for t in targets {
        let conns = connect_all(t, tls, connections).await?;
        pools.push(closed_loop(conns, warmup_requests, &t.work).await?.conns);
    }
    // The servers' own CPU time per request, when they run on threads of their own.
    let mut server_cpu = [(Sched::default(), 0usize), (Sched::default(), 0usize)];
    for round in 0..closed_rounds {
        for (i, t) in targets.into_iter().enumerate() {
            let conns = std::mem::take(&mut pools[i]);
            let cpu_before = servers_sched(server_pid);
            let mut run = closed_loop(conns, closed_requests, &t.work).await?;
            let cpu = servers_sched(server_pid).zip(cpu_before).map(|(after, before)| after.since(before));
            let rps = run.service.len() as f64 / run.wall.as_secs_f64();
            let p = pct(&mut run.service);
            let cpu_text = cpu.map_or(String::new(), |c| {
                let n = run.service.len();
                server_cpu[i].0.add(c);
                server_cpu[i].1 += n;
                format!(
                    "; server threads {:.1} us CPU/req, {:.1} us run-queue wait/req, {:.2} slices/req",
                    c.run.as_secs_f64() * 1e6 / n as f64,
                    c.wait.as_secs_f64() * 1e6 / n as f64,
                    c.slices as f64 / n as f64
                )
            });
            println!(
                "round {round} {:<4}: {} req in {:.3} s = {:>8.0} req/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms{cpu_text}",
                t.name,
                run.service.len(),
                run.wall.as_secs_f64(),
                rps,
                p.p50,
                p.p99,
                p.max
            );
            throughput[i].push(rps);
            pools[i] = run.conns;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (o, b) = (mean(&throughput[0]), mean(&throughput[1]));
    println!("throughput ours / bare = {o:.0} / {b:.0} = {:.1} % (target >= 80 %)", 100.0 * o / b);
    if server_cpu.iter().all(|(_, n)| *n > 0) {
        let per = |(cpu, n): (Sched, usize)| cpu.run.as_secs_f64() * 1e6 / n as f64;
        let (o, b) = (per(server_cpu[0]), per(server_cpu[1]));
        println!(
            "server threads' CPU per request ours / bare = {o:.1} / {b:.1} us: a server-bound ours would run at \
             {:.1} % of bare",
            100.0 * b / o
        );
        let slices = |(cpu, n): (Sched, usize)| cpu.slices as f64 / n as f64;
        println!(
            "server threads put on a CPU per request ours / bare = {:.2} / {:.2}",
            slices(server_cpu[0]),
            slices(server_cpu[1])
        );
    }
    let mut ratios: Vec<f64> = throughput[0].iter().zip(&throughput[1]).map(|(ot, bt)| 100.0 * ot / bt).collect();
    for (i, r) in ratios.iter().enumerate() {
        println!("  round {i}: {r:.1} %");
    }
    // Rounds alternate the two servers, so a busy moment of the machine hits one round's pair; the
    // median of the per-round ratios is the figure that one such moment cannot move.
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    let median = if n % 2 == 1 { ratios[n / 2] } else { (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0 };
    println!("  median of the {n} per-round ratios: {median:.1} %");

    println!(
        "\n== open loop: {open_rate} req/s for {open_secs} s per run over the same {connections} connections \
         (each connection paced at {} req/s, staggered)",
        open_rate / connections as u64
    );
    println!("  service = request written -> response read; corrected = the same, but counted from the due");
    println!("  time when the connection was still busy with the previous request when the send was due");
    for round in 0..2 {
        for (i, t) in targets.into_iter().enumerate() {
            let conns = std::mem::take(&mut pools[i]);
            let mut run = open_loop(conns, open_rate, open_secs, &t.work).await?;
            let achieved = run.service.len() as f64 / run.wall.as_secs_f64();
            let (s, d) = (pct(&mut run.service), pct(&mut run.corrected));
            println!(
                "round {round} {:<4}: {} req, achieved {:.0} req/s; service p50 {:.3} / p99 {:.3} / max {:.3} ms; \
                 corrected p50 {:.3} / p99 {:.3} / max {:.3} ms",
                t.name,
                run.service.len(),
                achieved,
                s.p50,
                s.p99,
                s.max,
                d.p50,
                d.p99,
                d.max
            );
            pools[i] = run.conns;
        }
    }
    Ok(Comparison { ours_rps: o, bare_rps: b })
}

/// What the scheduler did for the servers' threads, summed: on-CPU time, time runnable but waiting
/// for a CPU, and the number of times they were put on a CPU (from `schedstat`).
#[derive(Clone, Copy, Default)]
pub struct Sched {
    pub run: Duration,
    pub wait: Duration,
    pub slices: u64,
}

impl Sched {
    fn add(&mut self, other: Sched) {
        self.run += other.run;
        self.wait += other.wait;
        self.slices += other.slices;
    }

    fn since(self, before: Sched) -> Sched {
        Sched {
            run: self.run.saturating_sub(before.run),
            wait: self.wait.saturating_sub(before.wait),
            slices: self.slices.saturating_sub(before.slices),
        }
    }
}

/// [`Sched`] of the servers' threads, from `/proc/<pid>/task/*/schedstat` (Linux): in this
/// process, its threads named `servers…` (the runtime `BENCH_SERVERS_RUNTIME=own` gives the
/// servers); in process `server_pid` (the load client is its child), those threads when it has
/// them, else all of its threads. `None` when there are no such threads or no `/proc`.
pub fn servers_sched(server_pid: Option<u32>) -> Option<Sched> {
    let dir = server_pid.map_or("/proc/self/task".to_owned(), |pid| format!("/proc/{pid}/task"));
    let tasks: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().map(|t| t.path()).collect();
    let named = |dir: &std::path::PathBuf| {
        std::fs::read_to_string(dir.join("comm")).is_ok_and(|name| name.starts_with("servers"))
    };
    let whole_process = server_pid.is_some() && !tasks.iter().any(named);
    let mut total = Sched::default();
    let mut found = false;
    for dir in tasks {
        if !whole_process && !named(&dir) {
            continue;
        }
        // A thread that ended between the listing and the read is skipped.
        let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) else { continue };
        let fields: Vec<u64> = stat.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        if let [run, wait, slices] = fields[..] {
            total.run += Duration::from_nanos(run);
            total.wait += Duration::from_nanos(wait);
            total.slices += slices;
            found = true;
        }
    }
    found.then_some(total)
}
