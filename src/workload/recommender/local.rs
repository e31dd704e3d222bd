//! The local fallback recommender (spec §10.11): on the leader, every 30 s, for each DPA whose
//! `fallback.horizontal.enabled` is not false, a horizontal recommendation from pod usage — the
//! objectives of `fallback.horizontal.objectives` (else `objectives`), cpu/memory Utilization only —
//! written to `fallback` with source `Local`, or the reason it could not be made to
//! `fallback.horizontal_error` (shown with reason `LocalRecommenderError`).
//!
//! Usage: `PodMetrics` of the resource metrics API sampled every 15 s for the namespaces of those
//! DPAs ([`usage`]); pods and their requests: the pod index. Each pass uses the target's pods that
//! are not finished (Succeeded/Failed); a pod without usable points counts as missing.

pub mod replicas;
pub mod usage;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use tokio::sync::watch;

use self::replicas::{ObjectiveSettings, UsagePoints, recommend_objective};
use self::usage::{PodMetrics, UsageStore};
use super::IsLeader;
use crate::workload::crd::Objective;
use crate::workload::dpa_store::TargetKey;
use crate::workload::model::{
    DpaKey, HorizontalValues, InternalStore, PodAutoscalerInternal, ScalingValues, ValueSource,
};
use crate::workload::pod_index::{PodEntry, PodIndex, PodPhase};

/// The `sender` of the local recommender's store notifications.
pub const SENDER: &str = "local";

/// Timings of the local recommender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRecommenderConfig {
    /// How often recommendations are computed (DCA: 30 s).
    pub interval: Duration,
    /// How often PodMetrics are listed.
    pub sample_interval: Duration,
    /// Points older than this are dropped once enough newer ones exist (DCA: 60 s).
    pub stale_after: Duration,
    /// Samples kept per container.
    pub points_per_container: usize,
}

impl Default for LocalRecommenderConfig {
    fn default() -> Self {
        LocalRecommenderConfig {
            interval: Duration::from_secs(30),
            sample_interval: Duration::from_secs(15),
            stale_after: Duration::from_secs(60),
            points_per_container: 8,
        }
    }
}

/// The recommender and its usage samples.
pub struct LocalRecommender {
    client: kube::Client,
    store: Arc<InternalStore>,
    pods: Arc<PodIndex>,
    is_leader: IsLeader,
    config: LocalRecommenderConfig,
    usage: UsageStore,
}

impl LocalRecommender {
    pub fn new(
        client: kube::Client,
        store: Arc<InternalStore>,
        pods: Arc<PodIndex>,
        is_leader: IsLeader,
        config: LocalRecommenderConfig,
    ) -> Self {
        let usage = UsageStore::new(config.points_per_container);
        LocalRecommender { client, store, pods, is_leader, config, usage }
    }

    /// The usage samples kept.
    pub fn usage(&self) -> &UsageStore {
        &self.usage
    }

