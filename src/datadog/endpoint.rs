//! One Datadog endpoint: the `GET <base>/api/v1/query` call (keys in headers, bounded body,
//! rate-limit headers), the classification of its failures as the DCA counts them, and the
//! endpoint's health (retry interval 30 s doubling to 30 min on failure, halving on success, spec
//! §8.2; "rate-limited until" after a 429 or when no call is left).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use reqwest::Url;

use super::ratelimit::RateLimit;
use super::wire::{self, ErrorBody, QueryResponse};
use super::{ClientError, EndpointConfig, EndpointStatus};

/// What went wrong with one call to one endpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// HTTP 429; `until` is when the endpoint may be called again.
    #[error("429 Too Many Requests")]
    RateLimited { until: Option<SystemTime> },
    /// Not called: the endpoint is rate limited until `until`.
    #[error("rate limited until {}", crate::datadog::format_time(*until))]
    Blocked { until: SystemTime },
    /// 400/422: Datadog refused the request as written (query-specific).
    #[error("{status}{}", suffix(detail))]
    Rejected { status: String, detail: String },
    /// HTTP 200 carrying an error (`API returned error: ...` in the DCA).
    #[error("{0}")]
    Datadog(String),
    /// Any other HTTP status (5xx, 403 with bad keys, ...).
    #[error("{status}{}", suffix(detail))]
    Http { status: String, detail: String },
    /// The reply body is larger than the configured bound.
    #[error("reply from {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// Connection refused/closed, timeout, unreadable or malformed body.
    #[error("{0}")]
    Unknown(String),
    /// Every endpoint failed (failover); the DCA's aggregated text.
    #[error("{message}")]
    AllEndpoints { message: String, rate_limited: bool, retry_at: Option<SystemTime> },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

impl CallError {
    /// The `datadog_requests{status}` label; `None` when no request was made.
    pub fn status_label(&self) -> Option<&'static str> {
        Some(match self {
            CallError::RateLimited { .. } => "rate_limit_error",
            CallError::Blocked { .. } | CallError::AllEndpoints { .. } => return None,
            CallError::Rejected { status, .. } if status.starts_with("422") => "unprocessable_entity_error",
            CallError::Rejected { .. } | CallError::Http { .. } => "other_http_error",
            CallError::Datadog(_) => "response_error",
            CallError::TooLarge { .. } | CallError::Unknown(_) => "unknown_error",
        })
    }

    /// The endpoint answered, but not for every query of this batch: split the batch.
    pub fn is_batch_specific(&self) -> bool {
        matches!(self, CallError::Rejected { .. } | CallError::Datadog(_) | CallError::TooLarge { .. })
    }

    pub fn is_rate_limit(&self) -> bool {
        match self {
            CallError::RateLimited { .. } | CallError::Blocked { .. } => true,
            CallError::AllEndpoints { rate_limited, .. } => *rate_limited,
            _ => false,
        }
    }

    pub fn retry_at(&self) -> Option<SystemTime> {
        match self {
            CallError::RateLimited { until } => *until,
            CallError::Blocked { until } => Some(*until),
            CallError::AllEndpoints { retry_at, .. } => *retry_at,
            _ => None,
        }
    }
}

/// Retry-interval bounds (spec: 30 s and 30 min); configurable so tests run in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBounds {
    pub min: Duration,
    pub max: Duration,
}

impl Default for RetryBounds {
    fn default() -> Self {
        RetryBounds { min: Duration::from_secs(30), max: Duration::from_secs(30 * 60) }
    }
}

#[derive(Debug)]
struct Health {
    retry_interval: Duration,
    last_succeeded: bool,
    last_failure: Option<(Instant, SystemTime)>,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
    blocked_until: Option<(Instant, SystemTime)>,
    rate_limit: Option<RateLimit>,
    requests: u64,
    failures: u64,
}

/// One endpoint with its HTTP client and health.
pub struct Endpoint {
    pub base: String,
    query_url: Url,
    api_key: String,
    app_key: String,
    http: reqwest::Client,
    max_body: usize,
    bounds: RetryBounds,
    health: Mutex<Health>,
}

