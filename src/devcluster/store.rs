//! The object store: one global, monotonically increasing resourceVersion, per-resource tables held
//! in persistent ordered maps (cheap snapshots for consistent paged lists), a bounded change history
//! for watches and `resourceVersionMatch=Exact`, and an owner index for garbage collection.

mod history;
mod object;

pub use history::{Change, ChangeType};
pub use object::{ObjectKey, OwnerLink, Stored};

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use imbl::OrdMap;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::broadcast;

/// A resource's storage table: `<group>/<plural>` of its storage version.
pub type TableKey = Arc<str>;
pub type Table = OrdMap<ObjectKey, Arc<Stored>>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("object already exists")]
    AlreadyExists,
    #[error("object not found")]
    NotFound,
    #[error("resourceVersion precondition failed (have {have})")]
    Conflict { have: u64 },
    #[error("too old resource version: {asked} ({oldest})")]
    Expired { asked: u64, oldest: u64 },
    #[error("cannot serialize object: {0}")]
    Encode(String),
}

struct Inner {
    rv: u64,
    /// Changes with rv <= compacted are no longer in `history`.
    compacted: u64,
    tables: HashMap<TableKey, Table>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// owner uid → dependents, for the garbage collector.
    dependents: HashMap<String, HashSet<(TableKey, ObjectKey)>>,
}

/// Called under the store lock for every change: must be cheap and must not touch the store.
pub type Observer = Box<dyn Fn(&Change) + Send + Sync>;

pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
    observers: parking_lot::RwLock<Vec<Observer>>,
}

