//! The few facts the controllers need about a pod, read from the stored object without building a
//! full JSON tree (labels, node and phase are already parsed beside the stored bytes; readiness and
//! creation time come from a small typed decode). Counting a ReplicaSet's pods stays cheap with
//! 100,000 pods in the store.

use std::sync::Arc;

use serde::Deserialize;

use super::super::Cluster;
use super::super::store::{ObjectKey, Stored, TableKey};

#[derive(Debug, Clone)]
pub struct PodView {
    pub stored: Arc<Stored>,
    pub node: String,
    pub phase: String,
    pub ready: bool,
    /// When Ready last became True (RFC 3339), for minReadySeconds.
    pub ready_since: String,
    pub created: String,
}

#[derive(Deserialize, Default)]
struct Lite {
    #[serde(default)]
    metadata: LiteMeta,
    #[serde(default)]
    status: LiteStatus,
}

#[derive(Deserialize, Default)]
struct LiteMeta {
    #[serde(default, rename = "creationTimestamp")]
    created: String,
}

#[derive(Deserialize, Default)]
struct LiteStatus {
    #[serde(default)]
    conditions: Vec<LiteCondition>,
}

#[derive(Deserialize, Default)]
struct LiteCondition {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default, rename = "lastTransitionTime")]
    since: Option<String>,
}

impl PodView {
    pub fn of(stored: Arc<Stored>) -> PodView {
        let lite: Lite = serde_json::from_slice(&stored.json).unwrap_or_default();
        let ready = lite.status.conditions.iter().find(|c| c.kind == "Ready");
        PodView {
            node: stored.field("spec.nodeName").unwrap_or_default(),
            phase: stored.field("status.phase").unwrap_or_default(),
            ready: ready.is_some_and(|c| c.status == "True"),
            ready_since: ready.and_then(|c| c.since.clone()).unwrap_or_default(),
            created: lite.metadata.created,
            stored,
        }
    }

    pub fn name(&self) -> &str {
        &self.stored.key.name
    }

    /// Not being deleted and not finished (kube's `FilterActivePods`).
    pub fn active(&self) -> bool {
        !self.stored.deleting && self.phase != "Succeeded" && self.phase != "Failed"
    }

    /// Ready for at least `min_ready_seconds` (kube's `IsPodAvailable`).
    pub fn available(&self, min_ready_seconds: i64, now: time::OffsetDateTime) -> bool {
        if !self.ready {
            return false;
        }
        if min_ready_seconds <= 0 {
            return true;
        }
        let fmt = &time::format_description::well_known::Rfc3339;
        time::OffsetDateTime::parse(&self.ready_since, fmt)
            .is_ok_and(|t| t + time::Duration::seconds(min_ready_seconds) <= now)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.stored.labels.get(key).map(String::as_str)
    }
}

/// The pods whose controller reference is `owner_uid`, from the store's owner index.
pub fn owned_pods(cluster: &Cluster, pods: &TableKey, owner_uid: &str) -> Vec<PodView> {
    let mut out: Vec<PodView> = cluster
        .store
        .dependents_of(owner_uid)
        .into_iter()
        .filter(|(table, _)| table == pods)
        .filter_map(|(table, key): (TableKey, ObjectKey)| cluster.store.get(&table, &key))
        .filter(|s| s.owners.iter().any(|o| o.uid == owner_uid))
        .map(PodView::of)
        .collect();
    out.sort_by(|a, b| a.stored.key.cmp(&b.stored.key));
    out
}
