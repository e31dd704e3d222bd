//! The DatadogMetric provider (spec §7): `datadoghq.com/v1alpha1` DatadogMetrics served as
//! external metrics `datadogmetric@<ns>:<name>` (and plain Datadog metric names through autogen
//! DatadogMetrics).
//!
//! Loops, one task each, all stopped by the shutdown signal:
//! - the controller (every replica): watches DatadogMetrics into the store; on the leader it also
//!   writes status back (only when newer), creates autogen objects and deletes expired ones;
//! - the autoscaler watcher (leader, every `refresh_period`): HPAs → Active and
//!   autoscalerReferences, autogen entries;
//! - the retriever (leader, every `refresh_period`): one [`MetricsQuerier`] call for every active
//!   metric, identical (query, window) pairs sent once.
//!
//! Reads ([`DatadogMetricProvider`]) come from the in-memory store only.

mod autoscalers;
mod controller;
mod duration;
mod model;
mod names;
mod retriever;
mod store;
mod template;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::apimachinery::selector::LabelSelector;
use crate::cluster::lease::{LeaderElection, LeaderHandle, LeaseConfig};
use crate::config::Settings;
use crate::server::{
    Check, ExternalMetricValue, ExternalMetricValueList, MetricsProvider, ProviderError, lowercase_metric,
};

pub use model::{MetricError, MetricState};
pub use names::{Reference, autogen_name, autogen_query};
pub use store::{DatadogMetricStore, Served, Writer};

/// The readiness check's name in `/readyz`.
pub const READY_CHECK: &str = "datadogmetrics synced";
/// Autogen DatadogMetrics unused for this long are deleted (DCA: 3 h, not configurable).
const AUTOGEN_EXPIRATION: Duration = Duration::from_secs(3 * 3600);

/// One Datadog query over a window; identical specs are sent once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuerySpec {
    pub query: String,
    pub window: Duration,
}

/// The point chosen for a query (the client applies the DCA's penultimate-point rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryPoint {
    pub value: f64,
    pub timestamp_s: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The API call failed (HTTP/transport/API error): every query of the call has it.
    Api,
    /// The API answered 429: like `Api`, but never split off nor backed off per metric.
    RateLimited,
    /// The reply had no usable point for this query (the processor's per-query message).
    Processing,
}

/// Why a query has no value; `message` is the DCA's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub kind: QueryErrorKind,
    pub message: String,
}

pub type QueryResults = HashMap<QuerySpec, Result<QueryPoint, QueryError>>;

/// How the retriever reaches Datadog (the real client is adapted to it at wiring time).
pub trait MetricsQuerier: Send + Sync {
    /// Answers every spec of `batch`; a spec missing from the answer is reported as such.
    fn query(&self, batch: Vec<QuerySpec>) -> BoxFuture<'_, QueryResults>;
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("external_metrics_provider.autoscaler_autogen_label_selector {selector:?} is not a label selector: {why}")]
    HpaSelector { selector: String, why: String },
}

/// The provider's settings, derived once at start (spec §7.1).
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub refresh_period: Duration,
    /// max(`max_age`, 3 × `rollup`): staleness when a metric has no `spec.maxAge`.
    pub metrics_max_age: Duration,
    /// Grace added to the max age at read time.
    pub query_validity_period: Duration,
    /// `max_age` as configured: the smallest query window.
    pub max_age: Duration,
    pub bucket_size: Duration,
    pub max_time_window: Duration,
    pub aggregator: String,
    pub rollup: Duration,
    pub split_batches_with_backoff: bool,
    pub autogen_enabled: bool,
    pub autogen_namespace: String,
    pub autogen_expiration: Duration,
    pub hpa_selector: LabelSelector,
    pub enforce_namespace: bool,
    pub cluster_name: Option<String>,
}

impl ProviderConfig {
    pub fn from_settings(settings: &Settings) -> Result<Self, BuildError> {
        let selector_text = settings.autoscaler_autogen_label_selector();
        let hpa_selector = LabelSelector::parse(selector_text)
            .map_err(|e| BuildError::HpaSelector { selector: selector_text.to_owned(), why: e.to_string() })?;
        let own = crate::cluster::own_namespace();
        Ok(ProviderConfig {
            refresh_period: settings.external_metrics_provider_refresh_period().max(Duration::from_millis(100)),
            metrics_max_age: settings.metrics_max_age(),
            query_validity_period: settings.query_validity_period(),
            max_age: settings.max_age(),
            bucket_size: settings.bucket_size(),
            max_time_window: settings.max_time_window(),
            aggregator: settings.aggregator().to_owned(),
            rollup: settings.rollup(),
            split_batches_with_backoff: settings.split_batches_with_backoff(),
            autogen_enabled: settings.datadogmetric_autogen_enabled(),
            autogen_namespace: settings.resources_namespace_or(own.as_deref()).to_owned(),
            autogen_expiration: AUTOGEN_EXPIRATION,
            hpa_selector,
            enforce_namespace: settings.enforce_namespace(),
            cluster_name: settings.cluster_name().map(str::to_owned),
        })
    }

