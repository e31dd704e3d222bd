//! One copy per target of the values its pods share: the owner (kind and name), rec-id, and the
//! container resources (pods of one ReplicaSet have the same ones until a resize). An entry's
//! `Arc`s are swapped for the stored equal ones; values no pod uses any more are dropped once
//! the store has doubled since the last clean-up, so the work stays amortised O(1) per change.

use std::collections::HashSet;
use std::sync::Arc;

use super::fields::{ContainerResourceEntry, PodEntry, PodOwner};

#[derive(Default)]
pub(super) struct Shared {
    owners: HashSet<Arc<PodOwner>>,
    texts: HashSet<Arc<str>>,
    containers: HashSet<Arc<[ContainerResourceEntry]>>,
    /// Values held after the last clean-up.
    kept: usize,
}

impl Shared {
    /// Points `pod`'s shareable values at the stored copies (storing new ones).
    pub(super) fn share(&mut self, pod: &mut PodEntry) {
        if let Some(owner) = pod.owner.as_mut() {
            *owner = share(&mut self.owners, owner);
        }
        if let Some(rec_id) = pod.rec_id.as_mut() {
            *rec_id = share(&mut self.texts, rec_id);
        }
        pod.containers = share(&mut self.containers, &pod.containers);
        if self.len() > 2 * self.kept + 16 {
            self.prune();
        }
    }

    /// Drops the values no pod points at once the store has doubled since the last clean-up.
    pub(super) fn prune(&mut self) {
        if self.len() <= 2 * self.kept + 16 {
            return;
        }
        self.owners.retain(|o| Arc::strong_count(o) > 1);
        self.texts.retain(|t| Arc::strong_count(t) > 1);
        self.containers.retain(|c| Arc::strong_count(c) > 1);
        self.kept = self.len();
    }

    fn len(&self) -> usize {
        self.owners.len() + self.texts.len() + self.containers.len()
    }
}

/// The stored copy equal to `value`, storing `value` when there is none.
fn share<T: ?Sized + Eq + std::hash::Hash>(store: &mut HashSet<Arc<T>>, value: &Arc<T>) -> Arc<T> {
    match store.get(value) {
        Some(stored) => stored.clone(),
        None => {
            store.insert(value.clone());
            value.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(owner: &str, rec_id: &str, cpu: &str) -> PodEntry {
        PodEntry {
            owner: Some(Arc::new(PodOwner { kind: "ReplicaSet".into(), name: owner.into() })),
            rec_id: Some(rec_id.into()),
            containers: vec![ContainerResourceEntry {
                name: "app".into(),
                cpu_request: Some(cpu.into()),
                ..Default::default()
            }]
            .into(),
            ready: true,
            ..Default::default()
        }
    }

    #[test]
    fn equal_values_are_one_copy_and_unused_ones_are_dropped() {
        let mut shared = Shared::default();
        let mut pods: Vec<PodEntry> = (0..100).map(|_| pod("web-1", "r1", "100m")).collect();
        pods.iter_mut().for_each(|p| shared.share(p));
        let first = &pods[0];
        for p in &pods[1..] {
            assert!(Arc::ptr_eq(&p.containers, &first.containers));
            assert!(Arc::ptr_eq(p.owner.as_ref().unwrap(), first.owner.as_ref().unwrap()));
            assert!(Arc::ptr_eq(p.rec_id.as_ref().unwrap(), first.rec_id.as_ref().unwrap()));
        }
        // Values are kept as they were: sharing changes no entry.
        assert_eq!(pods[99], pod("web-1", "r1", "100m"));
        assert_eq!(shared.len(), 3, "owner, rec-id, one container list");

        // Rollouts: every pod replaced many times over; the store stays bounded by live values.
        for round in 0..50 {
            for p in pods.iter_mut() {
                *p = pod(&format!("web-{round}"), &format!("r{round}"), &format!("{round}m"));
                shared.share(p);
            }
            shared.prune();
            // At most two rounds' values (6) are live at a clean-up: the store stays under twice
            // that plus the slack and one pod's new values, however many rounds went by.
            assert!(shared.len() <= 2 * 6 + 16 + 3, "round {round}: {} values held", shared.len());
        }
        assert_eq!(pods[0].owner.as_ref().unwrap().name.as_ref(), "web-49");
    }
}
