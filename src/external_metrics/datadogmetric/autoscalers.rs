//! The autoscaler watcher (spec §7.6, leader only, every refresh period): which DatadogMetrics
//! autoscaling/v2 HPAs reference. Referenced (or always-active) metrics are Active with their
//! `autoscalerReferences`; metrics that stop being referenced become inactive and invalid;
//! plain metric names get autogen entries, and autogen entries unused for 3 h are flagged for
//! deletion (the controller then creates or deletes the objects).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

pub use crate::external_metrics::hpa_index::HpaIndex;

use super::ProviderConfig;
use super::model::MetricState;
use super::names::{Reference, autogen_query, hpa_reference};
use super::store::{DatadogMetricStore, Writer};
use crate::cluster::lease::LeaderHandle;

/// A referenced metric: who references it, and for plain names what to autogen.
#[derive(Debug, Default, PartialEq)]
pub struct Referenced {
    pub metric_name: String,
    pub labels: BTreeMap<String, String>,
    pub references: Vec<String>,
}

pub struct AutoscalerWatcher {
    config: Arc<ProviderConfig>,
    store: Arc<DatadogMetricStore>,
    leader: LeaderHandle,
    hpas: HpaIndex,
}

impl AutoscalerWatcher {
    pub fn new(
        config: Arc<ProviderConfig>,
        store: Arc<DatadogMetricStore>,
        leader: LeaderHandle,
        hpas: HpaIndex,
    ) -> Self {
        AutoscalerWatcher { config, store, leader, hpas }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.config.refresh_period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = ticks.tick() => {
                    if self.leader.is_leader_now() && self.hpas.is_ready() {
                        let mut hpas = self.hpas.list();
                        hpas.retain(|hpa| self.config.hpa_selector.matches(hpa.metadata.labels.as_ref().unwrap_or(&BTreeMap::new())));
                        let referenced = references(&self.config, &hpas);
                        reconcile(&self.config, &self.store, referenced, Timestamp::now());
                    }
                }
            }
        }
    }
}

/// Metric ID → what references it, from the HPAs' External metrics (sorted by HPA for stable output).
pub fn references(config: &ProviderConfig, hpas: &[Arc<HorizontalPodAutoscaler>]) -> HashMap<String, Referenced> {
    let mut sorted: Vec<&HorizontalPodAutoscaler> = hpas.iter().map(Arc::as_ref).collect();
    sorted.sort_by_key(|hpa| (hpa.metadata.namespace.clone(), hpa.metadata.name.clone()));
    let mut found: HashMap<String, Referenced> = HashMap::new();
    for hpa in sorted {
        let reference = hpa_reference(
            hpa.metadata.namespace.as_deref().unwrap_or_default(),
            hpa.metadata.name.as_deref().unwrap_or_default(),
        );
        let metrics = hpa.spec.as_ref().and_then(|spec| spec.metrics.as_ref());
        for metric in metrics.into_iter().flatten().filter(|m| m.type_ == "External") {
            let Some(external) = metric.external.as_ref() else { continue };
            let name = &external.metric.name;
            let (id, plain) = match Reference::parse(name) {
                Reference::DatadogMetric { namespace, name } => (format!("{namespace}/{name}"), None),
                Reference::Plain if config.autogen_enabled => {
                    let labels =
                        external.metric.selector.as_ref().and_then(|s| s.match_labels.clone()).unwrap_or_default();
                    (config.autogen_id(name, &labels), Some((name.clone(), labels)))
                }
                _ => continue,
            };
            let entry = found.entry(id).or_default();
            if let Some((metric_name, labels)) = plain
                && entry.references.is_empty()
            {
                entry.metric_name = metric_name;
                entry.labels = labels;
            }
            entry.references.push(reference.clone());
        }
    }
    found
}

/// `processAutoscalers` against the store, at `now`.
pub fn reconcile(
    config: &ProviderConfig,
    store: &DatadogMetricStore,
    mut referenced: HashMap<String, Referenced>,
    now: Timestamp,
) {
    let expiration = SignedDuration::try_from(config.autogen_expiration).unwrap_or(SignedDuration::MAX);
    for metric in store.all() {
        let found = referenced.remove(&metric.id);
        let references = found.as_ref().map(|r| r.references.join(", ")).unwrap_or_default();
        let active = found.is_some() || metric.always_active;
        if active != metric.active || references != metric.autoscaler_references {
            store.update(&metric.id, Writer::AutoscalerWatcher, |current| {
                current.update_time = now;
                current.active = active;
                current.autoscaler_references = references.clone();
                if !active {
                    current.valid = false;
                }
            });
        }
        let recently_updated = metric.update_time > now.checked_sub(expiration).unwrap_or(Timestamp::MIN);
        if !active && metric.autogen && !recently_updated {
            tracing::info!(id = %metric.id, "flagging unused autogen DatadogMetric for deletion");
            store.update(&metric.id, Writer::AutoscalerWatcher, |current| current.deleted = true);
        }
    }
    for (id, found) in referenced {
        if found.metric_name.is_empty() {
            continue;
        }
        let query = autogen_query(&config.aggregator, config.rollup.as_secs(), &found.metric_name, &found.labels);
        tracing::info!(%id, metric = %found.metric_name, %query, "creating autogen DatadogMetric");
        let state = MetricState::autogen(&id, &query, &found.metric_name, &found.references.join(", "), now);
        store.set(state, Writer::AutoscalerWatcher);
    }
}
