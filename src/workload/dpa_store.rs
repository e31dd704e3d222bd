//! The in-memory DatadogPodAutoscaler store every replica keeps from its DPA watch: one small
//! entry per DPA (target, apply mode, vertical recommendation from `status.vertical`), indexed by
//! target workload so the webhook finds a pod's DPAs with one lookup, and the set of targets the
//! pod index follows (published on a watch channel).

use std::collections::BTreeSet;

use hashbrown::{Equivalent, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use tokio::sync::watch;

use super::crd::{ApplyPolicyMode, DatadogPodAutoscaler, UpdateStrategy, VerticalTarget};
use super::vertical::{VerticalInputs, is_paused};

/// A workload a DPA targets: `targetRef` qualified by the DPA's namespace. Its names are shared
/// (`Arc<str>`): the key is copied into the DPA store's indexes, the published target set, the
/// pod index and the target's watch, and each copy is then a few pointers (tests/memory.rs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub namespace: Arc<str>,
    /// `targetRef.apiVersion` (empty when the DPA leaves it out).
    pub api_version: Arc<str>,
    pub kind: Arc<str>,
    pub name: Arc<str>,
}

impl TargetKey {
    pub fn new(namespace: &str, api_version: &str, kind: &str, name: &str) -> Self {
        TargetKey { namespace: namespace.into(), api_version: api_version.into(), kind: kind.into(), name: name.into() }
    }

    /// The workload `target_ref` names, in `namespace`.
    pub fn of(namespace: &str, target_ref: &super::crd::TargetRef) -> Self {
        let api_version = target_ref.api_version.as_deref().unwrap_or_default();
        TargetKey::new(namespace, api_version, &target_ref.kind, &target_ref.name)
    }
}

impl std::fmt::Display for TargetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{} ({})", self.kind, self.namespace, self.name, self.api_version)
    }
}

/// A [`TargetKey`] borrowed from elsewhere (a pod's owner), to look the DPAs of a workload up
/// without copying its names; hashes as the `TargetKey` with the same fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TargetRef<'a> {
    pub namespace: &'a str,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

impl Equivalent<TargetKey> for TargetRef<'_> {
    fn equivalent(&self, key: &TargetKey) -> bool {
        self.namespace == &*key.namespace
            && self.api_version == &*key.api_version
            && self.kind == &*key.kind
            && self.name == &*key.name
    }
}

impl std::fmt::Display for TargetRef<'_> {
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
    /// The active vertical recommendation: `status.vertical.target`, or on the leader the target
    /// its controller is about to write ([`DpaStore::set_pending_vertical`]). Boxed: most DPAs
    /// have none, and inline it would cost every entry its size (tests/memory.rs).
    pub vertical: Option<Box<VerticalTarget>>,
    /// The pause annotation is set: pods get no recommendation.
    pub paused: bool,
    /// Constraints, forced resources and burstable mode, re-applied by the webhook to
    /// `vertical` exactly as the vertical controller applies them.
    pub vertical_inputs: VerticalInputs,
    /// What the webhook derives from the fields above, made on its first review of a pod of this
    /// DPA's target.
    pub(crate) webhook: Derived<super::webhook::Applied>,
}

/// A value derived from the entry holding it, made on first use. Entries are shared as
/// `Arc<DpaEntry>` and never changed once shared (a new recommendation, pause or spec is a new
/// entry), so the value stays right for the entry's life; a clone starts empty, so an entry made
/// from another (`DpaEntry { vertical, ..e.clone() }`) never inherits a value derived from
/// different fields. Entries compare equal whatever it holds.
pub struct Derived<T>(OnceLock<T>);

impl<T> Derived<T> {
    pub fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(make)
    }

    /// The value, if already made.
    pub fn get(&self) -> Option<&T> {
        self.0.get()
    }
}

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Derived(OnceLock::new())
    }
}

impl<T> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "Derived(made)" } else { "Derived(empty)" })
    }
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
            target: TargetKey::of(&namespace, &spec.target_ref),
            mode: policy.and_then(|p| p.mode).unwrap_or_default(),
            update_strategy: policy.and_then(|p| p.update.as_ref()).and_then(|u| u.strategy),
            vertical: dpa
                .status
                .as_ref()
                .and_then(|s| s.vertical.as_ref())
                .and_then(|v| v.target.clone())
                .map(Box::new),
            namespace,
            name,
            webhook: Derived::default(),
        })
    }

    /// `<namespace>/<name>`, the `autoscaler-id` pods carry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// `(namespace, name)`; the namespace is the target's, and one copy of the name serves both
/// indexes.
type Key = (Arc<str>, Arc<str>);

