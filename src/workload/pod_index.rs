//! The pod index (spec §10.14): a few-field [`PodEntry`] per pod of a DPA target, filled by one
//! label-selector watch per target (built from the workload's `spec.selector`) that starts when
//! the gate opens and stops when the last DPA for the target goes away. Pods outside every target
//! are never requested nor stored.
//!
//! Pods of one target mostly share their owner, rec-id and container resources, so each target
//! keeps one copy of each distinct value ([`Shared`]) and its entries point at it: a tracked pod
//! costs its name, one table slot and a few pointers.

mod feed;
mod fields;
mod list_watch;
mod watches;

mod shared;

use std::collections::HashMap;

use parking_lot::RwLock;

pub use feed::TargetFeed;
pub use fields::{
    AppliedNotice, ContainerResourceEntry, EVENT_ANNOTATION, PodEntry, PodFields, PodOwner, PodPhase, RESTART_ON_CPU,
    RESTART_ON_MEMORY, REVISION_LABEL, ResizeState, revision_hash,
};
pub(crate) use watches::run;
pub use watches::selector_string;

use super::dpa_store::TargetKey;
use shared::Shared;

/// The pods of one target; `generation` tells a stopped watch's late writes from the current one's.
struct TargetPods {
    generation: u64,
    synced: bool,
    pods: HashMap<Box<str>, PodEntry>,
    shared: Shared,
}

#[derive(Default)]
pub struct PodIndex {
    targets: RwLock<HashMap<TargetKey, TargetPods>>,
    next_generation: std::sync::atomic::AtomicU64,
    applied: AppliedNotices,
}

/// Pods of targets seen with a recommendation applied and no event recorded yet.
struct AppliedNotices(tokio::sync::broadcast::Sender<AppliedNotice>);

impl Default for AppliedNotices {
    fn default() -> Self {
        AppliedNotices(tokio::sync::broadcast::channel(1024).0)
    }
}

impl PodIndex {
    /// Number of pods stored, all targets together.
    pub fn len(&self) -> usize {
        self.targets.read().values().map(|t| t.pods.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets being followed.
    pub fn targets(&self) -> Vec<TargetKey> {
        self.targets.read().keys().cloned().collect()
    }

    /// True once the target's pod watch has listed.
    pub fn synced(&self, target: &TargetKey) -> bool {
        self.targets.read().get(target).is_some_and(|t| t.synced)
    }

    /// Number of the target's pods, without copying them (the controller's `currentReplicas`).
    pub fn count(&self, target: &TargetKey) -> usize {
        self.targets.read().get(target).map_or(0, |t| t.pods.len())
    }

    /// The target's pods by name, sorted.
    pub fn pods_of(&self, target: &TargetKey) -> Vec<(String, PodEntry)> {
        let targets = self.targets.read();
        let mut pods: Vec<_> = targets
            .get(target)
            .map(|t| t.pods.iter().map(|(n, p)| (n.to_string(), p.clone())).collect())
            .unwrap_or_default();
        pods.sort_by(|a, b| a.0.cmp(&b.0));
        pods
    }

    /// A pod of any target.
    pub fn get(&self, namespace: &str, name: &str) -> Option<PodEntry> {
        let targets = self.targets.read();
        let mut of_ns = targets.iter().filter(|(t, _)| &*t.namespace == namespace);
        of_ns.find_map(|(_, t)| t.pods.get(name).cloned())
    }

    /// Pods of targets the watches see with a recommendation applied and no `RecommendationApplied`
    /// event recorded yet (spec §10.10), from now on.
    pub fn subscribe_applied(&self) -> tokio::sync::broadcast::Receiver<AppliedNotice> {
        self.applied.0.subscribe()
    }

    fn notify_applied(&self, notice: AppliedNotice) {
        let _ = self.applied.0.send(notice);
    }

    /// Starts following `target`; returns the generation its watch writes with.
    fn add_target(&self, target: &TargetKey) -> u64 {
        let generation = self.next_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pods = TargetPods { generation, synced: false, pods: HashMap::new(), shared: Shared::default() };
        self.targets.write().insert(target.clone(), pods);
        generation
    }

    /// Stops following `target` and forgets its pods.
    fn drop_target(&self, target: &TargetKey) {
        self.targets.write().remove(target);
    }

    fn with_target(&self, target: &TargetKey, generation: u64, f: impl FnOnce(&mut TargetPods)) {
        if let Some(t) = self.targets.write().get_mut(target).filter(|t| t.generation == generation) {
            f(t);
        }
    }

    fn replace(&self, target: &TargetKey, generation: u64, mut pods: HashMap<Box<str>, PodEntry>) {
        self.with_target(target, generation, |t| {
            let mut shared = Shared::default();
            pods.values_mut().for_each(|pod| shared.share(pod));
            pods.shrink_to_fit();
            (t.pods, t.shared) = (pods, shared);
            t.synced = true;
        });
    }

    fn insert(&self, target: &TargetKey, generation: u64, name: &str, mut pod: PodEntry) {
        self.with_target(target, generation, |t| {
            t.shared.share(&mut pod);
            t.pods.insert(name.into(), pod);
        });
    }

    fn remove(&self, target: &TargetKey, generation: u64, name: &str) {
        self.with_target(target, generation, |t| {
            t.pods.remove(name);
            t.shared.prune();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str) -> TargetKey {
        TargetKey {
            namespace: "ns".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: name.into(),
        }
    }

    fn entry() -> PodEntry {
        PodEntry {
            owner: Some(std::sync::Arc::new(PodOwner { kind: "ReplicaSet".into(), name: "web-1".into() })),
            ready: true,
            ..Default::default()
        }
    }

    #[test]
    fn count_is_the_targets_pods_of_the_current_watch() {
        let index = PodIndex::default();
        let (web, db) = (target("web"), target("db"));
        let stale = index.add_target(&web);
        let current = index.add_target(&web);
        let other = index.add_target(&db);
        for name in ["a", "b", "c"] {
            index.insert(&web, current, name, entry());
        }
        index.insert(&web, stale, "late", entry());
        index.insert(&db, other, "x", entry());
        assert_eq!(index.count(&web), 3, "the stale watch's write is ignored");
        assert_eq!(index.count(&web), index.pods_of(&web).len());
        index.remove(&web, current, "b");
        assert_eq!(index.count(&web), 2);
        assert_eq!(index.count(&db), 1);
        assert_eq!(index.count(&target("unknown")), 0);
        index.drop_target(&web);
        assert_eq!(index.count(&web), 0);
    }
}
