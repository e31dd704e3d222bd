//! Redundant endpoints (spec §8.2): the primary, then each of `external_metrics_provider.endpoints`.
//! A call tries them in order, skipping those that failed within their retry interval; the first
//! success wins (a switch of endpoint is logged and counted); when all tried ones fail, the skipped
//! ones are tried too, then the errors are aggregated in the DCA's words. Unlike the DCA, a
//! rate-limited endpoint is never called before its reset, and an endpoint that answered with a
//! query-specific refusal (400/422) is not failed over: the next endpoint would refuse it too.
//! The semaphore bounds the calls in flight (`max_parallel_queries`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use tokio::sync::Semaphore;

use super::endpoint::{CallError, Endpoint};
use super::ratelimit::{MinTracker, RateLimit};
use super::telemetry::ClientTelemetry;
use super::wire::QueryResponse;

pub struct FailoverClient {
    pub endpoints: Vec<Endpoint>,
    in_use: AtomicUsize,
    permits: Semaphore,
    pub telemetry: ClientTelemetry,
    remaining_min: parking_lot::Mutex<MinTracker>,
}

impl FailoverClient {
    pub fn new(endpoints: Vec<Endpoint>, max_parallel: usize, remaining_min: MinTracker) -> Self {
        FailoverClient {
            endpoints,
            in_use: AtomicUsize::new(0),
            permits: Semaphore::new(max_parallel.max(1)),
            telemetry: ClientTelemetry::default(),
            remaining_min: parking_lot::Mutex::new(remaining_min),
        }
    }

    /// Index of the endpoint that answered last.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// One logical call: the comma-joined `query` over `[from, to]`, on the first endpoint that answers.
    pub async fn query(&self, query: &str, from: i64, to: i64) -> Result<QueryResponse, CallError> {
        // The semaphore is never closed, so acquiring only fails if it were; proceed unbounded then.
        let _permit = self.permits.acquire().await.ok();
        let mut errors = Vec::new();
        let mut skipped = Vec::new();
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if endpoint.failed_recently() {
                skipped.push(i);
                continue;
            }
            match self.try_endpoint(i, query, from, to).await {
                Ok(reply) => return Ok(reply),
                Err(e) if e.is_batch_specific() => return Err(e),
                Err(e) => errors.push((i, e)),
            }
        }
        for i in skipped {
            tracing::info!(
                endpoint = %self.endpoints[i].base,
                "Although we shouldn't query this endpoint because of the backoff policy, we're going to do so because no other valid endpoint succeeded so far."
            );
            match self.try_endpoint(i, query, from, to).await {
                Ok(reply) => return Ok(reply),
                Err(e) if e.is_batch_specific() => return Err(e),
                Err(e) => errors.push((i, e)),
            }
        }
        Err(self.aggregate(errors))
    }

    async fn try_endpoint(&self, i: usize, query: &str, from: i64, to: i64) -> Result<QueryResponse, CallError> {
        let endpoint = &self.endpoints[i];
        let outcome = endpoint.query(query, from, to).await;
        match &outcome {
            Ok(_) => self.telemetry.request("success"),
            Err(e) => {
                if let Some(label) = e.status_label() {
                    self.telemetry.request(label);
                }
            }
        }
        let answered = outcome.as_ref().map_or_else(CallError::is_batch_specific, |_| true);
        self.telemetry.endpoint_health(&endpoint.base, answered, endpoint.retry_interval().as_secs() as i64);
        if answered {
            self.switch_to(i);
        } else if let Err(e) = &outcome {
            tracing::info!(endpoint = %endpoint.base, error = %e, "Failed to query metrics on {}: {e}", endpoint.base);
        }
        self.export_rate_limit();
        outcome
    }

    fn switch_to(&self, i: usize) {
        let previous = self.in_use.swap(i, Ordering::Relaxed);
        if previous != i {
            let (from, to) = (&self.endpoints[previous].base, &self.endpoints[i].base);
            tracing::warn!(from = %from, to = %to, "Switching external metrics source provider from {from} to {to}");
            self.telemetry.switched(from, to);
        }
    }

    /// Rate-limit state of the first endpoint whose last query succeeded (as the DCA reports it).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.endpoints.iter().find(|e| e.last_succeeded()).and_then(Endpoint::rate_limit)
    }

    fn export_rate_limit(&self) {
        if let Some(rl) = self.rate_limit() {
            let min = rl.remaining.map(|r| self.remaining_min.lock().update(r));
            self.telemetry.rate_limit(&rl, min);
        }
    }

    fn aggregate(&self, mut errors: Vec<(usize, CallError)>) -> CallError {
        if self.endpoints.len() == 1
            && let Some((_, only)) = errors.pop()
        {
            return only;
        }
        let rate_limited = !errors.is_empty() && errors.iter().all(|(_, e)| e.is_rate_limit());
        let retry_at: Option<SystemTime> = errors.iter().filter_map(|(_, e)| e.retry_at()).min();
        let mut message = String::from("Failed to query metrics on all endpoints");
        for (i, e) in &errors {
            message.push_str(&format!(", Failed to query metrics on {}: {e}", self.endpoints[*i].base));
        }
        CallError::AllEndpoints { message, rate_limited, retry_at: if rate_limited { retry_at } else { None } }
    }
}
