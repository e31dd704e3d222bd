//! The per-cluster limit (`autoscaling.workload.limit`, spec §10.5): of all known DPAs, the
//! `limit` oldest by creation time (then by key, so every replica admits the same ones) are
//! admitted; the others get `ClusterAutoscalerLimitReached` until older ones go away. Changes
//! report the keys whose admission flipped so the controller reconciles them.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::jiff::Timestamp;
use parking_lot::Mutex;

use crate::workload::model::DpaKey;

#[derive(Default)]
struct Entries {
    ordered: BTreeSet<(Timestamp, DpaKey)>,
    created: HashMap<DpaKey, Timestamp>,
}

pub struct AdmissionSet {
    limit: usize,
    entries: Mutex<Entries>,
}

impl AdmissionSet {
    pub fn new(limit: usize) -> Self {
        AdmissionSet { limit, entries: Mutex::default() }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// True when `key` is among the `limit` oldest known DPAs.
    pub fn admits(&self, key: &DpaKey) -> bool {
        let entries = self.entries.lock();
        let Some(created) = entries.created.get(key) else { return false };
        entries.ordered.range(..(*created, key.clone())).take(self.limit).count() < self.limit
    }

    /// Records `key` created at `created`; returns the keys whose admission changed.
    pub fn observe(&self, key: &DpaKey, created: Timestamp) -> Vec<DpaKey> {
        let mut entries = self.entries.lock();
        if entries.created.get(key) == Some(&created) {
            return Vec::new();
        }
        let before = self.admitted(&entries);
        if let Some(old) = entries.created.insert(key.clone(), created) {
            entries.ordered.remove(&(old, key.clone()));
        }
        entries.ordered.insert((created, key.clone()));
        flipped(before, self.admitted(&entries))
    }

    /// Forgets `key`; returns the keys whose admission changed.
    pub fn remove(&self, key: &DpaKey) -> Vec<DpaKey> {
        let mut entries = self.entries.lock();
        let Some(created) = entries.created.remove(key) else { return Vec::new() };
        let before = self.admitted(&entries);
        entries.ordered.remove(&(created, key.clone()));
        flipped(before, self.admitted(&entries))
    }

    fn admitted(&self, entries: &Entries) -> BTreeSet<DpaKey> {
        entries.ordered.iter().take(self.limit).map(|(_, k)| k.clone()).collect()
    }
}

fn flipped(before: BTreeSet<DpaKey>, after: BTreeSet<DpaKey>) -> Vec<DpaKey> {
    before.symmetric_difference(&after).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn the_oldest_are_admitted_and_leaving_ones_make_room() {
        let set = AdmissionSet::new(2);
        let (a, b, c) = (DpaKey::new("ns", "a"), DpaKey::new("ns", "b"), DpaKey::new("ns", "c"));
        assert!(set.observe(&c, at(30)).contains(&c));
        set.observe(&b, at(20));
        assert!(set.admits(&b) && set.admits(&c));
        // An older DPA pushes out the newest.
        let changed = set.observe(&a, at(10));
        assert_eq!(changed, vec![a.clone(), c.clone()]);
        assert!(set.admits(&a) && set.admits(&b) && !set.admits(&c));
        assert!(set.observe(&a, at(10)).is_empty());
        assert_eq!(set.remove(&b), vec![b.clone(), c.clone()]);
        assert!(set.admits(&c));
        assert!(!set.admits(&DpaKey::new("ns", "unknown")));
    }

    #[test]
    fn equal_creation_times_are_ordered_by_key() {
        let set = AdmissionSet::new(1);
        let (a, b) = (DpaKey::new("ns", "a"), DpaKey::new("ns", "b"));
        set.observe(&b, at(5));
        set.observe(&a, at(5));
        assert!(set.admits(&a));
        assert!(!set.admits(&b));
    }

    #[test]
    fn a_zero_limit_admits_nothing() {
        let set = AdmissionSet::new(0);
        let a = DpaKey::new("ns", "a");
        assert!(set.observe(&a, at(1)).is_empty());
        assert!(!set.admits(&a));
    }
}
