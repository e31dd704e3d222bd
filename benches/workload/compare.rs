//! The AdmissionReview load, our server against the bare baseline under identical conditions: the
//! same load-client process sends the same request bytes, over the same number of fresh keep-alive
//! connections, to each in turn and checks each reply byte for byte against what our server
//! answered first (the baseline answers those very bytes). Per run: a closed-loop warm-up, the
//! open loop at the target rate, then a closed loop for the throughput ceiling. Around each of our
//! open loops the server's own `http_request_duration_seconds{route="webhook"}` histogram is
//! scraped, so the run's server-side handling times sit next to the client's.

use std::net::SocketAddr;

use anyhow::Context;

use super::super::common::load::pct;
use super::super::common::setup::{buckets_since, latency_buckets};
use super::children::{BareServer, LoadClient, Step};
use super::process::cpu_ticks;

/// Warm-up requests per connection pool, before the open loop.
const WARMUP: usize = 1_000;
/// Closed-loop requests per run.
const CLOSED: usize = 20_000;

/// How one run went, as the summary table shows it.
pub struct LoadRow {
    pub round: usize,
    pub work: &'static str,
    pub server: &'static str,
    pub achieved: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub corrected_p99: f64,
    pub closed_rps: f64,
    /// Ours only: the server's own histogram over the open loop.
    pub server_side: Option<ServerSide>,
}

/// The webhook latency histogram's change over one run.
pub struct ServerSide {
    pub reviews: u64,
    /// (upper bound in seconds, reviews at or under it), cumulative, +Inf last.
    pub buckets: Vec<(f64, u64)>,
}

impl ServerSide {
    /// Share of reviews handled within `le` seconds (a bucket bound), percent.
    pub fn within(&self, le: f64) -> f64 {
        let n = self.buckets.iter().find(|(b, _)| (*b - le).abs() < le * 1e-6).map_or(0, |(_, n)| *n);
        100.0 * n as f64 / self.reviews.max(1) as f64
    }

    /// The bound of the bucket holding the slowest review, seconds.
    pub fn slowest(&self) -> f64 {
        self.buckets.iter().find(|(_, n)| *n >= self.reviews).map_or(f64::INFINITY, |(b, _)| *b)
    }

    pub fn describe(&self) -> String {
        format!(
            "{} reviews, {:.2} % <= 0.1 ms, {:.2} % <= 0.2 ms, {:.3} % <= 1.6 ms, slowest <= {:.1} ms",
            self.reviews,
            self.within(0.0001),
            self.within(0.0002),
            self.within(0.0016),
            self.slowest() * 1e3
        )
    }
}

/// Where the open loop's slow requests (service time over `limit_ns`) fall in time: how many, in
/// how many bursts (slow sends less than 20 ms apart join a burst), the largest burst, and their
/// count per 100-ms phase of each second since the start (a 1-s periodic stall shows as one
/// crowded phase).
fn slow_requests(service: &[u64], sent: &[u64], limit_ns: u64) -> String {
    let mut slow: Vec<u64> = service.iter().zip(sent).filter(|(s, _)| **s > limit_ns).map(|(_, t)| *t).collect();
    slow.sort_unstable();
    let (mut bursts, mut largest, mut current) = (0, 0, 0);
    for (i, t) in slow.iter().enumerate() {
        if i == 0 || t - slow[i - 1] > 20_000_000 {
            bursts += 1;
            current = 0;
        }
        current += 1;
        largest = largest.max(current);
    }
    let mut phases = [0usize; 10];
    for t in &slow {
        phases[((t % 1_000_000_000) / 100_000_000) as usize] += 1;
    }
    format!(
        "{} requests over {} ms, in {bursts} bursts (largest {largest}); per 100-ms phase of the second: {phases:?}",
        slow.len(),
        limit_ns / 1_000_000
    )
}

