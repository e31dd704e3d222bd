//! `autoscaling-apiserver status`: the document a running server serves at `GET /status` on its
//! metrics port (unauthenticated like `/metrics`, so it carries no key, token nor URL credentials)
//! and the command that fetches and prints it. It says who leads, how each Datadog endpoint is
//! doing (health, failover retry interval, rate-limit budget), and each DatadogMetric's value, age
//! and error, as this replica's store has them (a follower mirrors the leader's status writes),
//! and the workload autoscaling section ([`workload`]).

mod render;
pub mod workload;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::cluster::LeaderHandle;
use crate::datadog::{DatadogClient, EndpointStatus, RateLimit};
use crate::external_metrics::configmap::{ConfigMapProvider, Entry};
use crate::external_metrics::datadogmetric::{DatadogMetricProvider, MetricState};

pub use render::render;
pub use workload::{FeedStatusSource, WorkloadParts, WorkloadStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDocument {
    /// When this document was made (RFC 3339).
    pub generated_at: String,
    /// Which external metrics provider serves reads: `datadogmetric` or `configmap`.
    pub provider: String,
    /// The provider's first list is in its store (the `/readyz` check).
    pub synced: bool,
    pub leader: LeaderStatus,
    /// Primary first, then the failover endpoints.
    pub endpoints: Vec<EndpointView>,
    pub datadog_metrics: Vec<MetricView>,
    /// Workload autoscaling (absent from older servers' documents: disabled).
    #[serde(default)]
    pub workload: WorkloadStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderStatus {
    /// This replica's identity (pod name).
    pub identity: String,
    /// Who holds the lock, as this replica last saw it.
    pub holder: Option<String>,
    pub is_leader: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointView {
    /// Base URL without credentials.
    pub url: String,
    pub in_use: bool,
    pub healthy: bool,
    pub retry_interval_s: u64,
    pub requests: u64,
    pub failures: u64,
    pub last_success: Option<String>,
    pub last_failure: Option<String>,
    pub last_error: Option<String>,
    /// No call is made before this time (429, or the budget is spent).
    pub rate_limited_until: Option<String>,
    pub rate_limit: Option<RateLimitView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitView {
    pub limit: Option<i64>,
    pub remaining: Option<i64>,
    pub period_s: Option<i64>,
    /// When the period resets (observation time + reported seconds).
    pub reset_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    /// `namespace/name`.
    pub id: String,
    pub query: String,
    pub active: bool,
    pub valid: bool,
    /// `None` when the value is not a finite number.
    pub value: Option<f64>,
    /// Time of the Datadog point the value comes from.
    pub timestamp: Option<String>,
    /// Seconds between that point and `generated_at`.
    pub age_s: Option<i64>,
    /// Last change of the state.
    pub updated: String,
    pub error: Option<String>,
    pub autogen: bool,
}

/// What the document is made of; [`StatusSourceParts::document`] reads them at request time.
#[derive(Clone)]
pub struct StatusSourceParts {
    pub provider: ActiveProvider,
    pub leader: LeaderHandle,
    pub client: DatadogClient,
    /// The workload autoscaling stack, when `autoscaling.workload.enabled`.
    pub workload: Option<WorkloadParts>,
}

/// The external metrics provider serving reads (`use_datadogmetric_crd` chooses).
#[derive(Clone)]
pub enum ActiveProvider {
    DatadogMetric(Arc<DatadogMetricProvider>),
    ConfigMap(Arc<ConfigMapProvider>),
}

impl ActiveProvider {
    pub fn name(&self) -> &'static str {
        match self {
            ActiveProvider::DatadogMetric(_) => "datadogmetric",
            ActiveProvider::ConfigMap(_) => "configmap",
        }
    }

    pub fn is_synced(&self) -> bool {
        match self {
            ActiveProvider::DatadogMetric(p) => p.is_synced(),
            ActiveProvider::ConfigMap(p) => p.is_synced(),
        }
    }

    fn metric_views(&self, now: Timestamp) -> Vec<MetricView> {
        match self {
            ActiveProvider::DatadogMetric(p) => p.metrics().iter().map(|m| metric_view(m, now)).collect(),
            ActiveProvider::ConfigMap(p) => {
                p.entries().iter().map(|(key, e)| configmap_view(key, e, p.write_error(), now)).collect()
            }
        }
    }
}

impl StatusSourceParts {
    pub fn document(&self) -> StatusDocument {
        let now = Timestamp::now();
        StatusDocument {
            generated_at: now.to_string(),
            provider: self.provider.name().into(),
            synced: self.provider.is_synced(),
            leader: LeaderStatus {
                identity: self.leader.identity().to_owned(),
                holder: self.leader.holder(),
                is_leader: self.leader.is_leader_now(),
            },
            endpoints: self.client.endpoints().iter().map(endpoint_view).collect(),
            datadog_metrics: self.provider.metric_views(now),
            workload: self.workload.as_ref().map(WorkloadParts::status).unwrap_or_default(),
        }
    }

    /// The closure the server calls for `GET /status`.
    pub fn source(self) -> crate::server::StatusSource {
        Arc::new(move || serde_json::to_value(self.document()).unwrap_or_default())
    }
}

fn endpoint_view(e: &EndpointStatus) -> EndpointView {
    EndpointView {
        url: without_credentials(&e.url),
        in_use: e.in_use,
        healthy: e.healthy,
        retry_interval_s: e.retry_interval.as_secs(),
        requests: e.requests,
        failures: e.failures,
        last_success: e.last_success.map(rfc3339),
        last_failure: e.last_failure.map(rfc3339),
        last_error: e.last_error.clone(),
        rate_limited_until: e.rate_limited_until.map(rfc3339),
        rate_limit: e.rate_limit.as_ref().map(rate_limit_view),
    }
}

fn rate_limit_view(rl: &RateLimit) -> RateLimitView {
    RateLimitView {
        limit: rl.limit,
        remaining: rl.remaining,
        period_s: rl.period,
        reset_at: rl.reset_at().map(rfc3339),
    }
}

fn metric_view(m: &MetricState, now: Timestamp) -> MetricView {
    MetricView {
        id: m.id.clone(),
        query: m.resolved_query.clone().unwrap_or_else(|| m.query.clone()),
        active: m.active,
        valid: m.valid,
        value: Some(m.value).filter(|v| v.is_finite()),
        timestamp: m.data_time.map(|t| t.to_string()),
        age_s: m.data_time.map(|t| now.as_second() - t.as_second()),
        updated: m.update_time.to_string(),
        error: m.error.as_ref().map(|e| e.text.clone()),
        autogen: m.autogen,
    }
}

/// A `datadog-custom-metrics` entry in the same shape (id = the ConfigMap key).
fn configmap_view(key: &str, e: &Entry, write_error: Option<String>, now: Timestamp) -> MetricView {
    let at = Timestamp::from_second(e.timestamp).ok();
    MetricView {
        id: key.to_string(),
        query: e.metric_name.clone(),
        active: true,
        valid: e.valid,
        value: Some(e.value).filter(|v| v.is_finite()),
        timestamp: at.map(|t| t.to_string()),
        age_s: at.map(|t| now.as_second() - t.as_second()),
        updated: at.map(|t| t.to_string()).unwrap_or_default(),
        error: write_error.or_else(|| (!e.valid).then(|| "the last query of this entry failed".to_string())),
        autogen: false,
    }
}

fn rfc3339(t: SystemTime) -> String {
    Timestamp::try_from(t).map_or_else(|_| format!("{t:?}"), |t| t.to_string())
}

/// An endpoint URL may embed `user:password@`: never publish it.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(unparsable URL withheld)".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "cannot reach the server's status endpoint {url}: {why} (is `autoscaling-apiserver serve` running, and is its metrics port right?)"
    )]
    Unreachable { url: String, why: String },
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url} did not answer a status document: {why}")]
    Malformed { url: String, why: String },
}

