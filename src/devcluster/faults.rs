//! Fault injection for tests: delay or fail requests by path, close watch streams, pause the server.
//! (History expiry lives on the store: `DevCluster::expire_history`.)

use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

/// What happens to requests whose path contains `path_contains`.
#[derive(Debug, Clone)]
pub struct RequestFault {
    pub path_contains: String,
    /// Answer with this HTTP status (429, 500, 503) instead of serving.
    pub status: Option<u16>,
    pub delay: Duration,
    /// How many requests it applies to (None = until cleared).
    pub remaining: Option<u32>,
}

pub struct Faults {
    rules: Mutex<Vec<RequestFault>>,
    paused: watch::Sender<bool>,
    watch_generation: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { rules: Mutex::new(Vec::new()), paused: watch::channel(false).0, watch_generation: watch::channel(0).0 }
    }
}

/// What the server must do with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultAction {
    pub delay: Duration,
    pub status: Option<u16>,
}

impl Faults {
    pub fn add(&self, fault: RequestFault) {
        self.rules.lock().push(fault);
    }

    pub fn clear(&self) {
        self.rules.lock().clear();
    }

    /// Ends every open watch stream (clients see the connection end and re-watch).
    pub fn close_watches(&self) {
        self.watch_generation.send_modify(|g| *g += 1);
    }

    /// Holds every request until `resume`.
    pub fn pause(&self) {
        // send_replace: the value must stick even when no request is waiting yet.
        self.paused.send_replace(true);
    }

    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    pub(crate) fn watch_closer(&self) -> watch::Receiver<u64> {
        self.watch_generation.subscribe()
    }

    pub(crate) async fn wait_unpaused(&self) {
        let mut rx = self.paused.subscribe();
        // An error means the sender is gone: nothing can pause us any more.
        let _ = rx.wait_for(|p| !*p).await;
    }

    pub(crate) fn action_for(&self, path: &str) -> Option<FaultAction> {
        let mut rules = self.rules.lock();
        let idx = rules.iter().position(|r| path.contains(&r.path_contains))?;
        let rule = rules[idx].clone();
        if let Some(n) = rules[idx].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(idx);
            }
        }
        Some(FaultAction { delay: rule.delay, status: rule.status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_expire() {
        let f = Faults::default();
        f.add(RequestFault {
            path_contains: "/pods".into(),
            status: Some(503),
            delay: Duration::ZERO,
            remaining: Some(2),
        });
        assert_eq!(f.action_for("/api/v1/pods").unwrap().status, Some(503));
        assert!(f.action_for("/api/v1/configmaps").is_none());
        assert!(f.action_for("/api/v1/pods").is_some());
        assert!(f.action_for("/api/v1/pods").is_none());
    }
}
