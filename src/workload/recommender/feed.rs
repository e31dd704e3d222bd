//! The Remote-Config-format recommendation feed (spec §10.3): the DCA receives Remote DPA specs
//! (`CONTAINER_AUTOSCALING_SETTINGS`) and Datadog's recommendations (`CONTAINER_AUTOSCALING_VALUES`)
//! through Remote Configuration; here the same payloads come from a directory or an HTTP(S) URL
//! named by `autoscaling.workload.recommendations.source` and are read again every
//! `autoscaling.workload.recommendations.poll_interval` (default 10 s). Empty source: no feed.
//!
//! # Layout
//!
//! A **directory** (a path or `file:///path`) holds one file per Remote Configuration config:
//!
//! ```text
//! <dir>/settings/<id>.json   product CONTAINER_AUTOSCALING_SETTINGS
//! <dir>/values/<id>.json     product CONTAINER_AUTOSCALING_VALUES
//! ```
//!
//! each file an envelope `{"version": 3, "config": <payload>}` (`"id"` optional, default the file
//! name without `.json`). Other files are ignored; a missing subdirectory is an empty product.
//!
//! A **URL** (`http://` or `https://`), or a path naming a **file**, is one index document holding
//! every config: `{"configs": [{"product": "CONTAINER_AUTOSCALING_VALUES", "id": "v1", "version": 3,
//! "path": "datadog/2/CONTAINER_AUTOSCALING_VALUES/v1/config", "config": <payload>}]}` (`path`
//! optional, default as shown). A URL is fetched with `GET` (10 s timeout, 200 expected).
//!
//! Payloads: SETTINGS `{"settings": [{"namespace", "name", "specs": {"v1alpha2": <DPA spec>}}]}`
//! (also `specs.v1alpha1`, or the legacy `spec`); VALUES the protojson `WorkloadValuesList` of
//! `reference/remote-config/` (timestamps as RFC 3339 text or `{"seconds", "nanos"}`).
//!
//! # Semantics
//!
//! Every read is the full set. Only the leader applies it; followers mark every config
//! `unacknowledged` and do nothing. Each config ends `acknowledged` or `error` (with the problem and
//! the file or entry at fault); a bad entry is discarded, the rest of its file still applies. Only
//! when every config of a product was processed without error does the full-set clean-up run:
//! Remote DPAs absent from SETTINGS get `deleted`, DPAs absent from VALUES lose their main values.
//! A source that cannot be read at all (missing directory, HTTP error, unreadable index) changes
//! nothing and is reported as `sourceError`: an outage never deletes DPAs.

mod settings;
mod source;
#[cfg(test)]
mod tests;
pub(crate) mod values;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::watch;

pub use settings::{SettingsItem, VERSION_OFFSET};
pub use source::{FeedSource, MAX_CONFIG_BYTES, MAX_INDEX_BYTES, RawConfig};
pub use values::ValuesItem;

use super::IsLeader;
use crate::config::Settings;
use crate::workload::gate::AutoscalingGate;
use crate::workload::model::InternalStore;

/// The product of Remote DPA specs.
pub const SETTINGS_PRODUCT: &str = "CONTAINER_AUTOSCALING_SETTINGS";
/// The product of Datadog's recommendations.
pub const VALUES_PRODUCT: &str = "CONTAINER_AUTOSCALING_VALUES";
/// The `sender` of the feed's store notifications.
pub const SENDER: &str = "feed";

/// What a config was made of after the last read (Remote Configuration's apply states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyState {
    /// Read by a follower, which leaves it to the leader.
    Unacknowledged,
    Acknowledged,
    Error,
}

/// The state of one config, for `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigState {
    pub path: String,
    pub product: String,
    pub id: String,
    pub version: u64,
    pub state: ApplyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The feed as `/status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedStatus {
    /// The configured source.
    pub source: String,
    /// When the source was last read (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_read: Option<String>,
    /// Why the last read failed as a whole (nothing was applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_error: Option<String>,
    /// Per config, sorted by path, from the last successful read.
    pub configs: Vec<ConfigState>,
}

/// `autoscaling.workload.recommendations.*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedConfig {
    pub source: FeedSource,
    pub poll_interval: Duration,
}

/// A source key that cannot be used; names the key and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("autoscaling.workload.recommendations.source {value:?}: {problem}")]
pub struct FeedError {
    pub value: String,
    pub problem: String,
}

