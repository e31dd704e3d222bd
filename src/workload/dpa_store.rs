//! The in-memory DatadogPodAutoscaler store every replica keeps from its DPA watch: one small
//! entry per DPA (target, apply mode, vertical recommendation from `status.vertical`), indexed by
//! target workload so the webhook finds a pod's DPAs with one lookup, and the set of targets the
//! pod index follows (published on a watch channel).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use tokio::sync::watch;

use super::crd::{ApplyPolicyMode, DatadogPodAutoscaler, UpdateStrategy, VerticalTarget};
use super::vertical::{VerticalInputs, is_paused};

/// A workload a DPA targets: `targetRef` qualified by the DPA's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub namespace: String,
    /// `targetRef.apiVersion` (empty when the DPA leaves it out).
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for TargetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{} ({})", self.kind, self.namespace, self.name, self.api_version)
    }
}

/// What the webhook and the pod index need of one DPA.
#[derive(Clone, Debug, PartialEq)]
pub struct DpaEntry {
    pub namespace: String,
    pub name: String,
    pub target: TargetKey,
    pub mode: ApplyPolicyMode,
    pub update_strategy: Option<UpdateStrategy>,
    /// The active vertical recommendation (from `status.vertical.target` until the vertical
    /// controller keeps its own).
    pub vertical: Option<VerticalTarget>,
    /// The pause annotation is set: pods get no recommendation.
    pub paused: bool,
    /// Constraints, forced resources and burstable mode, re-applied by the webhook to
    /// `vertical` exactly as the vertical controller applies them.
    pub vertical_inputs: VerticalInputs,
}

impl DpaEntry {
    pub fn from_object(dpa: &DatadogPodAutoscaler) -> Result<Self, String> {
        let namespace = dpa.metadata.namespace.clone().ok_or("DatadogPodAutoscaler without a namespace")?;
        let name =
            dpa.metadata.name.clone().ok_or_else(|| format!("DatadogPodAutoscaler in {namespace} without a name"))?;
        let spec = &dpa.spec;
        let policy = spec.apply_policy.as_ref();
        let annotations = dpa.metadata.annotations.clone().unwrap_or_default();
        Ok(DpaEntry {
            paused: is_paused(&annotations),
            vertical_inputs: VerticalInputs::of(spec, &annotations),
            target: TargetKey {
                namespace: namespace.clone(),
                api_version: spec.target_ref.api_version.clone().unwrap_or_default(),
                kind: spec.target_ref.kind.clone(),
                name: spec.target_ref.name.clone(),
            },
            mode: policy.and_then(|p| p.mode).unwrap_or_default(),
            update_strategy: policy.and_then(|p| p.update.as_ref()).and_then(|u| u.strategy),
            vertical: dpa.status.as_ref().and_then(|s| s.vertical.as_ref()).and_then(|v| v.target.clone()),
            namespace,
            name,
        })
    }

    /// `<namespace>/<name>`, the `autoscaler-id` pods carry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

type Key = (String, String);

#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, Arc<DpaEntry>>,
    by_target: HashMap<TargetKey, BTreeSet<Key>>,
}

impl Entries {
    fn insert(&mut self, entry: Arc<DpaEntry>) {
        let key = (entry.namespace.clone(), entry.name.clone());
        self.remove(&key);
        self.by_target.entry(entry.target.clone()).or_default().insert(key.clone());
        self.by_key.insert(key, entry);
    }

    fn remove(&mut self, key: &Key) {
        let Some(old) = self.by_key.remove(key) else { return };
        if let Some(keys) = self.by_target.get_mut(&old.target) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_target.remove(&old.target);
            }
        }
    }
}

pub struct DpaStore {
    entries: RwLock<Entries>,
    targets: watch::Sender<BTreeSet<TargetKey>>,
    synced: AtomicBool,
}

impl Default for DpaStore {
    fn default() -> Self {
        DpaStore {
            entries: RwLock::default(),
            targets: watch::channel(BTreeSet::new()).0,
            synced: AtomicBool::new(false),
        }
    }
}

impl DpaStore {
    pub fn upsert(&self, entry: DpaEntry) {
        self.entries.write().insert(Arc::new(entry));
        self.publish_targets();
    }

    pub fn remove(&self, namespace: &str, name: &str) {
        self.entries.write().remove(&(namespace.to_string(), name.to_string()));
        self.publish_targets();
    }

    /// Replaces everything (a watch relist) and marks the store synced.
    pub fn replace_all(&self, entries: Vec<DpaEntry>) {
        {
            let mut all = self.entries.write();
            *all = Entries::default();
            for e in entries {
                all.insert(Arc::new(e));
            }
        }
        self.synced.store(true, Ordering::Release);
        self.publish_targets();
    }

    /// True once the first list of DPAs has been loaded.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.entries.read().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<DpaEntry>> {
        self.entries.read().by_key.get(&(namespace.to_string(), name.to_string())).cloned()
    }

    /// The DPAs targeting `target`.
    pub fn for_target(&self, target: &TargetKey) -> Vec<Arc<DpaEntry>> {
        let entries = self.entries.read();
        let keys = entries.by_target.get(target).into_iter().flatten();
        keys.filter_map(|k| entries.by_key.get(k).cloned()).collect()
    }

    /// The set of targets, updated on every change.
    pub fn subscribe_targets(&self) -> watch::Receiver<BTreeSet<TargetKey>> {
        self.targets.subscribe()
    }

    fn publish_targets(&self) {
        let targets: BTreeSet<TargetKey> = self.entries.read().by_target.keys().cloned().collect();
        self.targets.send_if_modified(|current| {
            let changed = *current != targets;
            *current = targets;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ns: &str, name: &str, target: &str) -> DpaEntry {
        let dpa: DatadogPodAutoscaler = serde_json::from_value(serde_json::json!({
            "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
        }))
        .unwrap();
        DpaEntry::from_object(&dpa).unwrap()
    }

    #[test]
    fn targets_follow_the_last_dpa_of_each_workload() {
        let store = DpaStore::default();
        let rx = store.subscribe_targets();
        store.upsert(entry("prod", "a", "web"));
        store.upsert(entry("prod", "b", "web"));
        store.upsert(entry("prod", "c", "api"));
        let web = entry("prod", "a", "web").target;
        assert_eq!(store.for_target(&web).len(), 2);
        assert_eq!(rx.borrow().len(), 2);
        store.remove("prod", "a");
        assert!(rx.borrow().contains(&web), "web is still targeted by prod/b");
        store.remove("prod", "b");
        assert!(!rx.borrow().contains(&web));
        assert_eq!(store.for_target(&web), vec![]);
        store.upsert(entry("prod", "c", "web"));
        assert_eq!(rx.borrow().iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["web"], "c moved from api to web");
        assert_eq!(store.get("prod", "c").unwrap().id(), "prod/c");
    }
}
