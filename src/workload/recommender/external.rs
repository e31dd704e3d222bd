//! The external (custom) recommender (spec §10.12): when
//! `autoscaling.workload.external_recommender.enabled`, every 30 s on the leader, each DPA with the
//! `autoscaling.datadoghq.com/custom-recommender` annotation gets its horizontal recommendation by
//! `POST <endpoint>` of a protojson `WorkloadRecommendationRequest` (http/https only, 10 s timeout,
//! `Content-Type: application/json`, `User-Agent: datadog-cluster-agent`); a 200 with a
//! `WorkloadRecommendationReply` becomes `main.horizontal` with source `External`, anything else
//! `main.horizontal_error` naming the endpoint. TLS: rustls (ring) trusting
//! `external_recommender.tls.ca_file` (else the platform's roots), with the client certificate
//! `tls.cert_file` + `tls.key_file` when both are set (files read at start).

mod payload;
#[cfg(test)]
mod tests;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;

pub use payload::{WorkloadRecommendationReply, WorkloadRecommendationRequest};
pub use tls::TlsFiles;

use super::{IsLeader, custom_recommender, error_chain};
use crate::config::Settings;
use crate::workload::model::{CustomRecommenderConfig, DpaKey, HorizontalValues, InternalStore, PodAutoscalerInternal};
use crate::workload::pod_index::PodIndex;

/// The `sender` of the external recommender's store notifications.
pub const SENDER: &str = "external";
/// Largest reply read.
const MAX_REPLY_BYTES: usize = 1 << 20;

/// `autoscaling.workload.external_recommender.*` and the timings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalRecommenderConfig {
    /// How often every DPA is asked for (DCA: 30 s).
    pub interval: Duration,
    /// Per request (DCA: 10 s).
    pub timeout: Duration,
    /// `cluster_name`, sent in `targetRef.cluster`.
    pub cluster_name: String,
    pub tls: TlsFiles,
}

impl Default for ExternalRecommenderConfig {
    fn default() -> Self {
        ExternalRecommenderConfig {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            cluster_name: String::new(),
            tls: TlsFiles::default(),
        }
    }
}

impl ExternalRecommenderConfig {
    /// The configuration when `autoscaling.workload.external_recommender.enabled`, else `None`.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        if !settings.flag("autoscaling.workload.external_recommender.enabled") {
            return None;
        }
        let file = |key: &str| settings.text(key).map(std::path::PathBuf::from);
        Some(ExternalRecommenderConfig {
            cluster_name: settings.cluster_name().unwrap_or_default().to_string(),
            tls: TlsFiles {
                ca_file: file("autoscaling.workload.external_recommender.tls.ca_file"),
                cert_file: file("autoscaling.workload.external_recommender.tls.cert_file"),
                key_file: file("autoscaling.workload.external_recommender.tls.key_file"),
            },
            ..Default::default()
        })
    }
}

/// The client and its loop.
pub struct ExternalRecommender {
    store: Arc<InternalStore>,
    pods: Arc<PodIndex>,
    is_leader: IsLeader,
    config: ExternalRecommenderConfig,
    http: reqwest::Client,
}

impl ExternalRecommender {
    /// Fails when the TLS files cannot be used (the error names the key and file).
    pub fn new(
        store: Arc<InternalStore>,
        pods: Arc<PodIndex>,
        is_leader: IsLeader,
        config: ExternalRecommenderConfig,
    ) -> Result<Self, String> {
        let tls = config.tls.client_config()?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("external recommender HTTP client: {e}"))?;
        Ok(ExternalRecommender { store, pods, is_leader, config, http })
    }

    /// Asks for recommendations every interval until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => if (self.is_leader)() { self.run_once().await },
                _ = stop.changed() => return,
            }
        }
    }

    /// One pass over the DPAs with a custom recommender.
    pub async fn run_once(&self) {
        for key in self.store.keys() {
            let Some(entry) = self.store.get(&key) else { continue };
            let dpa = entry.lock().await.clone();
            let Some(recommender) = custom_recommender(&dpa) else { continue };
            let result = self.recommend(&dpa, &recommender).await;
            if let Err(e) = &result {
                tracing::debug!(dpa = %key, error = %e, "no external recommendation");
            }
            self.write(&key, result).await;
        }
    }

    /// One request to the DPA's recommender.
    pub async fn recommend(
        &self,
        dpa: &PodAutoscalerInternal,
        recommender: &CustomRecommenderConfig,
    ) -> Result<HorizontalValues, String> {
        let endpoint = &recommender.endpoint;
        let at = |e: String| format!("external recommender {endpoint}: {e}");
        let url = reqwest::Url::parse(endpoint).map_err(|e| at(format!("error parsing url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(at("only http and https schemes are supported".into()));
        }
        let ready = self.pods.pods_of(&super::local::target_of(dpa)).iter().filter(|(_, p)| p.ready).count();
        let request = WorkloadRecommendationRequest::build(dpa, recommender, &self.config.cluster_name, ready as i32);
        let body = serde_json::to_vec(&request).map_err(|e| at(format!("error marshaling request: {e}")))?;
        let mut resp = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "datadog-cluster-agent")
            .body(body)
            .send()
            .await
            .map_err(|e| at(format!("error sending request: {}", error_chain(&e))))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(at(format!("unexpected response code: {}", resp.status().as_u16())));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) =
            resp.chunk().await.map_err(|e| at(format!("error reading response: {}", error_chain(&e))))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_REPLY_BYTES {
                return Err(at(format!("error reading response: larger than {MAX_REPLY_BYTES} bytes")));
            }
        }
        let reply: WorkloadRecommendationReply =
            serde_json::from_slice(&bytes).map_err(|e| at(format!("error unmarshaling response: {e}")))?;
        reply.horizontal(Timestamp::now()).map_err(at)
    }

    async fn write(&self, key: &DpaKey, result: Result<HorizontalValues, String>) {
        if !(self.is_leader)() {
            return;
        }
        let Some(entry) = self.store.get(key) else { return };
        let mut dpa = entry.lock().await;
        let (horizontal, error) = match result {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e)),
        };
        if dpa.main.horizontal == horizontal && dpa.main.horizontal_error == error {
            return;
        }
        dpa.main.horizontal = horizontal;
        dpa.main.horizontal_error = error;
        drop(dpa);
        self.store.notify(key, SENDER);
    }
}
