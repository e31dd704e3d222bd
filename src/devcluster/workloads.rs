//! Workload simulation, kwok-like (no containers run): the Deployment, ReplicaSet, StatefulSet and
//! disruption controllers of kube-controller-manager, the scheduler's binding and the kubelet's pod
//! lifecycle (Running/Ready with a podIP, in-place resize).
//!
//! One task reacts to `store.changes()`: each change marks the objects it concerns dirty (a pod marks
//! its owner through the store's owner index, never a scan), a batch of changes is drained, then each
//! dirty object is reconciled once. Reconciles are idempotent and write only what differs, so the
//! writes they cause settle. A full resync runs at start, when the change stream lagged and
//! periodically. Pods are created and deleted through `admission`, as the controllers' service
//! accounts, so admission webhooks see them as on a real cluster.
//!
//! Test hook: a pod annotated `devcluster.io/resize-outcome: Deferred|Infeasible|InProgress` has its
//! next in-place resize held in that state until the annotation goes away.

mod deployment;
mod disruption;
pub(super) mod hash;
mod kubelet;
mod nodes;
mod podview;
mod replicaset;
mod resize;
mod rollout;
mod statefulset;

pub use disruption::admit_eviction;
pub use nodes::seed as seed_nodes;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Cluster;
use super::ops::WriteOptions;
use super::rbac::UserInfo;
use super::registry::ResourceType;
use super::status::{ApiError, ApiResult};
use super::store::{Change, ChangeType, ObjectKey, Stored};

/// Safety net for anything the change stream cannot show (time passing, a missed write).
const RESYNC_INTERVAL: Duration = Duration::from_secs(60);
/// Changes drained before a batch of reconciles.
const BATCH: usize = 4096;
/// A reconcile that hit a conflict or an error is retried after this, doubling per failure in a row
/// (a webhook that keeps refusing pods is not hammered) up to `MAX_RETRY_DELAY`.
const RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// How often held controllers look whether the bulk writes have ended.
const HOLD_POLL: Duration = Duration::from_millis(20);
/// Field manager of the controllers' writes.
const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// The resource types the controllers read and write.
struct Types {
    pods: Arc<ResourceType>,
    replicasets: Arc<ResourceType>,
    deployments: Arc<ResourceType>,
    statefulsets: Arc<ResourceType>,
    revisions: Arc<ResourceType>,
    pdbs: Arc<ResourceType>,
    nodes: Arc<ResourceType>,
}

impl Types {
    fn lookup(cluster: &Cluster) -> Option<Types> {
        let r = &cluster.registry;
        Some(Types {
            pods: r.lookup("", "v1", "pods")?,
            replicasets: r.lookup("apps", "v1", "replicasets")?,
            deployments: r.lookup("apps", "v1", "deployments")?,
            statefulsets: r.lookup("apps", "v1", "statefulsets")?,
            revisions: r.lookup("apps", "v1", "controllerrevisions")?,
            pdbs: r.lookup("policy", "v1", "poddisruptionbudgets")?,
            nodes: r.lookup("", "v1", "nodes")?,
        })
    }
}

/// What one reconcile is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Work {
    Deployment(ObjectKey),
    ReplicaSet(ObjectKey),
    StatefulSet(ObjectKey),
    Pod(ObjectKey),
    /// The PodDisruptionBudgets of a namespace.
    Budgets(String),
}

/// The controllers' state: what is dirty, what is due later, and the kubelet's allocations.
struct Workloads {
    cluster: Arc<Cluster>,
    types: Types,
    dirty: BTreeSet<Work>,
    due: BTreeMap<Instant, Vec<Work>>,
    /// Failures in a row per work item, for the retry backoff.
    failures: HashMap<Work, u32>,
    ready_delay: Duration,
    kubelet: kubelet::Kubelet,
}