    /// The autogen ID for a plain metric name with tag labels.
    fn autogen_id(&self, metric: &str, labels: &std::collections::BTreeMap<String, String>) -> String {
        let query = autogen_query(&self.aggregator, self.rollup.as_secs(), metric, labels);
        format!("{}/{}", self.autogen_namespace, autogen_name(&query))
    }
}

/// The read side: answers external metric reads from the store.
pub struct DatadogMetricProvider {
    store: Arc<DatadogMetricStore>,
    config: Arc<ProviderConfig>,
    synced: Arc<AtomicBool>,
}

impl DatadogMetricProvider {
    /// A provider answering from `store`, which the caller fills (in-process drivers measuring
    /// the read path without the controller's watch); reported as synced.
    pub fn serving(store: Arc<DatadogMetricStore>, config: ProviderConfig) -> Self {
        DatadogMetricProvider { store, config: Arc::new(config), synced: Arc::new(AtomicBool::new(true)) }
    }

    /// `/readyz` check: the first list of DatadogMetrics is in the store.
    pub fn ready_check(&self) -> (&'static str, Check) {
        let synced = self.synced.clone();
        let check: Check =
            Arc::new(move || if synced.load(Ordering::Acquire) { Ok(()) } else { Err("not synced".into()) });
        (READY_CHECK, check)
    }

    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Every metric in the store, sorted by ID (for status output).
    pub fn metrics(&self) -> Vec<MetricState> {
        self.store.all()
    }

    /// What entry `namespace/name` serves for `metric` at `now` (`serve` picks it), or why not.
    fn answer<T>(
        &self,
        (namespace, name): (&str, &str),
        metric: &str,
        now: Timestamp,
        serve: impl FnOnce(&Served) -> T,
    ) -> Result<T, ProviderError> {
        let config = &self.config;
        // What decides is read from `served` (in the store's slot); `state` only on an error.
        let answer = self.store.read_served(namespace, name, |state, served| {
            if !served.valid {
                let text = state.error.as_ref().map(|e| e.text.clone());
                return Err(text.unwrap_or_else(|| "DatadogMetric is invalid, missing error details".to_owned()));
            }
            if served.is_stale(config.metrics_max_age, now, config.query_validity_period) {
                let when = state.data_time_text();
                return Err(format!(
                    "DatadogMetric is stale, last updated: {when}. Check datadog-cluster-agent logs for errors"
                ));
            }
            Ok(serve(served))
        });
        match answer {
            Some(result) => result.map_err(ProviderError::Unavailable),
            None => Err(not_found(metric, &[namespace, "/", name].concat(), "")),
        }
    }

    /// The entry a (lower-cased) metric name reads: `datadogmetric@<ns>:<name>` references, checked
    /// against the reading namespace when `enforce_namespace` is set, or a plain name's autogen ID.
    fn target<'a>(
        &self,
        namespace: &str,
        metric: &'a str,
        selector: &LabelSelector,
    ) -> Result<Target<'a>, ProviderError> {
        match names::reference_parts(metric) {
            Some((owner, name)) => {
                if self.config.enforce_namespace && owner != namespace {
                    let why = format!(
                        " (external_metrics_provider.enforce_namespace: only namespace {owner} may read it, not {namespace})"
                    );
                    return Err(not_found(metric, &[owner, "/", name].concat(), &why));
                }
                Ok(Target::Reference(owner, name))
            }
            None if metric.starts_with(names::REFERENCE_PREFIX) => Err(ProviderError::Unavailable(format!(
                "ExternalMetric does not follow DatadogMetric format: {metric}"
            ))),
            None => Ok(Target::Autogen(self.config.autogen_id(metric, &selector.equality_labels()))),
        }
    }
}