fn key(namespace: &str, name: &str) -> Key {
    (namespace.into(), name.into())
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, Arc<DpaEntry>>,
    by_target: HashMap<TargetKey, BTreeSet<Key>>,
    /// The leader's vertical targets not yet seen in `status` (see [`DpaStore::set_pending_vertical`]).
    pending: HashMap<Key, Option<VerticalTarget>>,
    /// For each key with both an entry and a pending target: the entry as the webhook sees it,
    /// made once per change (so what the webhook derives from it is kept too).
    views: HashMap<Key, Arc<DpaEntry>>,
}

impl Entries {
    fn insert(&mut self, entry: Arc<DpaEntry>) {
        let key = match self.by_key.get_key_value(&key(&entry.namespace, &entry.name)) {
            Some((kept, _)) => kept.clone(),
            None => (entry.target.namespace.clone(), entry.name.as_str().into()),
        };
        if self.pending.get(&key).is_some_and(|p| same_version(p.as_ref(), entry.vertical.as_deref())) {
            self.pending.remove(&key);
        }
        self.remove_entry(&key);
        self.by_target.entry(entry.target.clone()).or_default().insert(key.clone());
        self.by_key.insert(key.clone(), entry);
        self.refresh_view(&key);
    }

    fn remove(&mut self, key: &Key) {
        self.pending.remove(key);
        self.remove_entry(key);
        self.views.remove(key);
    }

    /// Sets (`Some`) or drops (`None`) the pending vertical target of `key`.
    fn set_pending(&mut self, key: Key, target: Option<Option<VerticalTarget>>) {
        match target {
            Some(target) => self.pending.insert(key.clone(), target),
            None => self.pending.remove(&key),
        };
        self.refresh_view(&key);
    }

    /// Remakes the kept view of `key` after its entry or pending target changed.
    fn refresh_view(&mut self, key: &Key) {
        match (self.by_key.get(key), self.pending.get(key)) {
            (Some(entry), Some(vertical)) => {
                let view = Arc::new(DpaEntry { vertical: vertical.clone().map(Box::new), ..DpaEntry::clone(entry) });
                self.views.insert(key.clone(), view);
            }
            _ => {
                self.views.remove(key);
            }
        }
    }

    /// The entry as the webhook sees it: with the pending vertical target, if any.
    fn view(&self, key: &Key, entry: &Arc<DpaEntry>) -> Arc<DpaEntry> {
        self.views.get(key).unwrap_or(entry).clone()
    }

    fn remove_entry(&mut self, key: &Key) {
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
        self.entries.write().remove(&key(namespace, name));
        self.publish_targets();
    }

