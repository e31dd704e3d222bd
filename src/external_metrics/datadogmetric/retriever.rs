//! The metrics retriever (spec §7.7, leader only, every refresh period): queries every active
//! metric through the [`MetricsQuerier`] in one call, identical (query, window) pairs once, and
//! writes value, data time, validity and error into the store. With
//! `split_batches_with_backoff`, metrics in error (other than rate limiting) are queried one by
//! one once their backoff has passed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rand::Rng;
use tokio::sync::watch;

use super::model::{MetricError, MetricState};
use super::store::{DatadogMetricStore, Writer};
use super::{MetricsQuerier, ProviderConfig, QueryError, QueryErrorKind, QueryPoint, QueryResults, QuerySpec};
use crate::cluster::lease::LeaderHandle;

const BACKOFF_BASE_SECONDS: u64 = 30;
const BACKOFF_CAP_SECONDS: u64 = 1800;

pub struct Retriever {
    config: Arc<ProviderConfig>,
    store: Arc<DatadogMetricStore>,
    leader: LeaderHandle,
    querier: Arc<dyn MetricsQuerier>,
}

impl Retriever {
    pub fn new(
        config: Arc<ProviderConfig>,
        store: Arc<DatadogMetricStore>,
        leader: LeaderHandle,
        querier: Arc<dyn MetricsQuerier>,
    ) -> Self {
        Retriever { config, store, leader, querier }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.config.refresh_period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = ticks.tick() => {
                    if !self.leader.is_leader_now() {
                        continue;
                    }
                    let started = std::time::Instant::now();
                    // A Datadog call in flight must not hold up shutdown.
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = self.refresh() => {}
                    }
                    tracing::debug!(elapsed = ?started.elapsed(), "refreshed DatadogMetrics");
                }
            }
        }
    }

    /// One refresh of every active metric.
    pub async fn refresh(&self) {
        let active: Vec<MetricState> = self.store.all().into_iter().filter(|m| m.active).collect();
        if !self.config.split_batches_with_backoff {
            self.refresh_slice(&active).await;
            return;
        }
        let (batch, failing): (Vec<_>, Vec<_>) =
            active.into_iter().partition(|m| m.error.as_ref().is_none_or(|e| e.rate_limited));
        self.refresh_slice(&batch).await;
        for metric in failing {
            if metric.retry_after.is_none_or(|after| Timestamp::now() > after) {
                self.refresh_slice(std::slice::from_ref(&metric)).await;
            }
        }
    }

    async fn refresh_slice(&self, metrics: &[MetricState]) {
        // Metrics whose spec or templates do not resolve keep their error: nothing to send.
        let queryable: Vec<&MetricState> = metrics.iter().filter(|m| m.resolved_query.is_some()).collect();
        if queryable.is_empty() {
            return;
        }
        let mut seen = HashSet::new();
        let batch: Vec<QuerySpec> =
            queryable.iter().map(|m| self.spec_of(m)).filter(|spec| seen.insert(spec.clone())).collect();
        let results = self.querier.query(batch).await;
        let now = Timestamp::now();
        for metric in queryable {
            let spec = self.spec_of(metric);
            let found = lookup(&results, &spec);
            let split = self.config.split_batches_with_backoff;
            let max_age = self.config.metrics_max_age;
            self.store.update(&metric.id, Writer::Retriever, |current| {
                apply_result(current, &spec.query, found, split, max_age, now);
            });
        }
    }

    fn spec_of(&self, metric: &MetricState) -> QuerySpec {
        let query = metric.resolved_query.clone().unwrap_or_default();
        QuerySpec { query, window: adjusted_window(&self.config, metric.time_window()) }
    }
}

fn lookup<'a>(results: &'a QueryResults, spec: &QuerySpec) -> Option<Result<QueryPoint, &'a QueryError>> {
    results.get(spec).map(|result| result.as_ref().copied())
}

/// `maybeAdjustTimeWindowForQuery`: at least `max_age` and `bucket_size`, at most `max_time_window`.
pub fn adjusted_window(config: &ProviderConfig, window: Duration) -> Duration {
    let widened = window.max(config.max_age).max(config.bucket_size);
    if widened > config.max_time_window {
        tracing::warn!(?widened, cap = ?config.max_time_window, "query time window above the maximum: capped");
        return config.max_time_window;
    }
    widened
}

/// Writes one query's outcome into `state` (spec §7.7, newest error texts).
pub fn apply_result(
    state: &mut MetricState,
    query: &str,
    result: Option<Result<QueryPoint, &QueryError>>,
    split: bool,
    default_max_age: Duration,
    now: Timestamp,
) {
    match result {
        Some(Ok(point)) if point.value.is_finite() => {
            if split {
                state.retries = 0;
                state.retry_after = None;
            }
            state.value = point.value;
            state.data_time = Timestamp::from_second(point.timestamp_s).ok();
            if state.data_time.is_some() && !state.is_stale(default_max_age, now, Duration::ZERO) {
                state.valid = true;
                state.error = None;
            } else {
                state.valid = false;
                state.error = Some(query_error(query, "outdated result, check MaxAge setting", None));
            }
        }
        Some(Ok(point)) => {
            state.valid = false;
            let reason = format!("value is not a finite number ({})", point.value);
            state.error = Some(query_error(query, &reason, retry_after(state, split, now)));
        }
        Some(Err(error)) => {
            state.valid = false;
            let rate_limited = error.kind == QueryErrorKind::RateLimited;
            let retry_at = if rate_limited { None } else { retry_after(state, split, now) };
            state.error = Some(match error.kind {
                QueryErrorKind::Api | QueryErrorKind::RateLimited => MetricError {
                    text: with_retry(
                        format!("Datadog API call error (all queries), error: {}", error.message),
                        retry_at,
                    ),
                    rate_limited,
                },
                QueryErrorKind::Processing => query_error(query, &error.message, retry_at),
            });
        }
        None => {
            state.valid = false;
            state.error = Some(query_error(query, "missing result from reply", None));
        }
    }
    state.update_time = now;
}

fn query_error(query: &str, reason: &str, retry_at: Option<Timestamp>) -> MetricError {
    MetricError::new(with_retry(
        format!("Processing data from API failed, reason: {reason}, query was: {query}"),
        retry_at,
    ))
}

fn with_retry(text: String, retry_at: Option<Timestamp>) -> String {
    match retry_at {
        Some(at) => format!("{text}, will retry at: {}", at.strftime("%Y-%m-%d %H:%M:%S")),
        None => text,
    }
}

/// In split mode: one more retry and the time before which the metric is not queried again.
fn retry_after(state: &mut MetricState, split: bool, now: Timestamp) -> Option<Timestamp> {
    if !split {
        return None;
    }
    state.retries += 1;
    let delay = SignedDuration::from_secs(i64::try_from(backoff_seconds(state.retries)).unwrap_or(i64::MAX));
    state.retry_after = now.checked_add(delay).ok();
    state.retry_after
}

/// Random in [2^(R-1)·30, 2^R·30] seconds, 1800 once that reaches the cap.
pub fn backoff_seconds(retries: u32) -> u64 {
    let high = BACKOFF_BASE_SECONDS.saturating_mul(1u64.checked_shl(retries).unwrap_or(u64::MAX));
    if high >= BACKOFF_CAP_SECONDS || retries >= 63 {
        return BACKOFF_CAP_SECONDS;
    }
    rand::rng().random_range(high / 2..=high)
}
