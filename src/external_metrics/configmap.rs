//! The legacy ConfigMap provider (spec §9), used when `use_datadogmetric_crd` is false: external
//! metrics live in the `hpa_configmap_name` ConfigMap (default `datadog-custom-metrics`) in the
//! resources namespace, one item per (autoscaler, metric), in the DCA's key and JSON formats so a
//! DCA and this server can take turns on the same cluster.
//!
//! Loops, one task each, all stopped by the shutdown signal:
//! - the mirror (every replica): watches the ConfigMap into an in-memory [`mirror::Snapshot`];
//! - the HPA reflector (every replica, read by the leader);
//! - the leader loop: placeholders for HPA metrics, refresh through the [`MetricsQuerier`]
//!   (identical queries once, one ConfigMap update per refresh), GC of entries whose HPA is gone.
//!
//! Reads ([`ConfigMapProvider`]) come from the snapshot only. Where the DCA answers an empty list
//! (no entry, or only invalid ones), reads here fail with a message saying which, so the HPA's
//! `FailedGetExternalMetric` event explains itself; identical entries of several HPAs are served
//! once (the HPA sums what it gets), and a valid value older than max age + grace is refused.

mod autoscalers;
mod entry;
mod leader;
mod mirror;
mod refresh;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::apimachinery::selector::LabelSelector;
use crate::cluster::lease::{LeaderElection, LeaderHandle, LeaseConfig};
use crate::config::Settings;
use crate::external_metrics::datadogmetric::MetricsQuerier;
use crate::server::{Check, ExternalMetricValue, MetricsProvider, ProviderError, format_quantity};

pub use entry::{Entry, KEY_PREFIX, LAST_UPDATED_ANNOTATION, ObjectReference, Parsed, go_json_float, parse};
pub use refresh::MAX_CONFIGMAP_BYTES;

/// The readiness check's name in `/readyz`.
pub const READY_CHECK: &str = "external metrics configmap synced";
/// What the DCA answers when its copy of the ConfigMap is missing or too old.
pub const INVALID: &str = "external metrics invalid";

/// The provider's settings, derived once at start.
#[derive(Debug, Clone)]
pub struct CmConfig {
    pub namespace: String,
    pub name: String,
    pub refresh_period: Duration,
    pub batch_window: Duration,
    pub gc_period: Duration,
    /// Reads fail once the copy is older than twice this.
    pub local_copy_refresh_rate: Duration,
    /// Grace added to the max age at read time.
    pub query_validity_period: Duration,
    pub rules: refresh::QueryRules,
}

impl CmConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        let own = crate::cluster::own_namespace();
        CmConfig {
            namespace: settings.resources_namespace_or(own.as_deref()).to_owned(),
            name: settings.hpa_configmap_name().to_owned(),
            refresh_period: settings.external_metrics_provider_refresh_period(),
            batch_window: settings.configmap_batch_window(),
            gc_period: settings.hpa_watcher_gc_period(),
            local_copy_refresh_rate: settings.local_copy_refresh_rate(),
            query_validity_period: settings.query_validity_period(),
            rules: refresh::QueryRules {
                aggregator: settings.aggregator().to_owned(),
                rollup: settings.rollup(),
                window: settings.bucket_size(),
                max_age: settings.metrics_max_age(),
            },
        }
    }
}