pub async fn run(cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let Some(types) = Types::lookup(&cluster) else {
        tracing::error!("workload controllers not started: a workload resource is not served");
        return;
    };
    let mut changes = cluster.store.changes();
    let ready_delay = cluster.config.pod_ready_delay;
    let mut w = Workloads {
        cluster,
        types,
        dirty: BTreeSet::new(),
        due: BTreeMap::new(),
        failures: HashMap::new(),
        ready_delay,
        kubelet: kubelet::Kubelet::default(),
    };
    let mut ticker = tokio::time::interval(RESYNC_INTERVAL);
    loop {
        if w.held() {
            // Bulk writes in progress: their changes are read (or resynced, after a lag) once
            // they end, and what was noted meanwhile is processed then.
            tokio::time::sleep(HOLD_POLL).await;
            continue;
        }
        if !w.dirty.is_empty() {
            w.process().await;
        }
        let next_due = w.due.keys().next().copied().unwrap_or_else(|| Instant::now() + RESYNC_INTERVAL);
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => w.resync(),
            _ = tokio::time::sleep_until(next_due) => w.take_due(),
            next = changes.recv() => match next {
                Ok(change) => w.note(&change),
                Err(RecvError::Lagged(_)) => w.resync(),
                Err(RecvError::Closed) => return,
            },
        }
        for _ in 0..BATCH {
            match changes.try_recv() {
                Ok(change) => w.note(&change),
                Err(TryRecvError::Lagged(_)) => w.resync(),
                Err(_) => break,
            }
        }
        if !w.held() {
            w.process().await;
        }
    }
}

impl Workloads {
    /// True while a bulk populate writes (see `populate::Hold`).
    fn held(&self) -> bool {
        self.cluster.workloads_hold.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Marks what one change concerns.
    fn note(&mut self, change: &Change) {
        let t = &self.types;
        let obj = &change.object;
        let table = &change.table;
        if *table == t.pods.table {
            self.note_pod(change);
        } else if *table == t.replicasets.table {
            self.dirty.insert(Work::ReplicaSet(obj.key.clone()));
            self.mark_owners(obj, "Deployment");
        } else if *table == t.deployments.table && change.kind != ChangeType::Deleted {
            self.dirty.insert(Work::Deployment(obj.key.clone()));
        } else if *table == t.statefulsets.table && change.kind != ChangeType::Deleted {
            self.dirty.insert(Work::StatefulSet(obj.key.clone()));
        } else if *table == t.pdbs.table && change.kind != ChangeType::Deleted {
            self.dirty.insert(Work::Budgets(obj.key.namespace.clone()));
        }
    }

    fn note_pod(&mut self, change: &Change) {
        let obj = &change.object;
        self.mark_owners(obj, "ReplicaSet");
        self.mark_owners(obj, "StatefulSet");
        self.dirty.insert(Work::Budgets(obj.key.namespace.clone()));
        match change.kind {
            ChangeType::Deleted => {
                // Room freed on a node: deferred resizes get another chance.
                for key in self.kubelet.deferred.iter() {
                    self.dirty.insert(Work::Pod(key.clone()));
                }
                self.kubelet.forget(&obj.key);
            }
            // Populated pods arrive bound and Running: nothing for the kubelet to do.
            ChangeType::Added if !kubelet::needs_start(obj) => {}
            _ if !obj.deleting => {
                self.dirty.insert(Work::Pod(obj.key.clone()));
            }
            _ => {}
        }
    }

    fn mark_owners(&mut self, obj: &Stored, kind: &str) {
        for owner in obj.owners.iter().filter(|o| o.kind == kind) {
            let key = ObjectKey::new(obj.key.namespace.as_str(), owner.name.as_str());
            self.dirty.insert(match kind {
                "Deployment" => Work::Deployment(key),
                "ReplicaSet" => Work::ReplicaSet(key),
                _ => Work::StatefulSet(key),
            });
        }
    }

    /// Everything again: workloads, pods the kubelet has not started, all budgets.
    fn resync(&mut self) {
        let store = &self.cluster.store;
        for (rt, wrap) in [
            (&self.types.deployments, Work::Deployment as fn(ObjectKey) -> Work),
            (&self.types.replicasets, Work::ReplicaSet),
            (&self.types.statefulsets, Work::StatefulSet),
        ] {
            let (_, objects) = store.snapshot(&rt.table);
            self.dirty.extend(objects.keys().cloned().map(wrap));
        }
        let (_, pods) = store.snapshot(&self.types.pods.table);
        for stored in pods.values().filter(|p| kubelet::needs_start(p) && !p.deleting) {
            self.dirty.insert(Work::Pod(stored.key.clone()));
        }
        self.dirty.extend(self.kubelet.deferred.iter().cloned().map(Work::Pod));
        let (_, pdbs) = store.snapshot(&self.types.pdbs.table);
        self.dirty.extend(pdbs.keys().map(|k| Work::Budgets(k.namespace.clone())));
    }

    fn take_due(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.due.first_entry() {
            if *entry.key() > now {
                break;
            }
            self.dirty.extend(entry.remove());
        }
    }

    fn later(&mut self, after: Duration, work: Work) {
        self.due.entry(Instant::now() + after).or_default().push(work);
    }

    /// Reconciles every dirty object once, workloads before pods so pods see their latest owners.
    async fn process(&mut self) {
        while let Some(work) = self.dirty.pop_first() {
            let result = match &work {
                Work::Deployment(key) => deployment::reconcile(self, key).await,
                Work::ReplicaSet(key) => replicaset::reconcile(self, key).await,
                Work::StatefulSet(key) => statefulset::reconcile(self, key).await,
                Work::Pod(key) => kubelet::reconcile(self, key).await,
                Work::Budgets(ns) => disruption::reconcile(self, ns).await,
            };
            match result {
                Ok(()) => {
                    self.failures.remove(&work);
                }
                Err(e) => {
                    let n = self.failures.entry(work.clone()).or_insert(0);
                    *n += 1;
                    let delay = RETRY_DELAY.saturating_mul(1 << (*n - 1).min(8)).min(MAX_RETRY_DELAY);
                    tracing::debug!(?work, error = %e.message, ?delay, "workload reconcile retried");
                    self.later(delay, work);
                }
            }
        }
    }

    fn get(&self, rt: &ResourceType, key: &ObjectKey) -> Option<Arc<Stored>> {
        self.cluster.store.get(&rt.table, key)
    }
}

/// The identity of a kube-controller-manager controller (`system:serviceaccount:kube-system:<name>`).
fn controller_user(name: &str) -> UserInfo {
    UserInfo {
        name: format!("system:serviceaccount:kube-system:{name}"),
        groups: vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:kube-system".into(),
            "system:authenticated".into(),
        ],
        ..Default::default()
    }
}