    /// Samples and recommends until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut sample = tokio::time::interval(self.config.sample_interval);
        let mut recommend = tokio::time::interval(self.config.interval);
        for t in [&mut sample, &mut recommend] {
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                _ = sample.tick() => if (self.is_leader)() { self.sample().await },
                _ = recommend.tick() => if (self.is_leader)() { self.recommend_all(Timestamp::now()).await },
                _ = stop.changed() => return,
            }
        }
    }

    /// Lists the PodMetrics of every namespace holding an eligible DPA.
    pub async fn sample(&self) {
        let mut namespaces = HashSet::new();
        for (key, _) in self.eligible().await {
            namespaces.insert(key.namespace);
        }
        self.usage.retain_namespaces(&namespaces);
        for ns in namespaces {
            let api: Api<PodMetrics> = Api::namespaced(self.client.clone(), &ns);
            match api.list(&ListParams::default()).await {
                Ok(list) => self.usage.record_namespace(&ns, &list.items),
                Err(e) => tracing::debug!(namespace = %ns, error = %e, "PodMetrics not listed"),
            }
        }
    }

    /// One pass: a recommendation (or its error) for every eligible DPA.
    pub async fn recommend_all(&self, now: Timestamp) {
        for (key, dpa) in self.eligible().await {
            let target = target_of(&dpa);
            let pods: Vec<(String, PodEntry)> = self
                .pods
                .pods_of(&target)
                .into_iter()
                .filter(|(_, p)| !matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed))
                .collect();
            let fallback = match self.recommendation(&dpa, &pods, now) {
                Ok(h) => ScalingValues { horizontal: Some(h), ..Default::default() },
                Err(e) => ScalingValues { horizontal_error: Some(e), ..Default::default() },
            };
            self.write(&key, fallback).await;
        }
    }

    /// The recommendation for one DPA from its pods and the usage sampled so far.
    pub fn recommendation(
        &self,
        dpa: &PodAutoscalerInternal,
        pods: &[(String, PodEntry)],
        now: Timestamp,
    ) -> Result<HorizontalValues, String> {
        let usage = self.usage.namespace(&dpa.namespace);
        horizontal_recommendation(dpa, pods, &usage, now, self.config.stale_after)
    }

    /// The DPAs the recommender works on, as they are now.
    async fn eligible(&self) -> Vec<(DpaKey, PodAutoscalerInternal)> {
        let mut out = Vec::new();
        for key in self.store.keys() {
            let Some(entry) = self.store.get(&key) else { continue };
            let dpa = entry.lock().await;
            if is_eligible(&dpa) {
                out.push((key, dpa.clone()));
            }
        }
        out
    }

    async fn write(&self, key: &DpaKey, fallback: ScalingValues) {
        if !(self.is_leader)() {
            return;
        }
        let Some(entry) = self.store.get(key) else { return };
        let mut dpa = entry.lock().await;
        if dpa.fallback == fallback {
            return;
        }
        dpa.fallback = fallback;
        drop(dpa);
        self.store.notify(key, SENDER);
    }
}

/// The highest replica count the objectives recommend (spec §10.11); an objective that cannot be
/// computed ends the pass (the objectives before it still count).
pub fn horizontal_recommendation(
    dpa: &PodAutoscalerInternal,
    pods: &[(String, PodEntry)],
    usage: &dyn UsagePoints,
    now: Timestamp,
    stale: Duration,
) -> Result<HorizontalValues, String> {
    let id = dpa.id();
    let target = &dpa.spec.target_ref;
    if pods.is_empty() {
        return Err(format!("No pods found for autoscaler: {id}, kind: {}, name: {}", target.kind, target.name));
    }
    let mut best: Option<(i32, Timestamp)> = None;
    let mut last_error = None;
    for objective in objectives(dpa) {
        let settings = ObjectiveSettings::from_objective(objective)
            .map_err(|e| format!("failed to get recommender settings for objective: {id}, {e}"))?;
        match recommend_objective(&settings, pods, usage, now, stale) {
            Ok(rec) if best.is_none_or(|b| rec.0 > b.0) => best = Some(rec),
            Ok(_) => {}
            Err(e) => {
                last_error = Some(e);
                break;
            }
        }
    }
    match best {
        Some((replicas, timestamp)) if replicas > 0 => {
            Ok(HorizontalValues { source: ValueSource::Local, timestamp, replicas })
        }
        _ => Err(match last_error {
            Some(e) => format!("No recommendation found for autoscaler: {id}: {e}"),
            None => format!("No recommendation found for autoscaler: {id}"),
        }),
    }
}

/// `fallback.horizontal.enabled` is not false, and the DPA is not being deleted.
pub fn is_eligible(dpa: &PodAutoscalerInternal) -> bool {
    let enabled = dpa.spec.fallback.as_ref().and_then(|f| f.horizontal.as_ref()).and_then(|h| h.enabled);
    enabled != Some(false) && !dpa.deleted
}

/// `fallback.horizontal.objectives` when set, else the DPA's `objectives`.
pub fn objectives(dpa: &PodAutoscalerInternal) -> &[Objective] {
    let fallback = dpa.spec.fallback.as_ref().and_then(|f| f.horizontal.as_ref()).and_then(|h| h.objectives.as_deref());
    match fallback {
        Some(o) if !o.is_empty() => o,
        _ => dpa.spec.objectives.as_deref().unwrap_or_default(),
    }
}

/// The pod index key of the DPA's target.
pub fn target_of(dpa: &PodAutoscalerInternal) -> TargetKey {
    TargetKey::of(&dpa.namespace, &dpa.spec.target_ref)
}

#[cfg(test)]
mod tests;
