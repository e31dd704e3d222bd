//! The leader's loop (spec §9; one task, so the ConfigMap has one writer per process): makes sure
//! the ConfigMap exists; every `batch_window` writes placeholders for new HPA metrics; every
//! `refresh_period` queries every entry (identical queries once) and writes all values in one
//! update; every `hpa_watcher_gc_period`, and at once when an HPA is deleted, deletes entries
//! whose HPA is gone. Updates carry the resourceVersion they were computed from and are retried
//! on conflict from a fresh read; the lease is checked right before each write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::time::{Interval, MissedTickBehavior};

use super::CmConfig;
use super::autoscalers::{self, HpaIndex};
use super::entry::{Entry, LAST_UPDATED_ANNOTATION};
use super::mirror::Mirror;
use super::refresh::{self, Changes};
use crate::cluster::lease::LeaderHandle;
use crate::external_metrics::datadogmetric::MetricsQuerier;

/// Attempts of one update before giving up until the next tick.
const WRITE_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot {verb} ConfigMap {configmap}: {source}")]
    Api { verb: &'static str, configmap: String, source: kube::Error },
    #[error("ConfigMap {configmap} kept changing: update conflicted {WRITE_ATTEMPTS} times")]
    Conflicts { configmap: String },
    #[error(transparent)]
    TooLarge(#[from] refresh::TooLarge),
}

pub struct LeaderLoop {
    pub config: Arc<CmConfig>,
    pub api: Api<ConfigMap>,
    pub mirror: Arc<Mirror>,
    pub hpas: HpaIndex,
    pub deleted: mpsc::UnboundedReceiver<Arc<HorizontalPodAutoscaler>>,
    pub leader: LeaderHandle,
    pub querier: Arc<dyn MetricsQuerier>,
    /// The last write failure, cleared by a successful write (for status output).
    pub last_error: Arc<Mutex<Option<String>>>,
}

fn ticker(period: std::time::Duration) -> Interval {
    let mut ticks = tokio::time::interval(period.max(std::time::Duration::from_millis(50)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

impl LeaderLoop {
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (mut refreshes, mut batches, mut gcs) =
            (ticker(self.config.refresh_period), ticker(self.config.batch_window), ticker(self.config.gc_period));
        gcs.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = refreshes.tick() => {
                    // A Datadog call in flight must not hold up shutdown.
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = self.refresh() => {}
                    }
                }
                _ = batches.tick() => self.flush_placeholders().await,
                _ = gcs.tick() => self.gc().await,
                Some(hpa) = self.deleted.recv() => self.forget(&hpa).await,
            }
        }
    }

    /// Leader, HPAs listed and the ConfigMap copy synced: the state writes are computed from.
    fn ready(&self) -> bool {
        self.leader.is_leader_now() && self.hpas.is_ready() && self.mirror.is_synced()
    }

    fn desired(&self) -> BTreeMap<String, Entry> {
        autoscalers::desired(&self.hpas.list(), Timestamp::now().as_second())
    }

    async fn refresh(&self) {
        if !self.ready() {
            return;
        }
        let snapshot = self.mirror.snapshot();
        let entries = refresh::merge(&snapshot.entries, &self.desired());
        let mut changes = Changes::default();
        changes.delete.extend(snapshot.deprecated.iter().cloned());
        if !entries.is_empty() {
            let rules = &self.config.rules;
            let started = std::time::Instant::now();
            let results = self.querier.query(rules.batch(entries.values())).await;
            let updated = refresh::apply_all(&entries, rules, &results, Timestamp::now().as_second());
            let valid = updated.values().filter(|e| e.valid).count();
            tracing::debug!(entries = updated.len(), valid, elapsed = ?started.elapsed(), "refreshed external metrics");
            changes.set = Changes::setting(&updated).set;
        }
        self.write(changes).await;
    }

    /// New HPA metrics get their placeholder before the next refresh.
    async fn flush_placeholders(&self) {
        if !self.ready() {
            return;
        }
        let snapshot = self.mirror.snapshot();
        let merged = refresh::merge(&snapshot.entries, &self.desired());
        let new: BTreeMap<_, _> = merged.into_iter().filter(|(k, e)| snapshot.entries.get(k) != Some(e)).collect();
        if !new.is_empty() || snapshot.object.is_none() {
            tracing::info!(count = new.len(), "adding external metric entries for HPAs");
            self.write(Changes::setting(&new)).await;
        }
    }

    async fn gc(&self) {
        if !self.ready() {
            return;
        }
        let snapshot = self.mirror.snapshot();
        let mut delete: BTreeSet<String> =
            autoscalers::stale_keys(&snapshot.entries, &self.hpas.list()).into_iter().collect();
        for (key, why) in &snapshot.corrupt {
            tracing::warn!(configmap = %self.mirror.describe(), key, "deleting an entry that does not decode: {why}");
            delete.insert(key.clone());
        }
        tracing::info!(deleted = delete.len(), "external metrics garbage collection");
        if !delete.is_empty() {
            self.write(Changes { set: BTreeMap::new(), delete }).await;
        }
    }

    /// The DCA's delete handler: a deleted HPA's entries go at once.
    async fn forget(&self, hpa: &HorizontalPodAutoscaler) {
        if !self.leader.is_leader_now() {
            return;
        }
        let delete: BTreeSet<String> = autoscalers::inspect(hpa, 0).iter().map(|e| e.key()).collect();
        let present = self.mirror.snapshot();
        let delete: BTreeSet<String> = delete.into_iter().filter(|k| present.entries.contains_key(k)).collect();
        if !delete.is_empty() {
            tracing::info!(count = delete.len(), "deleting the external metric entries of a deleted HPA");
            self.write(Changes { set: BTreeMap::new(), delete }).await;
        }
    }

    async fn write(&self, changes: Changes) {
        if changes.is_empty() && self.mirror.snapshot().object.is_some() {
            return;
        }
        let result = self.commit(&changes).await;
        let mut last_error = self.last_error.lock();
        match result {
            Ok(None) => *last_error = None,
            Ok(Some(partial)) | Err(WriteError::TooLarge(partial)) => {
                tracing::error!("{partial}");
                *last_error = Some(partial.to_string());
            }
            Err(e) => {
                tracing::warn!("{e}");
                *last_error = Some(e.to_string());
            }
        }
    }

    /// One update (or create) carrying `changes`; `Ok(Some(_))` when new entries had to be left
    /// out for size.
    async fn commit(&self, changes: &Changes) -> Result<Option<refresh::TooLarge>, WriteError> {
        let configmap = self.mirror.describe();
        let api_error = |verb, source| WriteError::Api { verb, configmap: configmap.clone(), source };
        let mut base = self.mirror.snapshot().object.as_deref().cloned();
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                base = self.api.get_opt(&self.config.name).await.map_err(|e| api_error("read", e))?;
            }
            let mut object = base.clone().unwrap_or_else(|| self.empty());
            let data = object.data.clone().unwrap_or_default();
            let binary: usize = object.binary_data.iter().flatten().map(|(k, v)| k.len() + v.0.len()).sum();
            let (next, partial) = refresh::apply_changes(&data, binary, changes, &configmap);
            if let Some(error) = &partial
                && next == data
                && base.is_some()
            {
                return Err(WriteError::TooLarge(error.clone()));
            }
            object.data = Some(next);
            object.metadata.annotations.get_or_insert_default().insert(
                LAST_UPDATED_ANNOTATION.to_owned(),
                Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
            if self.leader.guard().is_none() {
                return Ok(None);
            }
            let written = match base {
                None => self.api.create(&PostParams::default(), &object).await.map_err(|e| ("create", e)),
                Some(_) => self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &object)
                    .await
                    .map_err(|e| ("update", e)),
            };
            match written {
                Ok(written) => {
                    self.mirror.set(Some(written));
                    return Ok(partial);
                }
                Err((_, kube::Error::Api(status))) if status.code == 409 => continue,
                Err((verb, source)) => return Err(api_error(verb, source)),
            }
        }
        Err(WriteError::Conflicts { configmap })
    }

    fn empty(&self) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                namespace: Some(self.config.namespace.clone()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }
}