fn controller_opts(subresource: Option<&str>) -> WriteOptions {
    WriteOptions {
        field_manager: CONTROLLER_MANAGER.into(),
        subresource: subresource.map(str::to_string),
        ..Default::default()
    }
}

/// An ownerReference naming `owner` as the managing controller.
fn controller_ref(owner: &Value) -> Value {
    let m = &owner["metadata"];
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"], "uid": m["uid"],
        "controller": true, "blockOwnerDeletion": true,
    })
}

/// `spec.replicas`, defaulting to 1 as the API does.
fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

/// Writes `status` through `/status` unless the object already has it.
async fn write_status(w: &Workloads, rt: &ResourceType, obj: &Value, status: Value, user: &UserInfo) -> ApiResult<()> {
    if obj["status"] == status {
        return Ok(());
    }
    let mut next = obj.clone();
    next["status"] = status;
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    super::admission::update(&w.cluster, rt, ns, name_of(obj), next, &controller_opts(Some("status")), user)
        .await
        .map(|_| ())
}

/// Sets an int field of a status object, leaving it out at zero as Go's `omitempty` does.
fn set_count(status: &mut Value, field: &str, n: i64) {
    if n != 0 {
        status[field] = json!(n);
    }
}

/// A reconcile error naming the object at fault.
fn failed(what: &str, key: &ObjectKey, e: ApiError) -> ApiError {
    ApiError { message: format!("{what} {}/{}: {}", key.namespace, key.name, e.message), ..e }
}
