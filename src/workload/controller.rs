//! The DatadogPodAutoscaler controller (spec §10.4): one work queue of DPA keys fed by the DPA
//! watch (every namespace, v1alpha2, from startup — never gated), by changes other writers make
//! to the [`InternalStore`] (the Remote-Config feed, the recommenders) and by gaining the lease;
//! `num_workers` workers reconcile keys (see `reconcile`), retrying with client-go's per-key
//! backoff and giving a key up after 5 requeues in a row until its next change.
//!
//! Layout: `queue` (the rate-limited work queue), `objects` (the watched DPAs, typed, read once),
//! `reconcile` (one key), `writes` (object writes), `restore` (internal state from an object), `validate` and `limit` (spec §10.5),
//! `sources` (active recommendation source, §10.6), `status` (the status builder, §10.8).

mod limit;
mod objects;
mod queue;
mod reconcile;
mod restore;
mod sources;
mod status;
mod validate;
mod writes;

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

pub use limit::AdmissionSet;
pub use objects::{ObjectStore, StoredDpa};
pub use queue::WorkQueue;
pub use restore::{from_object, parse_custom_recommender};
pub use sources::{Choice, Pick, apply as apply_sources, choose as choose_sources, stale_threshold};
pub use status::{build as build_status, status_time};
pub use validate::{check_self_target, limit_error, target_gvk, validate_spec};

use self::reconcile::Inner;
use super::context::Context;
use super::crd::GROUP;
use super::dpa_store::DpaStore;
use super::model::{DpaKey, InternalStore, ProcessResult, ScalingStep};

/// The sender name of the controller's own store changes (it ignores them).
pub const SENDER: &str = "dpa-controller";
/// Rate-limited requeues of a key before it is given up until its next change.
pub const MAX_RETRIES: u32 = 5;

pub struct Controller {
    inner: Inner,
}

fn dpa_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, "v1alpha2", "DatadogPodAutoscaler"),
        "datadogpodautoscalers",
    )
}

impl Controller {
    pub fn new(
        ctx: Arc<Context>,
        store: Arc<InternalStore>,
        horizontal: Arc<dyn ScalingStep>,
        vertical: Arc<dyn ScalingStep>,
    ) -> Self {
        let resource = dpa_resource();
        let limit = AdmissionSet::new(ctx.settings.limit);
        let objects = ObjectStore::default();
        let queue = WorkQueue::default();
        let inner = Inner { ctx, store, horizontal, vertical, objects, resource, queue, limit, dpas: None };
        Controller { inner }
    }

    /// Publishes, as leader, each DPA's coming vertical target to the webhook's store before the
    /// steps act ([`DpaStore::set_pending_vertical`]).
    pub fn with_dpas(mut self, dpas: Arc<DpaStore>) -> Self {
        self.inner.dpas = Some(dpas);
        self
    }

    /// Runs until `stop` turns true (or its sender goes away).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let inner = Arc::new(self.inner);
        let mut tasks = JoinSet::new();
        tasks.spawn(watch_objects(inner.clone(), stop.clone()));
        tasks.spawn({
            let inner = inner.clone();
            async move { inner.queue.run_delays().await }
        });
        let mut changes = inner.store.subscribe();
        let mut claims = inner.ctx.leader.as_ref().map(|l| l.subscribe());
        let ready = inner.objects.wait_until_ready();
        tokio::select! {
            r = ready => if r.is_err() { return shut_down(&inner, tasks).await },
            _ = stop.changed() => return shut_down(&inner, tasks).await,
        }
        seed(&inner);
        for _ in 0..inner.ctx.settings.num_workers.max(1) {
            tasks.spawn(work(inner.clone()));
        }
        let mut leading = inner.ctx.is_leader();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                change = changes.recv() => match change {
                    Ok(change) if change.sender != SENDER => inner.queue.add(change.key),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => enqueue_all(&inner),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                Some(()) = claim_changed(&mut claims) => {
                    let now_leading = inner.ctx.is_leader();
                    if now_leading && !leading {
                        tracing::info!("leading: reconciling every DatadogPodAutoscaler");
                        enqueue_all(&inner);
                    }
                    leading = now_leading;
                }
            }
        }
        shut_down(&inner, tasks).await
    }
}

async fn claim_changed(claims: &mut Option<watch::Receiver<crate::cluster::Claim>>) -> Option<()> {
    match claims {
        Some(rx) => rx.changed().await.ok(),
        None => std::future::pending().await,
    }
}

async fn shut_down(inner: &Inner, mut tasks: JoinSet<()>) {
    inner.queue.shut_down();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// Every known DPA enters the admitted set before the first reconcile, so admission does not
/// depend on the order keys are processed in.
fn seed(inner: &Inner) {
    let now = k8s_openapi::jiff::Timestamp::now();
    for (key, created) in inner.objects.keys() {
        inner.limit.observe(&key, created.unwrap_or(now));
    }
    enqueue_all(inner);
}

fn enqueue_all(inner: &Inner) {
    for key in inner.store.keys() {
        inner.queue.add(key);
    }
    for (key, _) in inner.objects.keys() {
        inner.queue.add(key);
    }
}

/// The DPA watch into the object store; every event queues its key.
async fn watch_objects(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let api: Api<DynamicObject> = Api::all_with(inner.ctx.client.clone(), &inner.resource);
    let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
    loop {
        let event = tokio::select! {
            e = events.next() => match e { Some(e) => e, None => return },
            _ = stop.changed() => return,
        };
        match event {
            Ok(event) => {
                let key = inner.objects.apply(&event);
                match (event, key) {
                    // Objects deleted while the watch was down are gone from the store now.
                    (Event::InitDone, _) => enqueue_all(&inner),
                    (Event::Init, _) | (_, None) => {}
                    (_, Some(key)) => inner.queue.add(key),
                }
            }
            Err(e) => tracing::warn!(error = %e, "DatadogPodAutoscaler watch failed; retrying"),
        }
    }
}

/// One worker: reconcile keys until the queue shuts down.
async fn work(inner: Arc<Inner>) {
    while let Some(key) = inner.queue.get().await {
        let result = inner.reconcile(&key).await;
        requeue(&inner, &key, result);
        inner.queue.done(&key);
    }
}

/// The work queue's part of a result: backoff for `Requeue` (given up after [`MAX_RETRIES`]),
/// a plain delay for `RequeueAfter`, nothing for `NoRequeue`.
fn requeue(inner: &Inner, key: &DpaKey, result: ProcessResult) {
    match result {
        ProcessResult::Requeue if inner.queue.num_requeues(key) >= MAX_RETRIES => {
            tracing::info!(dpa = %key, "max retries reached for DatadogPodAutoscaler; waiting for its next change");
            inner.queue.forget(key);
        }
        ProcessResult::Requeue => inner.queue.add_rate_limited(key.clone()),
        ProcessResult::RequeueAfter(delay) => {
            inner.queue.forget(key);
            inner.queue.add_after(key.clone(), delay);
        }
        ProcessResult::NoRequeue => inner.queue.forget(key),
    }
}
