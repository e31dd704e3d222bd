//! What one target's pod watch hands the index: [`TargetFeed`] turns the watch's list and watch
//! events (pods decoded as [`PodFields`]) into the target's entries, keeping only the pods the
//! target owns (a selector can match other workloads' pods). The watch task owns one; the
//! memory test (tests/memory.rs) feeds one directly, so it measures what the watch stores.

use std::collections::HashMap;
use std::sync::Arc;

use kube::runtime::watcher::Event;

use super::fields::{PodEntry, PodFields};
use super::{PodIndex, TargetKey};
use crate::workload::owner;

/// The write side of one target's pods: the index, the target and the generation its watch
/// writes with, and the list in progress.
pub struct TargetFeed {
    index: Arc<PodIndex>,
    target: TargetKey,
    generation: u64,
    listing: HashMap<Box<str>, PodEntry>,
}

impl PodIndex {
    /// Starts following `target` (a watch of it started earlier writes no more) and returns the
    /// feed its pod watch's events go through.
    pub fn follow(self: &Arc<Self>, target: TargetKey) -> TargetFeed {
        let generation = self.add_target(&target);
        TargetFeed { index: self.clone(), target, generation, listing: HashMap::new() }
    }
}

impl TargetFeed {
    pub fn target(&self) -> &TargetKey {
        &self.target
    }

    /// One list or watch event: a list replaces the target's pods when done (`InitDone`).
    pub fn apply(&mut self, event: Event<PodFields>) {
        let (index, target, generation) = (&self.index, &self.target, self.generation);
        match event {
            Event::Init => self.listing.clear(),
            Event::InitApply(pod) => {
                if let Some((name, entry)) = entry_of(target, &pod) {
                    self.listing.insert(name.into(), entry);
                    pod.applied_notice().into_iter().for_each(|n| index.notify_applied(n));
                }
            }
            Event::InitDone => index.replace(target, generation, std::mem::take(&mut self.listing)),
            Event::Apply(pod) => match entry_of(target, &pod) {
                Some((name, entry)) => {
                    index.insert(target, generation, name, entry);
                    pod.applied_notice().into_iter().for_each(|n| index.notify_applied(n));
                }
                None => index.remove(target, generation, pod.metadata.name.as_deref().unwrap_or_default()),
            },
            Event::Delete(pod) => index.remove(target, generation, pod.metadata.name.as_deref().unwrap_or_default()),
        }
    }
}

/// The pod's entry when it belongs to `target`.
fn entry_of<'a>(target: &TargetKey, pod: &'a PodFields) -> Option<(&'a str, PodEntry)> {
    let name = pod.metadata.name.as_deref()?;
    let first = pod.metadata.owner_references.as_ref()?.first()?;
    let labels = pod.metadata.labels.as_ref();
    let workload = owner::resolve(&first.api_version, &first.kind, &first.name, |k| {
        labels.and_then(|l| l.get(k)).map(|v| v.as_str())
    });
    (workload.kind == *target.kind && workload.name == *target.name).then(|| (name, pod.entry()))
}
