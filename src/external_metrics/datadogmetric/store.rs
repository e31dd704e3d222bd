//! `DatadogMetricStore`: the in-memory map `namespace/name` → [`MetricState`] every replica reads
//! from. Writes name their writer; writes by the leader's loops (autoscaler watcher, retriever)
//! queue the ID for the controller, which mirrors the change to Kubernetes; the controller's own
//! writes do not, so it never wakes itself up. Each entry also keeps what a metric read answers
//! with ([`Served`]: the value and timestamp texts and the whole reply to a
//! `datadogmetric@<ns>:<name>` read, serialised), made when the value changes rather than on every
//! read. Entries are hashed by namespace and name, so a read finds one by the parts of the metric
//! name without building its ID.
//!
//! A read touches only the table's slot: the ID, and in [`Served`] the reply and the fields that
//! decide whether it may be served (valid, maxAge, the point's time). The rest of the state (the
//! query, errors, references: most of its ~330 bytes) is boxed, so the table's slots stay small and
//! 10,000 metrics rotating through reads spread over fewer cache lines (BENCHMARKS.md, issue #5
//! session 10).

use std::hash::BuildHasher;
use std::time::Duration;

use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use k8s_openapi::jiff::Timestamp;
use parking_lot::RwLock;
use smallvec::SmallVec;
use tokio::sync::mpsc;

use super::model::{MetricState, is_stale, rfc3339};
use super::names::REFERENCE_PREFIX;
use crate::server::{ExternalMetricValue, ExternalMetricValueList, format_quantity};

/// What an external metric read of a state answers with, and what decides whether it may.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// The state's `valid`.
    pub valid: bool,
    /// The state's `max_age` (zero: the configured default).
    max_age: Duration,
    /// `value` as a Quantity.
    pub value: String,
    /// `data_time` in RFC 3339 (Go's zero time when unset).
    pub timestamp: String,
    /// The `ExternalMetricValueList` JSON answering a read of `datadogmetric@<ns>:<name>` (the
    /// entry's reference name): what the server would serialise for that read, made once.
    pub reply: Bytes,
    /// What the texts were formatted from.
    from: (u64, Option<Timestamp>),
}

impl Served {
    pub fn of(state: &MetricState) -> Self {
        let value = format_quantity(state.value);
        let timestamp = state.data_time.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), rfc3339);
        let (namespace, name) = parts(&state.id);
        let item = ExternalMetricValue {
            metric_name: [REFERENCE_PREFIX, namespace, ":", name].concat(),
            metric_labels: None,
            timestamp: timestamp.clone(),
            window: None,
            value: value.clone(),
        };
        let reply =
            Bytes::from_owner(InlineReply(SmallVec::from_slice(&ExternalMetricValueList::new(vec![item]).to_json())));
        let from = (state.value.to_bits(), state.data_time);
        Served { valid: state.valid, max_age: state.max_age, value, timestamp, reply, from }
    }

    /// [`MetricState::is_stale`] of the state this was made from.
    pub fn is_stale(&self, default_max_age: Duration, now: Timestamp, grace: Duration) -> bool {
        is_stale(self.max_age, self.from.1, default_max_age, now, grace)
    }

    /// Brings this up to date with `state`: the texts and reply are made again only when the value
    /// or its time changed.
    fn follow(&mut self, state: &MetricState) {
        if self.from == (state.value.to_bits(), state.data_time) {
            (self.valid, self.max_age) = (state.valid, state.max_age);
        } else {
            *self = Served::of(state);
        }
    }
}

/// A reply's bytes held inline by the [`Bytes`] owner: `Bytes::from_owner` allocates the owner
/// right after the reference count, so cloning a reply (every metric read) and then writing it
/// touch one allocation's adjacent lines; a `Bytes` from a `Vec` keeps its count in a second,
/// separate allocation — one more cold cache miss per read with 10,000 metrics rotating
/// (BENCHMARKS.md, issue #5 session 10). 232 bytes hold the replies of names up to ~50 characters
/// (a longer one spills to the heap: one more miss, nothing else).
struct InlineReply(SmallVec<[u8; 232]>);

impl AsRef<[u8]> for InlineReply {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Namespace and name of an ID (`namespace/name`); an ID without `/` is all namespace.
pub(super) fn parts(id: &str) -> (&str, &str) {
    id.split_once('/').unwrap_or((id, ""))
}

struct Entry {
    /// `state.id`'s bytes, inline in the table's slot when they fit (most IDs): every metric read
    /// compares them, and reading them from the slot saves a second, dependent cache miss per
    /// read — the `String`'s heap bytes were most of the lookup's time with 10,000 metrics
    /// (`perf`, BENCHMARKS.md issue #5 session 9).
    id: SmallVec<[u8; 32]>,
    served: Served,
    /// Boxed: a read does not look at it (see the module docs).
    state: Box<MetricState>,
}

impl Entry {
    fn new(state: MetricState) -> Self {
        Entry { id: SmallVec::from_slice(state.id.as_bytes()), served: Served::of(&state), state: Box::new(state) }
    }