    /// Replaces everything (a watch relist) and marks the store synced.
    pub fn replace_all(&self, entries: Vec<DpaEntry>) {
        {
            let mut all = self.entries.write();
            let pending = std::mem::take(&mut all.pending);
            *all = Entries { pending, ..Entries::default() };
            for e in entries {
                all.insert(Arc::new(e));
            }
            let Entries { by_key, pending, views, .. } = &mut *all;
            pending.retain(|key, _| by_key.contains_key(key));
            views.retain(|key, _| pending.contains_key(key));
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
        let key = key(namespace, name);
        let entries = self.entries.read();
        entries.by_key.get(&key).map(|e| entries.view(&key, e))
    }

    /// The DPAs targeting `target`.
    pub fn for_target(&self, target: &TargetKey) -> Vec<Arc<DpaEntry>> {
        let entries = self.entries.read();
        let keys = entries.by_target.get(target).into_iter().flatten();
        keys.filter_map(|k| entries.by_key.get(k).map(|e| entries.view(k, e))).collect()
    }

    /// The DPAs targeting `target` ([`DpaStore::for_target`] by borrowed names).
    pub fn for_target_ref(&self, target: &TargetRef) -> Vec<Arc<DpaEntry>> {
        let entries = self.entries.read();
        let keys = entries.by_target.get(target).into_iter().flatten();
        keys.filter_map(|k| entries.by_key.get(k).map(|e| entries.view(k, e))).collect()
    }

    /// The leader's controller publishes the vertical target it is about to write to the DPA's
    /// `status` before its steps act, so the pods its own scale-up or rollout creates get the
    /// recommendation even before the status write comes back through the watch (the DCA's
    /// webhook reads the leader's internal store). It stands in for `status.vertical.target`
    /// until the watched status carries the same version; nothing is stored when it already does.
    pub fn set_pending_vertical(&self, namespace: &str, name: &str, target: Option<VerticalTarget>) {
        let key = key(namespace, name);
        let mut entries = self.entries.write();
        let watched = entries.by_key.get(&key).map(|e| e.vertical.as_deref());
        if watched.is_some_and(|w| same_version(w, target.as_ref())) {
            entries.set_pending(key, None);
        } else {
            entries.set_pending(key, Some(target));
        }
    }

    /// Forgets the pending vertical target of a DPA (this process no longer leads): the webhook
    /// answers from `status` again.
    pub fn clear_pending_vertical(&self, namespace: &str, name: &str) {
        self.entries.write().set_pending(key(namespace, name), None);
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

/// Both absent, or the same recommendation ID.
fn same_version(a: Option<&VerticalTarget>, b: Option<&VerticalTarget>) -> bool {
    a.map(|t| t.version.as_str()) == b.map(|t| t.version.as_str())
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
        assert_eq!(rx.borrow().iter().map(|t| &*t.name).collect::<Vec<_>>(), ["web"], "c moved from api to web");
        assert_eq!(store.get("prod", "c").unwrap().id(), "prod/c");
    }

    fn target(version: &str) -> VerticalTarget {
        serde_json::from_value(serde_json::json!({"source": "Autoscaling", "version": version,
            "podCPURequest": "100m", "podMemoryRequest": "64Mi",
            "desiredResources": [{"name": "app", "requests": {"cpu": "100m", "memory": "64Mi"}}]}))
        .unwrap()
    }

    fn with_status(version: &str) -> DpaEntry {
        DpaEntry { vertical: Some(Box::new(target(version))), ..entry("prod", "a", "web") }
    }

    fn seen(store: &DpaStore) -> (Option<String>, Vec<Option<String>>) {
        let version = |e: &DpaEntry| e.vertical.as_ref().map(|v| v.version.clone());
        let by_target = store.for_target(&entry("prod", "a", "web").target).iter().map(|e| version(e)).collect();
        (store.get("prod", "a").and_then(|e| version(&e)), by_target)
    }

    #[test]
    fn a_pending_vertical_target_stands_in_until_the_status_carries_it() {
        let store = DpaStore::default();
        store.upsert(with_status("v1"));
        store.set_pending_vertical("prod", "a", Some(target("v2")));
        assert_eq!(seen(&store), (Some("v2".into()), vec![Some("v2".into())]));
        // An older status (another field changed) does not replace the pending target.
        store.upsert(with_status("v1"));
        assert_eq!(seen(&store).0.as_deref(), Some("v2"));
        // The status catches up: the pending target is dropped, the status is read again.
        store.upsert(with_status("v2"));
        store.upsert(with_status("v3"));
        assert_eq!(seen(&store).0.as_deref(), Some("v3"), "no stale pending target left");

        // No vertical target at all is pending too; same as the status: nothing kept.
        store.set_pending_vertical("prod", "a", None);
        assert_eq!(seen(&store), (None, vec![None]));
        store.set_pending_vertical("prod", "a", Some(target("v3")));
        store.upsert(with_status("v4"));
        assert_eq!(seen(&store).0.as_deref(), Some("v4"));

        // Leadership lost: cleared, the status is read again; a relist keeps a listed DPA's pending target.
        store.set_pending_vertical("prod", "a", Some(target("v5")));
        store.replace_all(vec![with_status("v4")]);
        assert_eq!(seen(&store).0.as_deref(), Some("v5"));
        store.clear_pending_vertical("prod", "a");
        assert_eq!(seen(&store).0.as_deref(), Some("v4"));
        store.set_pending_vertical("prod", "a", Some(target("v6")));
        store.remove("prod", "a");
        store.upsert(with_status("v4"));
        assert_eq!(seen(&store).0.as_deref(), Some("v4"), "a deleted DPA's pending target is forgotten");
    }

    #[test]
    fn the_webhook_view_of_an_entry_is_kept_until_it_changes() {
        let store = DpaStore::default();
        store.upsert(with_status("v1"));
        let view = || store.get("prod", "a").unwrap();
        assert!(Arc::ptr_eq(&view(), &view()), "the stored entry itself");
        view().webhook.get_or_init(|| crate::workload::webhook::Applied::of(&view()));
        assert!(view().webhook.get().is_some(), "kept with the entry");
        assert!(DpaEntry::clone(&view()).webhook.get().is_none(), "a copy derives anew");

        store.set_pending_vertical("prod", "a", Some(target("v2")));
        let pending = view();
        assert!(pending.webhook.get().is_none(), "the pending view is a new entry");
        assert!(Arc::ptr_eq(&pending, &view()), "made once, not per read");
        assert!(Arc::ptr_eq(&pending, &store.for_target(&pending.target)[0]));
        store.set_pending_vertical("prod", "a", Some(target("v3")));
        assert!(!Arc::ptr_eq(&pending, &view()), "a new pending target, a new view");
        store.upsert(DpaEntry { paused: true, ..with_status("v1") });
        assert!(view().paused && view().vertical.as_ref().unwrap().version == "v3", "remade when the entry changes");
        store.clear_pending_vertical("prod", "a");
        assert_eq!(view().vertical.as_ref().unwrap().version, "v1");
    }
}