/// Which entry a read names (see [`DatadogMetricProvider::target`]).
enum Target<'a> {
    /// Namespace and name of a `datadogmetric@<ns>:<name>` reference.
    Reference(&'a str, &'a str),
    /// The autogen ID serving a plain metric name.
    Autogen(String),
}

fn not_found(metric: &str, id: &str, why: &str) -> ProviderError {
    ProviderError::NotFound(format!("DatadogMetric not found for metric name: {metric}, datadogmetricid: {id}{why}"))
}

/// The value a read of `metric` answers with.
fn value_of(metric: &str, served: &Served) -> ExternalMetricValue {
    ExternalMetricValue {
        metric_name: metric.to_owned(),
        metric_labels: None,
        timestamp: served.timestamp.clone(),
        window: None,
        value: served.value.clone(),
    }
}

impl MetricsProvider for DatadogMetricProvider {
    fn get(
        &self,
        namespace: &str,
        metric: &str,
        selector: &LabelSelector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let metric = lowercase_metric(metric);
        let now = Timestamp::now();
        let value = match self.target(namespace, &metric, selector)? {
            Target::Reference(owner, name) => self.answer((owner, name), &metric, now, |s| value_of(&metric, s))?,
            Target::Autogen(id) => self.answer(store::parts(&id), &metric, now, |s| value_of(&metric, s))?,
        };
        Ok(vec![value])
    }

    /// A reference's reply is the entry's serialised one (its metric name is the reference, as
    /// lower-cased here); an autogen entry's names the plain metric, so it is serialised per read.
    fn get_reply(&self, namespace: &str, metric: &str, selector: &LabelSelector) -> Result<Bytes, ProviderError> {
        let metric = lowercase_metric(metric);
        let now = Timestamp::now();
        match self.target(namespace, &metric, selector)? {
            Target::Reference(owner, name) => self.answer((owner, name), &metric, now, |s| s.reply.clone()),
            Target::Autogen(id) => {
                let value = self.answer(store::parts(&id), &metric, now, |s| value_of(&metric, s))?;
                Ok(Bytes::from(ExternalMetricValueList::new(vec![value]).to_json()))
            }
        }
    }
}

/// A started provider: the read side, the leader handle it writes under, and the task running
/// its loops (it ends after the shutdown signal, once the lock is released).
pub struct RunningProvider {
    pub provider: Arc<DatadogMetricProvider>,
    pub leader: LeaderHandle,
    pub task: JoinHandle<()>,
}

/// Starts leader election (per `leader_*` settings) and the provider's loops.
pub fn start(
    client: kube::Client,
    settings: &Settings,
    querier: Arc<dyn MetricsQuerier>,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningProvider, BuildError> {
    let election = LeaderElection::spawn(client.clone(), LeaseConfig::from_settings(settings), shutdown.clone());
    let mut running = start_with_leader(client, settings, querier, election.handle, shutdown)?;
    let loops = running.task;
    running.task = tokio::spawn(async move {
        let _ = loops.await;
        let _ = election.task.await;
    });
    Ok(running)
}

/// Starts the provider's loops under an existing election (shared with other leader-only loops).
pub fn start_with_leader(
    client: kube::Client,
    settings: &Settings,
    querier: Arc<dyn MetricsQuerier>,
    leader: LeaderHandle,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningProvider, BuildError> {
    let config = Arc::new(ProviderConfig::from_settings(settings)?);
    let templates = Arc::new(template::TemplateContext::from_process(config.cluster_name.as_deref()));
    let (store, changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    let synced = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    // Deleted HPAs need no immediate action here: the watcher's next pass sees them gone.
    let (hpas, _deleted) = autoscalers::HpaIndex::spawn(client.clone(), &mut tasks, shutdown.clone());
    let workers = settings.datadogmetric_workers();
    let ddm = controller::Controller::new(client, store.clone(), leader.clone(), templates, synced.clone(), workers);
    tasks.spawn(ddm.run(changes, shutdown.clone()));
    let watcher = autoscalers::AutoscalerWatcher::new(config.clone(), store.clone(), leader.clone(), hpas);
    tasks.spawn(watcher.run(shutdown.clone()));
    let retriever = retriever::Retriever::new(config.clone(), store.clone(), leader.clone(), querier);
    tasks.spawn(retriever.run(shutdown));
    let task = tokio::spawn(async move { while tasks.join_next().await.is_some() {} });
    let provider = Arc::new(DatadogMetricProvider { store, config, synced });
    Ok(RunningProvider { provider, leader, task })
}
