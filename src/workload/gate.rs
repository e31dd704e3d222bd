//! The lazy start gate (spec §10.14): a one-shot latch opened the first time the process sees a
//! DatadogPodAutoscaler or a cluster profile. Until then nothing watches pods or workloads and the
//! webhook allows pods unchanged; readiness never waits on it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use tokio::sync::watch;

pub struct AutoscalingGate {
    open: AtomicBool,
    opened: watch::Sender<bool>,
    why: OnceLock<Opened>,
}

/// Why and when the gate opened (for `/status`).
#[derive(Clone, Debug)]
pub struct Opened {
    pub reason: String,
    pub at: SystemTime,
}

impl Default for AutoscalingGate {
    fn default() -> Self {
        AutoscalingGate { open: AtomicBool::new(false), opened: watch::channel(false).0, why: OnceLock::new() }
    }
}

impl AutoscalingGate {
    /// Opens the gate (idempotent); `why` is logged the first time only.
    pub fn open(&self, why: &str) {
        if !self.open.swap(true, Ordering::AcqRel) {
            let _ = self.why.set(Opened { reason: why.to_string(), at: SystemTime::now() });
            tracing::info!(reason = why, "autoscaling stack starting");
            self.opened.send_replace(true);
        }
    }

    /// One atomic load: what the webhook checks before touching the request body.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Why and when the gate opened; `None` while closed.
    pub fn opened(&self) -> Option<&Opened> {
        self.why.get()
    }

    /// Resolves when the gate opens (at once if it is open).
    pub async fn wait_open(&self) {
        let mut rx = self.opened.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_once_and_wakes_waiters() {
        let gate = std::sync::Arc::new(AutoscalingGate::default());
        assert!(!gate.is_open());
        assert!(gate.opened().is_none());
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_open().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        gate.open("first DPA default/web");
        gate.open("second DPA");
        assert_eq!(gate.opened().map(|o| o.reason.as_str()), Some("first DPA default/web"));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert!(gate.is_open());
        gate.wait_open().await;
    }
}