/// `GET <url>` (e.g. `http://127.0.0.1:5000/status`) with a bounded wait.
pub async fn fetch(url: &str, timeout: Duration) -> Result<StatusDocument, FetchError> {
    let unreachable = |e: reqwest::Error| FetchError::Unreachable { url: url.to_owned(), why: error_chain(&e) };
    // rustls with ring, as everywhere else (the metrics listener is plain HTTP, a proxy may not be).
    let tls = crate::datadog::tls_config()
        .map_err(|e| FetchError::Unreachable { url: url.to_owned(), why: e.to_string() })?;
    let client = reqwest::Client::builder().use_preconfigured_tls(tls).timeout(timeout).build().map_err(unreachable)?;
    let reply = client.get(url).send().await.map_err(unreachable)?;
    let status = reply.status().as_u16();
    let body = reply.bytes().await.map_err(unreachable)?;
    if status != 200 {
        let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(FetchError::Status { url: url.to_owned(), status, body });
    }
    serde_json::from_slice(&body).map_err(|e| FetchError::Malformed { url: url.to_owned(), why: e.to_string() })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_leave_the_url() {
        assert_eq!(without_credentials("https://user:secret@api.datadoghq.com/"), "https://api.datadoghq.com/");
        assert_eq!(without_credentials("http://127.0.0.1:9"), "http://127.0.0.1:9");
        assert!(!without_credentials("::not a url::").contains("not a url"));
    }
}
