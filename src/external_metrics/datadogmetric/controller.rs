//! The DatadogMetric controller (spec §7.5): watches every DatadogMetric and syncs each changed ID
//! between the object and the store. Followers mirror objects into the store; the leader keeps its
//! own state, writes `status` when it is newer (with the object's resourceVersion), creates the
//! objects of autogen entries and deletes expired ones. The lease is checked before every write.
//!
//! Up to `workers` IDs sync at once (the DCA's `external_metrics_provider.num_workers`), so a
//! refresh's status writes overlap; as in client-go's workqueue, one ID is never synced twice at
//! once: a change during its sync queues it again once that sync ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, Instant};

use super::model::{MetricState, build_status, is_newer_than};
use super::store::{DatadogMetricStore, Writer};
use super::template::TemplateContext;
use crate::cluster::lease::LeaderHandle;

/// An item failing this many times in a row is dropped until its next change (DCA: 3 requeues).
const MAX_RETRIES: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// After deleting an expired autogen object, look again this much later (DCA: 2 s).
const DELETE_RECHECK: Duration = Duration::from_secs(2);

pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("datadoghq.com", "v1alpha1", "DatadogMetric"),
        "datadogmetrics",
    )
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("cannot {verb} DatadogMetric {id}: {source}")]
    Api { verb: &'static str, id: String, source: kube::Error },
    #[error("cannot encode DatadogMetric {id}: {source}")]
    Encode { id: String, source: serde_json::Error },
}

/// What a sync needs, shared by the syncs in flight.
struct Syncer {
    client: kube::Client,
    store: Arc<DatadogMetricStore>,
    leader: LeaderHandle,
    templates: Arc<TemplateContext>,
}

type SyncResult = Result<Option<Duration>, SyncError>;

