//! Errors: [`QueryError`] per query (texts are the DCA's where it has one, so DatadogMetric status
//! messages read the same), [`ClientError`] when the client cannot be built.

use std::time::SystemTime;

use super::endpoint::CallError;
use crate::apimachinery::gofmt;

/// How a call that failed for a whole batch failed (the DCA's `APIErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// HTTP 429, or the endpoint has no call left before its reset.
    RateLimit,
    /// HTTP 422.
    Unprocessable,
    /// HTTP 200 with an error in the body.
    Datadog,
    /// Any other HTTP status.
    OtherHttp,
    /// Connection, timeout, unreadable body, all endpoints failing.
    Unknown,
}

/// Why one query has no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// Rejected before sending (spec §8.3 step 1).
    #[error("invalid query {}: {reason}", gofmt::quote(query))]
    Invalid { query: String, reason: String },
    /// Its URL-escaped length alone reaches the 7000-character chunk bound.
    #[error(
        "Query is too long, could yield a server side error. Dropping ({length} URL characters, the limit is 7000)"
    )]
    TooLong { length: usize },
    /// The API call failed for the whole batch; `retry_at` is set for rate limits.
    #[error("{message}")]
    Api { kind: ApiErrorKind, message: String, retry_at: Option<SystemTime> },
    /// Datadog refused this query alone (400/422, or an error in a 200 reply), after bisection.
    #[error("Datadog refused the query: {message}")]
    Refused { kind: ApiErrorKind, message: String },
    #[error("Datadog API response did not match the submitted query batch")]
    MismatchedReply,
    #[error("multiple series found. Please change your query to return a single serie")]
    MultipleSeries,
    #[error(
        "only null values found in API response ({points} points), check data is available in the last {window_s} seconds{}",
        interval.map(|i| format!(" (interval was {i})")).unwrap_or_default()
    )]
    OnlyNulls { points: usize, window_s: String, interval: Option<i64> },
    #[error("no serie was found for this query in API Response, check Cluster Agent logs for QueryIndex errors")]
    NoSeries,
    /// `NaN`/`Infinity` value, or a timestamp out of range, at the selected point.
    #[error("non-finite value {value} (timestamp {timestamp_ms} ms) in API response")]
    NonFinite { value: String, timestamp_ms: String },
}

impl QueryError {
    /// The DCA's "batch error" (API call failed for all queries) as opposed to a per-query
    /// processing error; the DatadogMetric message is worded differently for each.
    pub fn is_batch_error(&self) -> bool {
        matches!(self, QueryError::Api { .. })
    }

    pub fn is_rate_limit(&self) -> bool {
        matches!(self, QueryError::Api { kind: ApiErrorKind::RateLimit, .. })
    }

    /// When a rate-limited call may be retried.
    pub fn retry_at(&self) -> Option<SystemTime> {
        match self {
            QueryError::Api { retry_at, .. } => *retry_at,
            _ => None,
        }
    }

    /// `single`: the failed call carried only this query, so a query-specific refusal is its own.
    pub(crate) fn from_call(e: &CallError, single: bool) -> QueryError {
        let kind = match e {
            _ if e.is_rate_limit() => ApiErrorKind::RateLimit,
            CallError::Rejected { status, .. } if status.starts_with("422") => ApiErrorKind::Unprocessable,
            CallError::Rejected { .. } | CallError::Http { .. } => ApiErrorKind::OtherHttp,
            CallError::Datadog(_) => ApiErrorKind::Datadog,
            _ => ApiErrorKind::Unknown,
        };
        if single && e.is_batch_specific() {
            return QueryError::Refused { kind, message: e.to_string() };
        }
        QueryError::Api { kind, message: e.to_string(), retry_at: e.retry_at() }
    }
}

/// Why the client cannot be built; names the setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("missing the api/app key pair to query Datadog: set {keys}")]
    MissingKeys { keys: String },
    #[error("{key}: invalid Datadog API URL {url:?}: {reason}")]
    InvalidUrl { key: String, url: String, reason: String },
    #[error("TLS setup of the Datadog client: {0}")]
    Tls(String),
    #[error("HTTP client for {0}")]
    Http(String),
}
