//! The workload autoscaling section of `/status`: whether it is enabled, the lazy start gate (open
//! or not, why and when), the DPAs this replica knows, the targets whose pods it follows and the
//! pods indexed, plus the recommendation feed's per-config states when a feed runs (a hook the
//! feed fills: [`FeedStatusSource`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::rfc3339;
use crate::workload::{AutoscalingGate, DpaStore, PodIndex};

/// The feed's per-config acknowledgement states as JSON (the feed owns the shape).
pub type FeedStatusSource = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStatus {
    /// `autoscaling.workload.enabled`.
    pub enabled: bool,
    /// The lazy start gate: pods are watched only once it is open.
    pub gate_open: bool,
    /// What opened it (the first DPA or cluster profile seen).
    pub gate_reason: Option<String>,
    pub gate_opened_at: Option<String>,
    /// The DPA list has been read.
    pub dpas_synced: bool,
    /// DatadogPodAutoscalers in this replica's store.
    pub dpas: usize,
    /// Workloads whose pods are watched (one label-selector watch each).
    pub targets: usize,
    /// Pods in the index, all targets together.
    pub pods_indexed: usize,
    /// The recommendation feed's state (`autoscaling.workload.recommendations.source`), if one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<serde_json::Value>,
}

/// What the section is read from, at request time.
#[derive(Clone)]
pub struct WorkloadParts {
    pub gate: Arc<AutoscalingGate>,
    pub dpas: Arc<DpaStore>,
    pub pods: Arc<PodIndex>,
    pub feed: Option<FeedStatusSource>,
}

impl WorkloadParts {
    pub fn status(&self) -> WorkloadStatus {
        let opened = self.gate.opened();
        WorkloadStatus {
            enabled: true,
            gate_open: self.gate.is_open(),
            gate_reason: opened.map(|o| o.reason.clone()),
            gate_opened_at: opened.map(|o| rfc3339(o.at)),
            dpas_synced: self.dpas.synced(),
            dpas: self.dpas.len(),
            targets: self.pods.targets().len(),
            pods_indexed: self.pods.len(),
            feed: self.feed.as_ref().map(|f| f()),
        }
    }
}

/// The section's readable form (a few lines after the leader header).
pub fn render(w: &WorkloadStatus) -> String {
    if !w.enabled {
        return "Workload autoscaling: disabled (autoscaling.workload.enabled)\n".to_owned();
    }
    let gate = match (&w.gate_reason, &w.gate_opened_at) {
        _ if !w.gate_open => "closed (no DatadogPodAutoscaler or cluster profile yet: no pod is watched)".to_owned(),
        (Some(reason), Some(at)) => format!("open since {at} ({reason})"),
        _ => "open".to_owned(),
    };
    let synced = if w.dpas_synced { "" } else { " (list not read yet)" };
    let mut out = format!(
        "Workload autoscaling: enabled\n  Gate:    {gate}\n  DPAs:    {}{synced}\n  Pods:    {} indexed for {} target(s)\n",
        w.dpas, w.pods_indexed, w.targets
    );
    if let Some(feed) = &w.feed {
        out.push_str(&format!("  Feed:    {feed}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_report_the_gate_store_and_index() {
        let parts = WorkloadParts {
            gate: Arc::new(AutoscalingGate::default()),
            dpas: Arc::new(DpaStore::default()),
            pods: Arc::new(PodIndex::default()),
            feed: None,
        };
        let closed = parts.status();
        assert_eq!(closed, WorkloadStatus { enabled: true, ..Default::default() }, "closed gate, nothing known yet");
        assert!(render(&closed).contains("Gate:    closed"), "{}", render(&closed));
        parts.gate.open("DatadogPodAutoscaler default/shop");
        let parts = WorkloadParts { feed: Some(Arc::new(|| serde_json::json!({"configs": 2}))), ..parts };
        let open = parts.status();
        assert!(open.gate_open);
        assert_eq!(open.gate_reason.as_deref(), Some("DatadogPodAutoscaler default/shop"));
        assert!(open.gate_opened_at.is_some());
        assert_eq!(open.feed, Some(serde_json::json!({"configs": 2})));
        let text = render(&open);
        assert!(text.contains("(DatadogPodAutoscaler default/shop)") && text.contains("Feed:"), "{text}");
        assert_eq!(
            render(&WorkloadStatus::default()),
            "Workload autoscaling: disabled (autoscaling.workload.enabled)\n"
        );
    }
}