pub struct Controller {
    syncer: Arc<Syncer>,
    synced: Arc<AtomicBool>,
    /// The watched objects by ID, as the informer cache.
    objects: HashMap<String, Arc<DynamicObject>>,
    /// IDs listed since the last watch (re)start, to find objects deleted meanwhile.
    listing: Option<HashSet<String>>,
    queue: VecDeque<String>,
    queued: HashSet<String>,
    delayed: Vec<(Instant, String)>,
    failures: HashMap<String, u32>,
    /// Most syncs in flight.
    workers: usize,
    in_flight: FuturesUnordered<BoxFuture<'static, (String, SyncResult)>>,
    /// IDs being synced, and those of them that changed meanwhile (queued again when done).
    busy: HashSet<String>,
    dirty: HashSet<String>,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        store: Arc<DatadogMetricStore>,
        leader: LeaderHandle,
        templates: Arc<TemplateContext>,
        synced: Arc<AtomicBool>,
        workers: usize,
    ) -> Self {
        Controller {
            syncer: Arc::new(Syncer { client, store, leader, templates }),
            synced,
            objects: HashMap::new(),
            listing: None,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            delayed: Vec::new(),
            failures: HashMap::new(),
            workers: workers.max(1),
            in_flight: FuturesUnordered::new(),
            busy: HashSet::new(),
            dirty: HashSet::new(),
        }
    }

    pub async fn run(mut self, mut changes: mpsc::UnboundedReceiver<String>, mut stop: watch::Receiver<bool>) {
        let api: Api<DynamicObject> = Api::all_with(self.syncer.client.clone(), &api_resource());
        let events = watcher(api, watcher::Config::default()).default_backoff();
        tokio::pin!(events);
        loop {
            let next_delay = self.delayed.iter().map(|(at, _)| *at).min();
            let can_start = !self.queue.is_empty() && self.in_flight.len() < self.workers;
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some((id, result)) = self.in_flight.next(), if !self.in_flight.is_empty() => self.finish(id, result),
                event = events.next() => match event {
                    Some(Ok(event)) => self.on_event(event),
                    Some(Err(e)) => tracing::warn!(error = %e, "DatadogMetric watch failed; retrying"),
                    None => break,
                },
                Some(id) = changes.recv() => self.enqueue(id),
                _ = sleep_until(next_delay) => self.promote_delayed(),
                _ = std::future::ready(()), if can_start => self.start_next(),
            }
        }
        // Writes already started finish (none starts after the stop).
        while self.in_flight.next().await.is_some() {}
    }

    fn on_event(&mut self, event: watcher::Event<DynamicObject>) {
        match event {
            watcher::Event::Init => self.listing = Some(HashSet::new()),
            watcher::Event::InitApply(object) => {
                if let Some(id) = self.remember(object) {
                    self.listing.get_or_insert_default().insert(id.clone());
                    self.enqueue(id);
                }
            }
            watcher::Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                let gone: Vec<String> = self.objects.keys().filter(|id| !listed.contains(*id)).cloned().collect();
                for id in gone {
                    self.objects.remove(&id);
                    self.enqueue(id);
                }
                self.synced.store(true, Ordering::Release);
            }
            watcher::Event::Apply(object) => {
                if let Some(id) = self.remember(object) {
                    self.enqueue(id);
                }
            }
            watcher::Event::Delete(object) => {
                if let Some(id) = object_id(&object) {
                    self.objects.remove(&id);
                    self.enqueue(id);
                }
            }
        }
    }

    fn remember(&mut self, object: DynamicObject) -> Option<String> {
        let id = object_id(&object)?;
        self.objects.insert(id.clone(), Arc::new(object));
        Some(id)
    }

    fn enqueue(&mut self, id: String) {
        if self.busy.contains(&id) {
            self.dirty.insert(id);
        } else if self.queued.insert(id.clone()) {
            self.queue.push_back(id);
        }
    }

    fn promote_delayed(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.delayed.drain(..).partition(|(at, _)| *at <= now);
        self.delayed = later;
        for (_, id) in due {
            self.enqueue(id);
        }
    }

    /// Starts syncing the next queued ID (never one in flight: those wait in `dirty`).
    fn start_next(&mut self) {
        let Some(id) = self.queue.pop_front() else { return };
        self.queued.remove(&id);
        self.busy.insert(id.clone());
        let object = self.objects.get(&id).cloned();
        let syncer = self.syncer.clone();
        self.in_flight.push(Box::pin(async move {
            let result = syncer.sync(&id, object).await;
            (id, result)
        }));
    }

    fn finish(&mut self, id: String, result: SyncResult) {
        self.busy.remove(&id);
        match result {
            Ok(recheck) => {
                self.failures.remove(&id);
                if let Some(after) = recheck {
                    self.delayed.push((Instant::now() + after, id.clone()));
                }
            }
            Err(e) => {
                let failures = self.failures.entry(id.clone()).or_default();
                *failures += 1;
                if *failures > MAX_RETRIES {
                    tracing::warn!(error = %e, "giving up on DatadogMetric {id} until it changes");
                    self.failures.remove(&id);
                } else {
                    tracing::debug!(error = %e, "DatadogMetric {id} sync failed; retrying");
                    self.delayed.push((Instant::now() + RETRY_DELAY, id.clone()));
                }
            }
        }
        if self.dirty.remove(&id) {
            self.enqueue(id);
        }
    }
}

impl Syncer {
    /// Syncs one ID; `Ok(Some(d))` asks to look at it again after `d`.
    async fn sync(&self, id: &str, object: Option<Arc<DynamicObject>>) -> SyncResult {
        let now = Timestamp::now();
        if !self.leader.is_leader_now() {
            match object {
                Some(object) => {
                    let state = MetricState::from_object(id, &object.data_with_meta(), &self.templates, now);
                    self.store.set(state, Writer::Controller);
                }
                None => self.store.delete(id, Writer::Controller),
            }
            return Ok(None);
        }
        self.sync_as_leader(id, object, now).await
    }

