//! BENCH-LOCAL ADAPTER (until the product's adapter from `DatadogClient` to the provider's
//! `MetricsQuerier` lands on main): one `DatadogClient::query` per retriever call, with errors
//! mapped onto the provider's kinds. It also records each call's start, end, batch size and the
//! simulator's call counter before and after, which is what the bench measures refreshes by.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use autoscaling_apiserver::datadog::{DatadogClient, MetricQuery};
use autoscaling_apiserver::devcluster::datadog_api::DatadogApi;
use autoscaling_apiserver::external_metrics::datadogmetric::{
    MetricsQuerier, QueryError, QueryErrorKind, QueryPoint, QueryResults, QuerySpec,
};
use futures::future::BoxFuture;
use parking_lot::Mutex;

/// One retriever call (one refresh when every metric is healthy).
#[derive(Debug, Clone)]
pub struct QueryCall {
    pub started: Instant,
    pub finished: Instant,
    /// Wall clock at `finished`: the retriever stamps the refreshed metrics after this.
    pub finished_wall: SystemTime,
    /// Distinct (query, window) pairs the retriever asked for.
    pub specs: usize,
    /// Datadog HTTP calls the simulator received during the call.
    pub http_calls: u64,
    /// Results that were a value.
    pub values: usize,
}

pub struct RecordingQuerier {
    client: DatadogClient,
    api: Arc<DatadogApi>,
    pub calls: Mutex<Vec<QueryCall>>,
}

impl RecordingQuerier {
    pub fn new(client: DatadogClient, api: Arc<DatadogApi>) -> Arc<Self> {
        Arc::new(RecordingQuerier { client, api, calls: Mutex::new(Vec::new()) })
    }

    pub fn log(&self) -> Vec<QueryCall> {
        self.calls.lock().clone()
    }
}

impl MetricsQuerier for RecordingQuerier {
    fn query(&self, batch: Vec<QuerySpec>) -> BoxFuture<'_, QueryResults> {
        Box::pin(async move {
            let started = Instant::now();
            let before = self.api.calls();
            let queries: Vec<MetricQuery> = batch.iter().map(|s| MetricQuery::new(s.query.clone(), s.window)).collect();
            let answers = self.client.query(&queries).await;
            let (finished, finished_wall, after) = (Instant::now(), SystemTime::now(), self.api.calls());
            let mut results = QueryResults::new();
            for (spec, query) in batch.iter().zip(&queries) {
                let Some(answer) = answers.get(query) else { continue };
                let result = match answer {
                    Ok(point) => Ok(QueryPoint { value: point.value, timestamp_s: point.timestamp_s }),
                    Err(e) => Err(QueryError { kind: kind_of(e), message: e.to_string() }),
                };
                results.insert(spec.clone(), result);
            }
            let values = results.values().filter(|r| r.is_ok()).count();
            let call =
                QueryCall { started, finished, finished_wall, specs: batch.len(), http_calls: after - before, values };
            self.calls.lock().push(call);
            results
        })
    }
}

fn kind_of(e: &autoscaling_apiserver::datadog::QueryError) -> QueryErrorKind {
    if e.is_rate_limit() {
        QueryErrorKind::RateLimited
    } else if e.is_batch_error() {
        QueryErrorKind::Api
    } else {
        QueryErrorKind::Processing
    }
}