impl FeedConfig {
    /// The feed the settings ask for; `Ok(None)` when the source is empty.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, FeedError> {
        let Some(source) =
            FeedSource::parse(settings.text("autoscaling.workload.recommendations.source").unwrap_or(""))?
        else {
            return Ok(None);
        };
        let poll_interval = settings
            .seconds("autoscaling.workload.recommendations.poll_interval")
            .unwrap_or(Duration::from_secs(10))
            .max(Duration::from_millis(100));
        Ok(Some(FeedConfig { source, poll_interval }))
    }
}

/// The feed: reads the source, applies it to the store on the leader, keeps the per-config states.
pub struct RecommendationFeed {
    config: FeedConfig,
    store: Arc<InternalStore>,
    is_leader: IsLeader,
    gate: Option<Arc<AutoscalingGate>>,
    http: reqwest::Client,
    status: RwLock<FeedStatus>,
}

impl RecommendationFeed {
    pub fn new(config: FeedConfig, store: Arc<InternalStore>, is_leader: IsLeader) -> Result<Self, FeedError> {
        let http = source::http_client().map_err(|problem| FeedError { value: config.source.to_string(), problem })?;
        let status = RwLock::new(FeedStatus { source: config.source.to_string(), ..FeedStatus::default() });
        Ok(RecommendationFeed { config, store, is_leader, gate: None, http, status })
    }

    /// Opens `gate` for the first DPA the feed announces (a Remote DPA is a DPA like any other).
    pub fn with_gate(mut self, gate: Arc<AutoscalingGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The per-config states of the last read.
    pub fn status(&self) -> FeedStatus {
        self.status.read().clone()
    }

    /// Reads the source until `stop` turns true (one read right away).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.config.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.poll_once().await,
                _ = stop.changed() => return,
            }
        }
    }

    /// One read of the source and, when it could be read, one application of it.
    pub async fn poll_once(&self) {
        let now = Timestamp::now();
        match self.config.source.fetch(&self.http).await {
            Ok(configs) => self.apply(configs, now).await,
            Err(problem) => {
                tracing::warn!(source = %self.config.source, error = %problem, "recommendation feed not read");
                let mut status = self.status.write();
                status.last_read = Some(now.to_string());
                status.source_error = Some(problem);
            }
        }
    }

    /// Applies a full set of configs received at `now` (leader), or acknowledges nothing (follower).
    pub async fn apply(&self, configs: Vec<RawConfig>, now: Timestamp) {
        let states = if (self.is_leader)() {
            self.apply_as_leader(configs, now).await
        } else {
            configs.iter().map(|c| c.state(ApplyState::Unacknowledged, None)).collect()
        };
        let mut states = states;
        states.sort_by(|a, b| a.path.cmp(&b.path));
        *self.status.write() = FeedStatus {
            source: self.config.source.to_string(),
            last_read: Some(now.to_string()),
            source_error: None,
            configs: states,
        };
    }

    async fn apply_as_leader(&self, configs: Vec<RawConfig>, now: Timestamp) -> Vec<ConfigState> {
        let mut states = Vec::with_capacity(configs.len());
        let (mut settings_items, mut settings_ok) = (Vec::new(), true);
        let (mut values_items, mut values_ok) = (Vec::new(), true);
        for config in &configs {
            let errors = match config.product.as_str() {
                SETTINGS_PRODUCT => collect(settings::parse(config), &mut settings_items, &mut settings_ok),
                VALUES_PRODUCT => collect(values::parse(config, now), &mut values_items, &mut values_ok),
                other => vec![format!("unknown product {other:?} (expected {SETTINGS_PRODUCT} or {VALUES_PRODUCT})")],
            };
            states.push(config.outcome(errors));
        }
        settings::apply(&self.store, self.gate.as_deref(), &settings_items, settings_ok, now).await;
        values::apply(&self.store, &values_items, values_ok).await;
        states
    }
}

/// Adds a config's valid items to `items`; its errors turn `all_ok` false and are returned.
fn collect<T>(parsed: (Vec<T>, Vec<String>), items: &mut Vec<T>, all_ok: &mut bool) -> Vec<String> {
    let (valid, errors) = parsed;
    items.extend(valid);
    *all_ok &= errors.is_empty();
    errors
}

impl RawConfig {
    fn state(&self, state: ApplyState, error: Option<String>) -> ConfigState {
        ConfigState {
            path: self.path.clone(),
            product: self.product.clone(),
            id: self.id.clone(),
            version: self.version,
            state,
            error,
        }
    }

    fn outcome(&self, errors: Vec<String>) -> ConfigState {
        if errors.is_empty() {
            return self.state(ApplyState::Acknowledged, None);
        }
        let message = format!("config {} (id {}, version {}): {}", self.path, self.id, self.version, errors.join("; "));
        tracing::warn!(error = %message, "recommendation feed config rejected");
        self.state(ApplyState::Error, Some(message))
    }
}
