//! The Datadog query client (spec §8): `GET /api/v1/query` with the DCA's chunking, validation,
//! point selection, failover and telemetry, plus what the DCA lacks (DESIGN.md §6).
//!
//! ```no_run
//! # async fn demo(settings: &autoscaling_apiserver::config::Settings) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use autoscaling_apiserver::datadog::{ClientConfig, DatadogClient, MetricQuery};
//!
//! let client = DatadogClient::new(ClientConfig::from_settings(settings)?)?;
//! let q = MetricQuery::new("avg:nginx.net.request_per_s{kube_service:web}.rollup(30)", Duration::from_secs(300));
//! let results = client.query(&[q.clone()]).await;
//! match results.get(&q) {
//!     Some(Ok(point)) => println!("{} at {}", point.value, point.timestamp_s),
//!     Some(Err(e)) if e.is_rate_limit() => println!("rate limited, retry at {:?}", e.retry_at()),
//!     Some(Err(e)) => println!("{e}"),
//!     None => {} // every distinct query asked gets a result
//! }
//! // For /metrics: client.telemetry().register(&mut registry); for `status`: client.endpoints().
//! # Ok(()) }
//! ```
//!
//! What one [`DatadogClient::query`] does:
//! 1. identical queries (same text and window) are asked once, whoever asked for them;
//! 2. queries are grouped by window (one time range per group) and each is validated
//!    ([`QueryError::Invalid`], never sent, the others unaffected);
//! 3. each group is chunked (35 queries / 7000 URL characters) and the chunks run concurrently,
//!    at most `max_parallel_queries` calls in flight;
//! 4. each chunk goes to the first healthy endpoint (primary, then failover endpoints); a refused
//!    or mismatched batch is bisected so only the guilty query gets the error;
//! 5. each series is matched by `query_index` and reduced to its penultimate non-null point.
//!
//! Rate limits: a 429 blocks the endpoint until `X-RateLimit-Reset` (no call before, the queries
//! get [`QueryError::Api`] with `retry_at`), and so does a reply saying no call is left;
//! [`DatadogClient::rate_limit`] exposes the remaining budget so a refresh loop can pace itself.

mod batch;
mod chunk;
mod client_config;
mod endpoint;
mod error;
mod extract;
mod failover;
mod ratelimit;
mod telemetry;
mod validate;
pub mod wire;

pub use chunk::{Chunks, MAX_URL_CHARS, chunk, query_cost, query_escape_len};
pub use client_config::{ClientConfig, EndpointConfig};
pub use endpoint::RetryBounds;
pub use error::{ApiErrorKind, ClientError, QueryError};
pub use ratelimit::RateLimit;
pub use telemetry::ClientTelemetry;
pub use validate::validate;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, SystemTime};

use endpoint::Endpoint;
use failover::FailoverClient;

/// Sent as the DCA sends it, so proxies and Datadog see the same client.
pub const USER_AGENT: &str = "Datadog-Cluster-Agent";

/// A query and the time window it is evaluated over (`from = now - window`, `to = now`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricQuery {
    pub query: String,
    pub window: Duration,
}

impl MetricQuery {
    pub fn new(query: impl Into<String>, window: Duration) -> Self {
        MetricQuery { query: query.into(), window }
    }
}

/// The value chosen for a query and the time (unix seconds) of the point it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub value: f64,
    pub timestamp_s: i64,
}

/// One result per distinct query asked.
#[derive(Debug, Default)]
pub struct QueryResults {
    results: HashMap<MetricQuery, Result<Point, QueryError>>,
}

impl QueryResults {
    pub fn get(&self, query: &MetricQuery) -> Option<&Result<Point, QueryError>> {
        self.results.get(query)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&MetricQuery, &Result<Point, QueryError>)> {
        self.results.iter()
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    pub fn into_map(self) -> HashMap<MetricQuery, Result<Point, QueryError>> {
        self.results
    }
}

/// Health of one endpoint, for `/metrics` and the `status` command.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointStatus {
    pub url: String,
    /// The endpoint that answered last.
    pub in_use: bool,
    /// Its last call succeeded (or it answered with a query-specific refusal).
    pub healthy: bool,
    /// How long it is skipped after a failure (30 s doubling to 30 min, halving on success).
    pub retry_interval: Duration,
    pub last_success: Option<SystemTime>,
    pub last_failure: Option<SystemTime>,
    pub last_error: Option<String>,
    /// No call is made to it before this time (429, or no call left in the period).
    pub rate_limited_until: Option<SystemTime>,
    pub rate_limit: Option<RateLimit>,
    pub requests: u64,
    pub failures: u64,
}

