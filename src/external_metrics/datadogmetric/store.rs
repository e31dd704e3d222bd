//! `DatadogMetricStore`: the in-memory map `namespace/name` → [`MetricState`] every replica reads
//! from. Writes name their writer; writes by the leader's loops (autoscaler watcher, retriever)
//! queue the ID for the controller, which mirrors the change to Kubernetes; the controller's own
//! writes do not, so it never wakes itself up.

use std::collections::HashMap;

use parking_lot::RwLock;
use tokio::sync::mpsc;

use super::model::MetricState;

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
    metrics: RwLock<HashMap<String, MetricState>>,
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
        self.metrics.read().get(id).cloned()
    }

    /// Runs `read` on the entry under the read lock (the request path: no clone).
    pub fn read<T>(&self, id: &str, read: impl FnOnce(&MetricState) -> T) -> Option<T> {
        self.metrics.read().get(id).map(read)
    }

    pub fn all(&self) -> Vec<MetricState> {
        let mut all: Vec<MetricState> = self.metrics.read().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn set(&self, state: MetricState, writer: Writer) {
        let id = state.id.clone();
        self.metrics.write().insert(id.clone(), state);
        self.notify(id, writer);
    }

    pub fn delete(&self, id: &str, writer: Writer) {
        if self.metrics.write().remove(id).is_some() {
            self.notify(id.to_owned(), writer);
        }
    }

    /// Read-modify-write of one entry under the write lock; false when it is gone.
    pub fn update(&self, id: &str, writer: Writer, change: impl FnOnce(&mut MetricState)) -> bool {
        let found = self.metrics.write().get_mut(id).map(change).is_some();
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