impl Endpoint {
    pub fn new(
        cfg: &EndpointConfig,
        tls: &Arc<rustls::ClientConfig>,
        settings: &super::ClientConfig,
    ) -> Result<Self, ClientError> {
        let base = cfg.url.trim().trim_end_matches('/').to_string();
        let invalid = |reason: String| ClientError::InvalidUrl { key: cfg.key.clone(), url: cfg.url.clone(), reason };
        let parsed = Url::parse(&base).map_err(|e| invalid(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(invalid("expected an http:// or https:// URL with a host".into()));
        }
        let query_url = Url::parse(&format!("{base}/api/v1/query")).map_err(|e| invalid(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls((**tls).clone())
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
            .user_agent(super::USER_AGENT);
        if is_loopback(&parsed) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ClientError::Http(format!("{}: {e}", cfg.key)))?;
        let health = Health {
            retry_interval: settings.retry.min,
            last_succeeded: true,
            last_failure: None,
            last_success: None,
            last_error: None,
            blocked_until: None,
            rate_limit: None,
            requests: 0,
            failures: 0,
        };
        Ok(Endpoint {
            base,
            query_url,
            api_key: cfg.api_key.trim().to_string(),
            app_key: cfg.app_key.trim().to_string(),
            http,
            max_body: settings.max_body_bytes,
            bounds: settings.retry,
            health: Mutex::new(health),
        })
    }

    /// `GET /api/v1/query?from=&to=&query=`; records the outcome in the endpoint's health.
    pub async fn query(&self, query: &str, from: i64, to: i64) -> Result<QueryResponse, CallError> {
        if let Some(until) = self.blocked_until() {
            return Err(CallError::Blocked { until });
        }
        self.health.lock().requests += 1;
        let outcome = self.send(query, from, to).await;
        self.record(&outcome);
        outcome.map(|(reply, _)| reply)
    }

    async fn send(&self, query: &str, from: i64, to: i64) -> Result<(QueryResponse, Option<RateLimit>), CallError> {
        let mut url = self.query_url.clone();
        url.query_pairs_mut()
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string())
            .append_pair("query", query);
        let resp = self
            .http
            .get(url)
            .header("DD-API-KEY", &self.api_key)
            .header("DD-APPLICATION-KEY", &self.app_key)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| CallError::Unknown(format!("Get {}: {}", self.query_url, error_chain(&e))))?;
        let status = resp.status();
        let rate_limit = RateLimit::from_headers(resp.headers());
        if let Some(rl) = &rate_limit {
            self.health.lock().rate_limit = Some(rl.clone());
        }
        let body = self.read_body(resp).await?;
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            let until = self.block(rate_limit.as_ref());
            return Err(CallError::RateLimited { until: Some(until) });
        }
        if !status.is_success() {
            let status_text = status_text(status);
            let detail = error_detail(&body);
            return Err(if matches!(status.as_u16(), 400 | 422) {
                CallError::Rejected { status: status_text, detail }
            } else {
                CallError::Http { status: status_text, detail }
            });
        }
        let reply = wire::parse_response(&body)
            .map_err(|e| CallError::Unknown(format!("invalid JSON in the reply from {}: {e}", self.base)))?;
        if let Some(err) = reply.error.as_deref().filter(|e| !e.is_empty()) {
            return Err(CallError::Datadog(err.replace('\n', " ")));
        }
        if reply.status.as_deref() == Some("error") {
            return Err(CallError::Datadog(reply.message.clone().unwrap_or_else(|| "status error".into())));
        }
        if let Some(rl) = rate_limit.as_ref().filter(|rl| rl.remaining == Some(0)) {
            // No call left in this period: the next one would be a 429.
            self.block(Some(rl));
        }
        Ok((reply, rate_limit))
    }

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, CallError> {
        let too_large = || CallError::TooLarge { url: self.base.clone(), limit: self.max_body };
        if resp.content_length().is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > self.max_body => return Err(too_large()),
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => return Ok(body),
                Err(e) => {
                    return Err(CallError::Unknown(format!(
                        "reading the reply from {}: {}",
                        self.base,
                        error_chain(&e)
                    )));
                }
            }
        }
    }

    fn block(&self, rl: Option<&RateLimit>) -> SystemTime {
        let fallback = self.bounds.min;
        let until = rl.map_or_else(|| Instant::now() + fallback, |rl| rl.exhausted_until(fallback));
        let wall = SystemTime::now() + until.saturating_duration_since(Instant::now());
        self.health.lock().blocked_until = Some((until, wall));
        wall
    }

    fn blocked_until(&self) -> Option<SystemTime> {
        let mut h = self.health.lock();
        match h.blocked_until {
            Some((until, wall)) if Instant::now() < until => Some(wall),
            Some(_) => {
                h.blocked_until = None;
                None
            }
            None => None,
        }
    }

    fn record<T>(&self, outcome: &Result<T, CallError>) {
        let mut h = self.health.lock();
        match outcome {
            Ok(_) => {
                h.last_succeeded = true;
                h.last_success = Some(SystemTime::now());
                h.retry_interval = (h.retry_interval / 2).max(self.bounds.min);
            }
            // The endpoint answered; the batch is at fault, not the endpoint.
            Err(e) if e.is_batch_specific() => {
                h.last_succeeded = true;
                h.last_success = Some(SystemTime::now());
            }
            Err(e) => {
                h.last_succeeded = false;
                h.failures += 1;
                h.last_failure = Some((Instant::now(), SystemTime::now()));
                h.last_error = Some(e.to_string());
                h.retry_interval = (h.retry_interval * 2).min(self.bounds.max);
            }
        }
    }

    /// Failed within its retry interval, so skipped unless every other endpoint fails too.
    pub fn failed_recently(&self) -> bool {
        let h = self.health.lock();
        !h.last_succeeded && h.last_failure.is_some_and(|(at, _)| at.elapsed() < h.retry_interval)
    }

    pub fn last_succeeded(&self) -> bool {
        self.health.lock().last_succeeded
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.health.lock().rate_limit.clone()
    }

    pub fn retry_interval(&self) -> Duration {
        self.health.lock().retry_interval
    }

    pub fn status(&self, in_use: bool) -> EndpointStatus {
        let blocked_until = self.blocked_until();
        let h = self.health.lock();
        EndpointStatus {
            url: self.base.clone(),
            in_use,
            healthy: h.last_succeeded,
            retry_interval: h.retry_interval,
            last_success: h.last_success,
            last_failure: h.last_failure.map(|(_, wall)| wall),
            last_error: h.last_error.clone(),
            rate_limited_until: blocked_until,
            rate_limit: h.rate_limit.clone(),
            requests: h.requests,
            failures: h.failures,
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `429 Too Many Requests`, as Go prints `resp.Status`.
fn status_text(status: http::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The `errors` of a Datadog error body, else the start of the body (lossy UTF-8, bounded).
fn error_detail(body: &[u8]) -> String {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body)
        && !parsed.errors.is_empty()
    {
        return parsed.errors.join(", ");
    }
    String::from_utf8_lossy(&body[..body.len().min(200)]).trim().replace('\n', " ")
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
