//! `DatadogMetricStore`: the in-memory map `namespace/name` → [`MetricState`] every replica reads
//! from. Writes name their writer; writes by the leader's loops (autoscaler watcher, retriever)
//! queue the ID for the controller, which mirrors the change to Kubernetes; the controller's own
//! writes do not, so it never wakes itself up. Each entry also keeps the texts a metric read
//! answers with ([`Served`]), formatted when the value changes rather than on every read.

use std::collections::HashMap;

use k8s_openapi::jiff::Timestamp;
use parking_lot::RwLock;
use tokio::sync::mpsc;

use super::model::{MetricState, rfc3339};
use crate::server::format_quantity;

/// The value and timestamp texts of an external metric read of a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// `value` as a Quantity.
    pub value: String,
    /// `data_time` in RFC 3339 (Go's zero time when unset).
    pub timestamp: String,
    /// What the texts were formatted from.
    from: (u64, Option<Timestamp>),
}

impl Served {
    pub fn of(state: &MetricState) -> Self {
        Served {
            value: format_quantity(state.value),
            timestamp: state.data_time.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), rfc3339),
            from: (state.value.to_bits(), state.data_time),
        }
    }

    fn is_for(&self, state: &MetricState) -> bool {
        self.from == (state.value.to_bits(), state.data_time)
    }
}

struct Entry {
    state: MetricState,
    served: Served,
}

impl Entry {
    fn new(state: MetricState) -> Self {
        Entry { served: Served::of(&state), state }
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
    metrics: RwLock<HashMap<String, Entry>>,
    changed: mpsc::UnboundedSender<String>,
}

impl DatadogMetricStore {
    /// The store and the receiver of IDs changed by writers other than the controller.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (changed, receiver) = mpsc::unbounded_channel();
        (DatadogMetricStore { metrics: RwLock::new(HashMap::new()), changed }, receiver)
    }

    pub fn len(&self) -> usize {
        self.metrics.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.read().is_empty()
    }

    pub fn get(&self, id: &str) -> Option<MetricState> {
        self.metrics.read().get(id).map(|e| e.state.clone())
    }

    /// Runs `read` on the entry under the read lock (no clone).
    pub fn read<T>(&self, id: &str, read: impl FnOnce(&MetricState) -> T) -> Option<T> {
        self.metrics.read().get(id).map(|e| read(&e.state))
    }

    /// Runs `read` on the entry and its read texts under the read lock (the request path).
    pub fn read_served<T>(&self, id: &str, read: impl FnOnce(&MetricState, &Served) -> T) -> Option<T> {
        self.metrics.read().get(id).map(|e| read(&e.state, &e.served))
    }

    pub fn all(&self) -> Vec<MetricState> {
        let mut all: Vec<MetricState> = self.metrics.read().values().map(|e| e.state.clone()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn set(&self, state: MetricState, writer: Writer) {
        let id = state.id.clone();
        let entry = Entry::new(state);
        self.metrics.write().insert(id.clone(), entry);
        self.notify(id, writer);
    }

    pub fn delete(&self, id: &str, writer: Writer) {
        if self.metrics.write().remove(id).is_some() {
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
                if !e.served.is_for(&e.state) {
                    e.served = Served::of(&e.state);
                }
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