    async fn sync_as_leader(&self, id: &str, object: Option<Arc<DynamicObject>>, now: Timestamp) -> SyncResult {
        let internal = self.store.get(id);
        match (internal, object) {
            (None, None) => Ok(None),
            (None, Some(object)) => {
                let state = MetricState::from_object(id, &object.data_with_meta(), &self.templates, now);
                self.store.set(state, Writer::Controller);
                Ok(None)
            }
            (Some(state), None) if state.autogen && !state.deleted => self.create(&state).await.map(|()| None),
            (Some(_), None) => {
                self.store.delete(id, Writer::Controller);
                Ok(None)
            }
            (Some(state), Some(object)) if state.autogen && state.deleted => {
                self.delete(id, &object).await?;
                Ok(Some(DELETE_RECHECK))
            }
            (Some(mut state), Some(object)) => {
                let full = object.data_with_meta();
                state.update_from(&full, &self.templates, now);
                self.store.set(state.clone(), Writer::Controller);
                if is_newer_than(&state, full.get("status")) {
                    self.write_status(id, &object, &state).await?;
                }
                Ok(None)
            }
        }
    }

    async fn create(&self, state: &MetricState) -> Result<(), SyncError> {
        let (namespace, name) = split_id(&state.id);
        let body = json!({
            "apiVersion": "datadoghq.com/v1alpha1",
            "kind": "DatadogMetric",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"query": state.query, "externalMetricName": state.external_metric_name},
            "status": build_status(state, None),
        });
        let object: DynamicObject =
            serde_json::from_value(body).map_err(|source| SyncError::Encode { id: state.id.clone(), source })?;
        if self.leader.guard().is_none() {
            return Ok(());
        }
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &api_resource());
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => {
                tracing::info!(id = %state.id, query = %state.query, "created autogen DatadogMetric");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(source) => Err(SyncError::Api { verb: "create", id: state.id.clone(), source }),
        }
    }

    async fn delete(&self, id: &str, object: &DynamicObject) -> Result<(), SyncError> {
        if self.leader.guard().is_none() {
            return Ok(());
        }
        let (namespace, name) = split_id(id);
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &api_resource());
        let precondition = DeleteParams { preconditions: uid_precondition(object), ..DeleteParams::default() };
        match api.delete(name, &precondition).await {
            Ok(_) => {
                tracing::info!(id, "deleted expired autogen DatadogMetric");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => Err(SyncError::Api { verb: "delete", id: id.to_owned(), source }),
        }
    }

    /// `UpdateStatus` with the object's resourceVersion: a concurrent change is a 409 and a retry.
    async fn write_status(&self, id: &str, object: &DynamicObject, state: &MetricState) -> Result<(), SyncError> {
        let mut updated = object.clone();
        let status = build_status(state, object.data.get("status"));
        if let Value::Object(data) = &mut updated.data {
            data.insert("status".into(), status);
        }
        if self.leader.guard().is_none() {
            return Ok(());
        }
        let (namespace, name) = split_id(id);
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &api_resource());
        api.replace_status(name, &PostParams::default(), &updated).await.map(drop).map_err(|source| SyncError::Api {
            verb: "update the status of",
            id: id.to_owned(),
            source,
        })
    }
}

trait WithMeta {
    /// The object as JSON with its metadata (the state reads annotations).
    fn data_with_meta(&self) -> Value;
}

impl WithMeta for DynamicObject {
    fn data_with_meta(&self) -> Value {
        let mut value = self.data.clone();
        if let Value::Object(map) = &mut value {
            let annotations = self.metadata.annotations.clone().unwrap_or_default();
            map.insert("metadata".into(), json!({"annotations": annotations}));
        }
        value
    }
}

fn object_id(object: &DynamicObject) -> Option<String> {
    Some(format!("{}/{}", object.metadata.namespace.as_deref()?, object.metadata.name.as_deref()?))
}

fn split_id(id: &str) -> (&str, &str) {
    id.split_once('/').unwrap_or(("", id))
}

fn uid_precondition(object: &DynamicObject) -> Option<kube::api::Preconditions> {
    let uid = object.metadata.uid.clone()?;
    Some(kube::api::Preconditions { uid: Some(uid), resource_version: None })
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