fn delta(before: &[(f64, u64)], after: &[(f64, u64)]) -> ServerSide {
    let buckets = buckets_since(before, after);
    ServerSide { reviews: buckets.last().map_or(0, |(_, n)| *n), buckets }
}

/// What the comparison needs to reach both servers.
pub struct Servers<'a> {
    pub ours: SocketAddr,
    pub ours_metrics: SocketAddr,
    /// Our server's process, whose CPU time over each open loop is printed with this process's
    /// (devcluster's) and the baseline's.
    pub ours_pid: u32,
    pub bare: &'a BareServer,
}

/// CPU time (ticks) of our server, this process (devcluster) and the bare baseline.
fn cpu_now(servers: &Servers<'_>) -> anyhow::Result<[u64; 3]> {
    let bare = servers.bare.pid().map_or(Ok(0), cpu_ticks)?;
    Ok([cpu_ticks(servers.ours_pid)?, cpu_ticks(std::process::id())?, bare])
}

/// Two rounds; in each, for each work (`target`, `non-target`), our server then the baseline.
pub async fn run(
    client: &mut LoadClient,
    servers: &Servers<'_>,
    connections: usize,
    rate: u64,
    secs: u64,
) -> anyhow::Result<Vec<LoadRow>> {
    let mut rows = Vec::new();
    for round in 0..2 {
        for work in ["target", "non-target"] {
            for server in ["ours", "bare"] {
                let addr = match server {
                    "ours" => servers.ours,
                    _ => *servers.bare.addrs.get(work).with_context(|| format!("no bare listener for {work}"))?,
                };
                client.run(&Step::Connect { addr, work: work.to_owned(), connections }).await?;
                client.run(&Step::Closed { requests: WARMUP }).await?;
                let before =
                    if server == "ours" { Some(latency_buckets(servers.ours_metrics, "webhook").await?) } else { None };
                let cpu_before = cpu_now(servers)?;
                let mut open = client.run(&Step::Open { rate, secs }).await?;
                let cpu_after = cpu_now(servers)?;
                let server_side = match before {
                    Some(before) => Some(delta(&before, &latency_buckets(servers.ours_metrics, "webhook").await?)),
                    None => None,
                };
                let mut closed = client.run(&Step::Closed { requests: CLOSED }).await?;
                let achieved = open.service.len() as f64 / open.wall().as_secs_f64();
                // Before the percentiles sort the latencies out of send order.
                let slow = slow_requests(&open.service, &open.sent, 2_000_000);
                let (s, c) = (pct(&mut open.service), pct(&mut open.corrected));
                let closed_rps = closed.service.len() as f64 / closed.wall().as_secs_f64();
                let cp = pct(&mut closed.service);
                println!(
                    "round {round} {work:<10} {server}: open loop {rate} req/s x {secs} s: {} req, achieved {achieved:.0} \
                     req/s; service p50 {:.3} / p99 {:.3} / max {:.3} ms; corrected p99 {:.3} ms; closed loop \
                     {connections} connections: {closed_rps:.0} req/s, p99 {:.3} ms",
                    open.service.len(),
                    s.p50,
                    s.p99,
                    s.max,
                    c.p99,
                    cp.p99
                );
                println!("    slow: {slow}");
                // Ticks are 1/100 s: ticks per second of the loop is a percentage of one core.
                let share = |i: usize| (cpu_after[i] - cpu_before[i]) as f64 / open.wall().as_secs_f64();
                println!(
                    "    CPU over this open loop (% of one core): our server {:.0}, devcluster (bench process) {:.0}, \
                     bare {:.0}",
                    share(0),
                    share(1),
                    share(2)
                );
                if let Some(side) = &server_side {
                    println!("    server-side, this open loop: {}", side.describe());
                }
                rows.push(LoadRow {
                    round,
                    work,
                    server,
                    achieved,
                    p50: s.p50,
                    p99: s.p99,
                    max: s.max,
                    corrected_p99: c.p99,
                    closed_rps,
                    server_side,
                });
            }
        }
    }
    Ok(rows)
}
