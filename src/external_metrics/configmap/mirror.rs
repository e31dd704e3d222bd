//! The read side's copy of the ConfigMap (every replica): a watch on the one object, parsed into
//! an immutable [`Snapshot`] swapped on each change. Freshness follows the DCA: reads fail once
//! the watch is failing and the last good read is older than 2 × `local_copy_refresh_rate`; while
//! the watch is failing the object is also fetched directly every `local_copy_refresh_rate`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::time::Instant;

use super::entry::{Entry, Parsed, parse};

/// The parsed ConfigMap.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The object as last seen (the leader's base for updates); `None` when it does not exist.
    pub object: Option<Arc<ConfigMap>>,
    /// Current-format entries by key.
    pub entries: BTreeMap<String, Entry>,
    /// Keys in the deprecated format (to delete).
    pub deprecated: Vec<String>,
    /// Keys that do not decode, with why.
    pub corrupt: BTreeMap<String, String>,
}

impl Snapshot {
    pub fn from_object(object: Option<ConfigMap>) -> Self {
        let mut snapshot = Snapshot::default();
        let data = object.as_ref().and_then(|cm| cm.data.as_ref());
        for (key, value) in data.into_iter().flatten() {
            match parse(key, value) {
                Some(Parsed::Current(entry)) => {
                    snapshot.entries.insert(key.clone(), entry);
                }
                Some(Parsed::Deprecated) => snapshot.deprecated.push(key.clone()),
                Some(Parsed::Corrupt(why)) => {
                    snapshot.corrupt.insert(key.clone(), why);
                }
                None => {}
            }
        }
        snapshot.object = object.map(Arc::new);
        snapshot
    }
}

/// Why reads cannot be answered from the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Not listed yet, the ConfigMap does not exist, or the last good read is too old.
    Invalid,
}

pub struct Mirror {
    namespace: String,
    name: String,
    max_age: Duration,
    snapshot: RwLock<Arc<Snapshot>>,
    synced: AtomicBool,
    /// Last good read (event, list or GET); `None` before the first.
    last_ok: Mutex<Option<Instant>>,
    watch_failing: AtomicBool,
    /// Corrupt items already logged (key, value): logged once, not at every change.
    reported: Mutex<HashSet<(String, String)>>,
}

impl Mirror {
    /// `max_age` is 2 × `local_copy_refresh_rate`.
    pub fn new(namespace: &str, name: &str, max_age: Duration) -> Self {
        Mirror {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            max_age,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            synced: AtomicBool::new(false),
            last_ok: Mutex::new(None),
            watch_failing: AtomicBool::new(false),
            reported: Mutex::new(HashSet::new()),
        }
    }

    pub fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    /// The snapshot, if reads may be served from it now.
    pub fn usable(&self) -> Result<Arc<Snapshot>, Unusable> {
        // A working watch delivers every change, so the copy is current however old the last event.
        let recent = self.last_ok.lock().is_some_and(|at| at.elapsed() <= self.max_age);
        let fresh = recent || !self.watch_failing.load(Ordering::Acquire);
        let snapshot = self.snapshot();
        if !self.is_synced() || !fresh || snapshot.object.is_none() {
            return Err(Unusable::Invalid);
        }
        Ok(snapshot)
    }

    /// As after the first list (unit tests drive the mirror without a watch).
    #[cfg(test)]
    pub fn mark_synced(&self) {
        self.synced.store(true, Ordering::Release);
    }

    /// Replaces the copy after a good read.
    pub fn set(&self, object: Option<ConfigMap>) {
        let snapshot = Snapshot::from_object(object);
        self.report_corrupt(&snapshot);
        *self.snapshot.write() = Arc::new(snapshot);
        *self.last_ok.lock() = Some(Instant::now());
    }

    fn report_corrupt(&self, snapshot: &Snapshot) {
        let data = snapshot.object.as_ref().and_then(|cm| cm.data.as_ref());
        let mut reported = self.reported.lock();
        for (key, why) in &snapshot.corrupt {
            let value = data.and_then(|d| d.get(key)).cloned().unwrap_or_default();
            if reported.insert((key.clone(), value)) {
                tracing::warn!(configmap = %self.describe(), key, "skipping an entry that does not decode: {why}");
            }
        }
    }

    /// Watches the ConfigMap until `stop`; while the watch fails, GETs it every `poll`.
    pub async fn run(self: Arc<Self>, client: kube::Client, poll: Duration, mut stop: watch::Receiver<bool>) {
        let api: Api<ConfigMap> = Api::namespaced(client, &self.namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        let events = watcher(api.clone(), config).default_backoff();
        tokio::pin!(events);
        let mut listing: Option<Option<ConfigMap>> = None;
        let mut polls = tokio::time::interval(poll);
        polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        self.watch_failing.store(false, Ordering::Release);
                        self.on_event(event, &mut listing);
                    }
                    Some(Err(e)) => {
                        self.watch_failing.store(true, Ordering::Release);
                        tracing::warn!(configmap = %self.describe(), error = %e, "ConfigMap watch failed; retrying");
                    }
                    None => return,
                },
                _ = polls.tick(), if self.watch_failing.load(Ordering::Acquire) => self.poll(&api).await,
            }
        }
    }

    fn on_event(&self, event: watcher::Event<ConfigMap>, listing: &mut Option<Option<ConfigMap>>) {
        match event {
            watcher::Event::Init => *listing = Some(None),
            watcher::Event::InitApply(cm) => *listing = Some(Some(cm)),
            watcher::Event::InitDone => {
                self.set(listing.take().flatten());
                self.synced.store(true, Ordering::Release);
            }
            watcher::Event::Apply(cm) => self.set(Some(cm)),
            watcher::Event::Delete(_) => {
                tracing::warn!(configmap = %self.describe(), "the external metrics ConfigMap was deleted");
                self.set(None);
            }
        }
    }

    async fn poll(&self, api: &Api<ConfigMap>) {
        match api.get_opt(&self.name).await {
            Ok(object) => self.set(object),
            Err(e) => tracing::warn!(configmap = %self.describe(), error = %e, "cannot read the ConfigMap"),
        }
    }
}
