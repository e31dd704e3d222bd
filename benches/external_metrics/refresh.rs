//! Refresh figures: pairs each retriever call with the status writes it caused (see
//! [`Tracker::writes_for`]) and prints calls per refresh and refresh wall times.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::querier::{QueryCall, RecordingQuerier};
use super::tracker::{Tracker, Writes};

pub struct Cycle {
    pub call: QueryCall,
    pub writes: Writes,
    /// The next refresh's querier call started before the last write of this one.
    pub overlapped: bool,
}

/// Waits until `count` refreshes from the `from`-th querier call on have written the status of
/// all `n` metrics, and returns every refresh from `from` up to the last of those.
pub async fn measure(
    querier: &RecordingQuerier,
    tracker: &Tracker,
    n: usize,
    from: usize,
    count: usize,
    period: Duration,
) -> anyhow::Result<Vec<Cycle>> {
    let limit = period * (count as u32 + 2) + Duration::from_secs(300);
    let deadline = Instant::now() + limit;
    loop {
        let cycles = cycles(querier, tracker, n, from);
        let complete: Vec<usize> =
            cycles.iter().enumerate().filter(|(_, c)| c.writes.written == n).map(|(i, _)| i).collect();
        if complete.len() >= count {
            let last = complete[count - 1];
            return Ok(cycles.into_iter().take(last + 1).collect());
        }
        if Instant::now() > deadline {
            bail!(
                "after {limit:?}: {} of {count} refreshes wrote all {n} statuses ({} refreshes seen)",
                complete.len(),
                cycles.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn cycles(querier: &RecordingQuerier, tracker: &Tracker, n: usize, from: usize) -> Vec<Cycle> {
    let log = querier.log();
    let tail = log.get(from..).unwrap_or_default();
    tail.iter()
        .enumerate()
        .map(|(i, call)| {
            let next = tail.get(i + 1);
            let writes = tracker.writes_for(call, next.map(|c| c.finished), n);
            let overlapped = next.is_some_and(|next| writes.last.is_some_and(|last| last > next.started));
            Cycle { call: call.clone(), writes, overlapped }
        })
        .collect()
}

pub fn report(cycles: &[Cycle], n: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut walls = Vec::new();
    for (i, c) in cycles.iter().enumerate() {
        let datadog = c.call.finished - c.call.started;
        let wall = c.writes.last.map(|last| last - c.call.started);
        println!(
            "refresh {i}: {} distinct queries -> {} Datadog HTTP calls, {} values; Datadog phase {:.1} ms; \
             statuses written {}/{n}{}{}",
            c.call.specs,
            c.call.http_calls,
            c.call.values,
            ms(datadog),
            c.writes.written,
            wall.map_or(String::new(), |w| format!(
                ", refresh wall time {:.1} ms (first call -> last status write)",
                ms(w)
            )),
            if c.overlapped { " (writes still running when the next refresh started)" } else { "" }
        );
        if c.writes.written == n {
            walls.extend(wall);
        }
    }
    let calls: Vec<u64> = cycles.iter().map(|c| c.call.http_calls).collect();
    let (min, max) = (calls.iter().min().copied().unwrap_or(0), calls.iter().max().copied().unwrap_or(0));
    println!("Datadog calls per refresh: min {min}, max {max} over {} refreshes (target <= 3)", calls.len());
    walls.sort();
    if let (Some(first), Some(last)) = (walls.first(), walls.last()) {
        println!(
            "refresh wall time over the {} complete refreshes: min {:.1} ms, median {:.1} ms, max {:.1} ms",
            walls.len(),
            ms(*first),
            ms(walls[walls.len() / 2]),
            ms(*last)
        );
    }
}