/// The read side: answers external metric reads from the mirrored ConfigMap.
pub struct ConfigMapProvider {
    config: Arc<CmConfig>,
    mirror: Arc<mirror::Mirror>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl ConfigMapProvider {
    /// `/readyz` check: the ConfigMap has been listed once.
    pub fn ready_check(&self) -> (&'static str, Check) {
        let mirror = self.mirror.clone();
        let check: Check = Arc::new(move || if mirror.is_synced() { Ok(()) } else { Err("not synced".into()) });
        (READY_CHECK, check)
    }

    pub fn is_synced(&self) -> bool {
        self.mirror.is_synced()
    }

    /// Every current-format entry by key (for status output).
    pub fn entries(&self) -> BTreeMap<String, Entry> {
        self.mirror.snapshot().entries.clone()
    }

    /// The leader's last failed write (e.g. the ConfigMap is full), cleared by the next success.
    pub fn write_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    /// `namespace/name` of the ConfigMap.
    pub fn configmap(&self) -> String {
        self.mirror.describe()
    }

    fn max_age_at_read(&self) -> i64 {
        let total = self.config.rules.max_age + self.config.query_validity_period;
        i64::try_from(total.as_secs()).unwrap_or(i64::MAX)
    }

    fn invalid_text(&self, metric: &str, entries: &[&Entry], now_s: i64) -> String {
        let entry = entries[0];
        let reference = &entry.reference;
        let owner = format!("{} {}/{}", reference.kind, reference.namespace, reference.name);
        if entry.valid {
            let when = Timestamp::from_second(entry.timestamp).map(rfc3339).unwrap_or_default();
            let age = now_s.saturating_sub(entry.timestamp);
            return format!(
                "external metric {metric} (for {owner}) is stale, last updated: {when} ({age}s ago). Check datadog-cluster-agent logs for errors"
            );
        }
        let query = entry.query(&self.config.rules.aggregator, self.config.rules.rollup.as_secs());
        format!(
            "external metric {metric} (for {owner}) is not valid: the Datadog query {query} failed or returned no point in the last {}s. Check datadog-cluster-agent logs for errors",
            self.config.rules.max_age.as_secs()
        )
    }
}

fn rfc3339(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl MetricsProvider for ConfigMapProvider {
    fn get(
        &self,
        _namespace: &str,
        metric: &str,
        selector: &LabelSelector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let snapshot = self.mirror.usable().map_err(|_| ProviderError::Unavailable(INVALID.to_owned()))?;
        let wanted = metric.to_lowercase();
        let matching: Vec<&Entry> = snapshot
            .entries
            .values()
            .filter(|entry| entry.metric_name.to_lowercase() == wanted && selector.matches(entry.labels()))
            .collect();
        if matching.is_empty() {
            return Err(ProviderError::NotFound(format!(
                "no external metric {metric} with labels matching \"{selector}\" in ConfigMap {}: no HPA uses it, or the leader has not written it yet",
                self.mirror.describe()
            )));
        }
        let now = Timestamp::now();
        let max_age = self.max_age_at_read();
        let usable = |entry: &&&Entry| entry.valid && now.as_second().saturating_sub(entry.timestamp) <= max_age;
        // The HPA sums every item: the same labels from several HPAs are one value, the newest.
        let mut by_labels: BTreeMap<&BTreeMap<String, String>, &Entry> = BTreeMap::new();
        for entry in matching.iter().filter(usable) {
            let kept = by_labels.entry(entry.labels()).or_insert(entry);
            if entry.timestamp > kept.timestamp {
                *kept = entry;
            }
        }
        if by_labels.is_empty() {
            return Err(ProviderError::Unavailable(self.invalid_text(metric, &matching, now.as_second())));
        }
        let timestamp = rfc3339(now);
        Ok(by_labels
            .into_values()
            .map(|entry| ExternalMetricValue {
                metric_name: entry.metric_name.clone(),
                metric_labels: entry.labels.clone(),
                timestamp: timestamp.clone(),
                window: None,
                value: format_quantity(entry.value),
            })
            .collect())
    }
}

/// A started provider: the read side, the leader handle it writes under, and the task running
/// its loops (it ends after the shutdown signal).
pub struct RunningConfigMapProvider {
    pub provider: Arc<ConfigMapProvider>,
    pub leader: LeaderHandle,
    pub task: JoinHandle<()>,
}

/// Starts leader election (per `leader_*` settings) and the provider's loops.
pub fn start(
    client: kube::Client,
    settings: &Settings,
    querier: Arc<dyn MetricsQuerier>,
    shutdown: watch::Receiver<bool>,
) -> RunningConfigMapProvider {
    let election = LeaderElection::spawn(client.clone(), LeaseConfig::from_settings(settings), shutdown.clone());
    let mut running = start_with_leader(client, settings, querier, election.handle, shutdown);
    let loops = running.task;
    running.task = tokio::spawn(async move {
        let _ = loops.await;
        let _ = election.task.await;
    });
    running
}

/// Starts the provider's loops under an existing election (shared with other leader-only loops).
pub fn start_with_leader(
    client: kube::Client,
    settings: &Settings,
    querier: Arc<dyn MetricsQuerier>,
    leader: LeaderHandle,
    shutdown: watch::Receiver<bool>,
) -> RunningConfigMapProvider {
    let config = Arc::new(CmConfig::from_settings(settings));
    let mirror = Arc::new(mirror::Mirror::new(&config.namespace, &config.name, config.local_copy_refresh_rate * 2));
    let last_error = Arc::new(Mutex::new(None));
    let mut tasks = JoinSet::new();
    tasks.spawn(mirror.clone().run(client.clone(), config.local_copy_refresh_rate, shutdown.clone()));
    let (hpas, deleted) = autoscalers::HpaIndex::spawn(client.clone(), &mut tasks, shutdown.clone());
    let leader_loop = leader::LeaderLoop {
        config: config.clone(),
        api: Api::<ConfigMap>::namespaced(client, &config.namespace),
        mirror: mirror.clone(),
        hpas,
        deleted,
        leader: leader.clone(),
        querier,
        last_error: last_error.clone(),
    };
    tasks.spawn(leader_loop.run(shutdown));
    let task = tokio::spawn(async move { while tasks.join_next().await.is_some() {} });
    let provider = Arc::new(ConfigMapProvider { config, mirror, last_error });
    RunningConfigMapProvider { provider, leader, task }
}