    fn is(&self, namespace: &str, name: &str) -> bool {
        id_is(&self.id, namespace, name)
    }
}

/// `parts(id) == (namespace, name)`, without searching the ID for its `/` (every metric read
/// compares the entries its hash finds).
fn id_is(id: &[u8], namespace: &str, name: &str) -> bool {
    let ns = namespace.as_bytes();
    let rest = match id.get(ns.len()) {
        Some(b'/') => &id[ns.len() + 1..],
        None => b"".as_slice(),
        Some(_) => return false,
    };
    // The namespace part holds no `/` (checked last: only a match gets there).
    id[..ns.len().min(id.len())] == *ns && rest == name.as_bytes() && memchr::memchr(b'/', ns).is_none()
}

/// The entries, by the hash of their ID's parts.
#[derive(Default)]
struct Entries {
    table: HashTable<Entry>,
    hasher: DefaultHashBuilder,
}

impl Entries {
    fn hash(&self, namespace: &str, name: &str) -> u64 {
        self.hasher.hash_one((namespace, name))
    }

    fn get(&self, namespace: &str, name: &str) -> Option<&Entry> {
        self.table.find(self.hash(namespace, name), |e| e.is(namespace, name))
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        let (namespace, name) = parts(id);
        let hash = self.hash(namespace, name);
        self.table.find_mut(hash, |e| e.is(namespace, name))
    }

    fn insert(&mut self, entry: Entry) {
        let (namespace, name) = parts(&entry.state.id);
        let hash = self.hash(namespace, name);
        let hasher = &self.hasher;
        let rehash = |e: &Entry| {
            let (namespace, name) = parts(&e.state.id);
            hasher.hash_one((namespace, name))
        };
        match self.table.entry(hash, |e| e.is(namespace, name), rehash) {
            hashbrown::hash_table::Entry::Occupied(mut found) => *found.get_mut() = entry,
            hashbrown::hash_table::Entry::Vacant(place) => {
                place.insert(entry);
            }
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        let (namespace, name) = parts(id);
        let hash = self.hash(namespace, name);
        self.table.find_entry(hash, |e| e.is(namespace, name)).map(|found| found.remove()).is_ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The DatadogMetric controller ("ddmc" in the DCA).
    Controller,
    /// The autoscaler watcher ("aw").
    AutoscalerWatcher,
    /// The metrics retriever ("mr").
    Retriever,
}

pub struct DatadogMetricStore {
    metrics: RwLock<Entries>,
    changed: mpsc::UnboundedSender<String>,
}

impl DatadogMetricStore {
    /// The store and the receiver of IDs changed by writers other than the controller.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (changed, receiver) = mpsc::unbounded_channel();
        (DatadogMetricStore { metrics: RwLock::new(Entries::default()), changed }, receiver)
    }

    pub fn len(&self) -> usize {
        self.metrics.read().table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.read().table.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<MetricState> {
        self.read(id, MetricState::clone)
    }

    /// Runs `read` on the entry under the read lock (no clone).
    pub fn read<T>(&self, id: &str, read: impl FnOnce(&MetricState) -> T) -> Option<T> {
        let (namespace, name) = parts(id);
        self.metrics.read().get(namespace, name).map(|e| read(&e.state))
    }

    /// Runs `read` on entry `namespace/name` and what it serves, under the read lock (the request
    /// path: the ID is not built).
    pub fn read_served<T>(
        &self,
        namespace: &str,
        name: &str,
        read: impl FnOnce(&MetricState, &Served) -> T,
    ) -> Option<T> {
        self.metrics.read().get(namespace, name).map(|e| read(&e.state, &e.served))
    }

    pub fn all(&self) -> Vec<MetricState> {
        let mut all: Vec<MetricState> = self.metrics.read().table.iter().map(|e| (*e.state).clone()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn set(&self, state: MetricState, writer: Writer) {
        let id = state.id.clone();
        let entry = Entry::new(state);
        self.metrics.write().insert(entry);
        self.notify(id, writer);
    }

    pub fn delete(&self, id: &str, writer: Writer) {
        if self.metrics.write().remove(id) {
            self.notify(id.to_owned(), writer);
        }
    }

    /// Read-modify-write of one entry under the write lock; false when it is gone.
    pub fn update(&self, id: &str, writer: Writer, change: impl FnOnce(&mut MetricState)) -> bool {
        let found = self
            .metrics
            .write()
            .get_mut(id)
            .map(|e| {
                change(&mut e.state);
                debug_assert_eq!(e.state.id.as_bytes(), &e.id[..], "an update may not change the key");
                e.served.follow(&e.state);
            })
            .is_some();
        if found {
            self.notify(id.to_owned(), writer);
        }
        found
    }

    fn notify(&self, id: String, writer: Writer) {
        if writer != Writer::Controller {
            // The receiver lives as long as the controller; after shutdown nobody needs it.
            let _ = self.changed.send(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{id_is, parts};

    proptest::proptest! {
        /// The read path's comparison is exactly "the ID splits into these parts".
        #[test]
        fn id_is_compares_the_parts(id in "[a/b]{0,5}", namespace in "[a/b]{0,3}", name in "[a/b]{0,3}") {
            proptest::prop_assert_eq!(id_is(id.as_bytes(), &namespace, &name), parts(&id) == (namespace.as_str(), name.as_str()));
        }
    }

    #[test]
    fn an_id_is_its_namespace_and_name() {
        assert!(id_is(b"default/web", "default", "web"));
        assert!(id_is(b"default", "default", ""));
        assert!(!id_is(b"default/web", "default/web", ""));
        assert!(!id_is(b"a/b/c", "a/b", "c"), "the first / splits");
        assert!(id_is(b"a/b/c", "a", "b/c"));
        assert!(!id_is(b"default/web", "defaulx", "web") && !id_is(b"default/web", "default", "we"));
    }
}
