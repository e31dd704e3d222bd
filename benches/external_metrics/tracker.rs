//! Watches every DatadogMetric (a kube-rs watcher over HTTPS, as any client would) and records
//! when each status write is seen: whether it says Valid, and its Active condition's
//! lastUpdateTime (the refresh that wrote it). The refresh figures are computed from these.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::fleet::{all_datadogmetrics, index_of};
use super::querier::QueryCall;

#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Instant,
    index: usize,
    /// Active's lastUpdateTime, unix seconds.
    active_update_s: Option<i64>,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    valid: HashMap<usize, bool>,
    valid_count: usize,
    /// (when, how many were Valid) at each change of the count.
    valid_history: Vec<(Instant, usize)>,
}

pub struct Tracker {
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

/// Status writes seen for one refresh.
pub struct Writes {
    /// Metrics (of those asked about) whose status this refresh wrote.
    pub written: usize,
    /// When the last of them was seen.
    pub last: Option<Instant>,
}

impl Tracker {
    pub fn spawn(client: &kube::Client) -> Tracker {
        let state = Arc::new(Mutex::new(State::default()));
        let events = watcher(all_datadogmetrics(client), watcher::Config::default()).default_backoff();
        let recorder = state.clone();
        let task = tokio::spawn(async move {
            tokio::pin!(events);
            while let Some(event) = events.next().await {
                let object = match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                    Ok(_) => continue,
                    Err(e) => {
                        eprintln!("DatadogMetric watch error (retrying): {e}");
                        continue;
                    }
                };
                let Some(index) = object.metadata.name.as_deref().and_then(index_of) else { continue };
                let status = object.data.get("status");
                let valid = condition(status, "Valid").is_some_and(|c| c["status"] == "True");
                let active_update_s = condition(status, "Active")
                    .and_then(|c| c["lastUpdateTime"].as_str())
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map(|t| t.as_second());
                let at = Instant::now();
                let mut s = recorder.lock();
                s.seen.push(Seen { at, index, active_update_s });
                let before = s.valid.insert(index, valid).unwrap_or(false);
                if before != valid {
                    if valid {
                        s.valid_count += 1;
                    } else {
                        s.valid_count -= 1;
                    }
                    let count = s.valid_count;
                    s.valid_history.push((at, count));
                }
            }
        });
        Tracker { state, task }
    }

    pub fn valid_count(&self) -> usize {
        self.state.lock().valid_count
    }

    /// When at least `n` DatadogMetrics were first seen Valid at once.
    pub fn all_valid_at(&self, n: usize) -> Option<Instant> {
        self.state.lock().valid_history.iter().find(|(_, count)| *count >= n).map(|(at, _)| *at)
    }

    /// Writes of metrics `0..n` carrying `call`'s results: seen after the call returned (and
    /// before `until`), with an Active lastUpdateTime no older than the call's end.
    pub fn writes_for(&self, call: &QueryCall, until: Option<Instant>, n: usize) -> Writes {
        let stamp = unix_s(call.finished_wall);
        let s = self.state.lock();
        let mut first: HashMap<usize, Instant> = HashMap::new();
        let relevant = s.seen.iter().filter(|e| {
            e.index < n
                && e.at >= call.finished
                && until.is_none_or(|u| e.at < u)
                && e.active_update_s.is_some_and(|t| t >= stamp)
        });
        for e in relevant {
            first.entry(e.index).or_insert(e.at);
        }
        Writes { written: first.len(), last: first.values().max().copied() }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

fn condition<'a>(status: Option<&'a Value>, kind: &str) -> Option<&'a Value> {
    status?.get("conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

fn unix_s(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