/// The client: cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct DatadogClient {
    inner: Arc<FailoverClient>,
    chunk_size: usize,
}

impl DatadogClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let tls = Arc::new(tls_config()?);
        let endpoints =
            config.endpoints.iter().map(|e| Endpoint::new(e, &tls, &config)).collect::<Result<Vec<_>, _>>()?;
        if endpoints.is_empty() {
            return Err(ClientError::InvalidUrl {
                key: "external_metrics_provider.endpoint".into(),
                url: String::new(),
                reason: "no endpoint configured".into(),
            });
        }
        let min = ratelimit::MinTracker::new(config.remaining_min_window);
        let inner = FailoverClient::new(endpoints, config.max_parallel_queries, min);
        Ok(DatadogClient { inner: Arc::new(inner), chunk_size: config.chunk_size })
    }

    /// Queries Datadog; every distinct query of `queries` gets a result.
    pub async fn query(&self, queries: &[MetricQuery]) -> QueryResults {
        let now_s = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut seen = HashSet::new();
        let mut by_window: BTreeMap<Duration, Vec<String>> = BTreeMap::new();
        for q in queries.iter().filter(|q| seen.insert(*q)) {
            by_window.entry(q.window).or_default().push(q.query.clone());
        }
        let mut results = HashMap::with_capacity(seen.len());
        let mut calls = Vec::new();
        for (window, group) in by_window {
            let mut valid = Vec::with_capacity(group.len());
            for q in group {
                match validate(&q) {
                    Ok(()) => valid.push(q),
                    Err(reason) => {
                        let err = QueryError::Invalid { query: q.clone(), reason };
                        results.insert(MetricQuery::new(q, window), Err(err));
                    }
                }
            }
            let chunks = chunk(&valid, self.chunk_size);
            for i in chunks.too_long {
                let length = query_escape_len(&valid[i]);
                tracing::error!(query = %valid[i], "Query is too long, could yield a server side error. Dropping");
                results.insert(MetricQuery::new(valid[i].clone(), window), Err(QueryError::TooLong { length }));
            }
            for c in chunks.chunks {
                let queries: Vec<String> = c.into_iter().map(|i| valid[i].clone()).collect();
                calls.push((window, queries));
            }
        }
        let budgets: Vec<AtomicUsize> =
            calls.iter().map(|(_, qs)| AtomicUsize::new(batch::call_budget(qs.len()) - 1)).collect();
        let runs = calls.iter().zip(&budgets).map(|((window, qs), calls_left)| {
            batch::Run { client: &self.inner, window: *window, now_s, calls_left }.resolve(qs, true)
        });
        let outcomes = futures::future::join_all(runs).await;
        for ((window, queries), outcome) in calls.into_iter().zip(outcomes) {
            for (q, r) in queries.into_iter().zip(outcome) {
                results.insert(MetricQuery::new(q, window), r);
            }
        }
        QueryResults { results }
    }

    /// Rate-limit state of the first endpoint whose last query succeeded (the DCA's choice):
    /// `remaining` calls until `reset_at()`.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.inner.rate_limit()
    }

    /// Health of every endpoint, primary first.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        let in_use = self.inner.in_use();
        self.inner.endpoints.iter().enumerate().map(|(i, e)| e.status(i == in_use)).collect()
    }

    /// The client's Prometheus metrics (register them in the server's registry).
    pub fn telemetry(&self) -> &ClientTelemetry {
        &self.inner.telemetry
    }
}

/// rustls with ring and the platform's trust store (loaded on first use).
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| ClientError::Tls(e.to_string()))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC), the DCA's "will retry at" format.
pub fn format_time(t: SystemTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from(t).format(&format).unwrap_or_else(|_| format!("{t:?}"))
}