/// A watch position: everything after `rv`, plus a receiver for what comes next.
pub struct Subscription {
    pub rv: u64,
    pub replay: Vec<Arc<Change>>,
    pub snapshot: Option<Table>,
    pub live: broadcast::Receiver<Arc<Change>>,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(65_536);
        let inner = Inner {
            rv: 1,
            compacted: 1,
            tables: HashMap::new(),
            history: VecDeque::new(),
            history_limit,
            dependents: HashMap::new(),
        };
        Store { inner: Mutex::new(inner), changes, observers: parking_lot::RwLock::new(Vec::new()) }
    }

    pub fn observe(&self, observer: Observer) {
        self.observers.write().push(observer);
    }

    /// A receiver of every change from now on (controllers).
    pub fn changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    pub fn current_rv(&self) -> u64 {
        self.inner.lock().rv
    }

    pub fn get(&self, table: &TableKey, key: &ObjectKey) -> Option<Arc<Stored>> {
        self.inner.lock().tables.get(table).and_then(|t| t.get(key).cloned())
    }

    /// The table now, with the resourceVersion it reflects.
    pub fn snapshot(&self, table: &TableKey) -> (u64, Table) {
        let inner = self.inner.lock();
        (inner.rv, inner.tables.get(table).cloned().unwrap_or_default())
    }

    /// The table as it was at `rv`, rebuilt by undoing later changes; 410 when history no longer reaches back.
    pub fn snapshot_at(&self, table: &TableKey, rv: u64) -> Result<Table, StoreError> {
        let inner = self.inner.lock();
        if rv < inner.compacted {
            return Err(StoreError::Expired { asked: rv, oldest: inner.compacted });
        }
        let mut t = inner.tables.get(table).cloned().unwrap_or_default();
        for change in inner.history.iter().rev().take_while(|c| c.rv > rv) {
            if &change.table == table {
                change.undo(&mut t);
            }
        }
        Ok(t)
    }

    /// All tables' keys, for namespace cleanup and garbage collection.
    pub fn tables(&self) -> Vec<TableKey> {
        self.inner.lock().tables.keys().cloned().collect()
    }

    pub fn dependents_of(&self, owner_uid: &str) -> Vec<(TableKey, ObjectKey)> {
        let inner = self.inner.lock();
        inner.dependents.get(owner_uid).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn create(
        &self,
        table: &TableKey,
        key: ObjectKey,
        obj: Value,
        fields: Vec<(String, String)>,
    ) -> Result<Arc<Stored>, StoreError> {
        let mut inner = self.inner.lock();
        if inner.tables.get(table).is_some_and(|t| t.contains_key(&key)) {
            return Err(StoreError::AlreadyExists);
        }
        let rv = inner.rv + 1;
        let stored = Arc::new(Stored::encode(rv, key.clone(), obj, fields)?);
        inner.rv = rv;
        inner.tables.entry(table.clone()).or_default().insert(key, stored.clone());
        self.record(&mut inner, table, ChangeType::Added, stored.clone(), None);
        Ok(stored)
    }

    /// Compare-and-swap on resourceVersion (`expected_rv: None` = unconditional).
    pub fn update(
        &self,
        table: &TableKey,
        key: ObjectKey,
        expected_rv: Option<u64>,
        obj: Value,
        fields: Vec<(String, String)>,
    ) -> Result<Arc<Stored>, StoreError> {
        let mut inner = self.inner.lock();
        let prev = current(&inner, table, &key)?;
        if let Some(want) = expected_rv.filter(|want| *want != prev.rv) {
            let _ = want;
            return Err(StoreError::Conflict { have: prev.rv });
        }
        let rv = inner.rv + 1;
        let stored = Arc::new(Stored::encode(rv, key.clone(), obj, fields)?);
        inner.rv = rv;
        inner.tables.entry(table.clone()).or_default().insert(key, stored.clone());
        self.record(&mut inner, table, ChangeType::Modified, stored.clone(), Some(prev));
        Ok(stored)
    }

    /// Removes the object; the DELETED event carries the object at a new resourceVersion, as etcd3 does.
    pub fn delete(
        &self,
        table: &TableKey,
        key: &ObjectKey,
        expected_rv: Option<u64>,
    ) -> Result<Arc<Stored>, StoreError> {
        let mut inner = self.inner.lock();
        let prev = current(&inner, table, key)?;
        if expected_rv.is_some_and(|want| want != prev.rv) {
            return Err(StoreError::Conflict { have: prev.rv });
        }
        let rv = inner.rv + 1;
        inner.rv = rv;
        if let Some(t) = inner.tables.get_mut(table) {
            t.remove(key);
        }
        let gone = Arc::new(prev.with_rv(rv)?);
        self.record(&mut inner, table, ChangeType::Deleted, gone.clone(), Some(prev));
        Ok(gone)
    }

    /// Where a watch from `rv` starts: history after it (410 if compacted past it), or — with `rv: None` —
    /// a snapshot of the table to send as ADDED events first.
    pub fn subscribe(&self, table: &TableKey, rv: Option<u64>) -> Result<Subscription, StoreError> {
        let inner = self.inner.lock();
        let live = self.changes.subscribe();
        match rv {
            None => Ok(Subscription {
                rv: inner.rv,
                replay: Vec::new(),
                snapshot: Some(inner.tables.get(table).cloned().unwrap_or_default()),
                live,
            }),
            Some(from) if from < inner.compacted => Err(StoreError::Expired { asked: from, oldest: inner.compacted }),
            Some(from) => {
                let replay = inner.history.iter().filter(|c| c.rv > from && &c.table == table).cloned().collect();
                Ok(Subscription { rv: inner.rv.max(from), replay, snapshot: None, live })
            }
        }
    }

    /// Forget all history (fault injection: every resume from an older resourceVersion gets 410).
    pub fn compact(&self) {
        let mut inner = self.inner.lock();
        inner.history.clear();
        inner.compacted = inner.rv;
    }

    pub fn object_count(&self) -> usize {
        self.inner.lock().tables.values().map(|t| t.len()).sum()
    }

    fn record(
        &self,
        inner: &mut Inner,
        table: &TableKey,
        kind: ChangeType,
        object: Arc<Stored>,
        prev: Option<Arc<Stored>>,
    ) {
        reindex_owners(inner, table, &object, prev.as_deref(), kind);
        let change = Arc::new(Change { rv: object.rv, table: table.clone(), kind, object, prev });
        for observer in self.observers.read().iter() {
            observer(&change);
        }
        inner.history.push_back(change.clone());
        while inner.history.len() > inner.history_limit {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.changes.send(change);
    }
}

fn current(inner: &Inner, table: &TableKey, key: &ObjectKey) -> Result<Arc<Stored>, StoreError> {
    inner.tables.get(table).and_then(|t| t.get(key).cloned()).ok_or(StoreError::NotFound)
}

fn reindex_owners(inner: &mut Inner, table: &TableKey, object: &Stored, prev: Option<&Stored>, kind: ChangeType) {
    let entry = (table.clone(), object.key.clone());
    for owner in prev.map(|p| p.owners.as_slice()).unwrap_or_default() {
        if let Some(set) = inner.dependents.get_mut(&owner.uid) {
            set.remove(&entry);
            if set.is_empty() {
                inner.dependents.remove(&owner.uid);
            }
        }
    }
    if kind != ChangeType::Deleted {
        for owner in &object.owners {
            inner.dependents.entry(owner.uid.clone()).or_default().insert(entry.clone());
        }
    }
}

#[cfg(test)]
mod tests;
