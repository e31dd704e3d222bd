//! The product's querier (`DatadogQuerier`, what `serve` runs) with a recorder around it: each
//! retriever call's start, end, batch size and the simulator's call counter before and after,
//! which is what the bench measures refreshes by.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use autoscaling_apiserver::datadog::DatadogClient;
use autoscaling_apiserver::devcluster::datadog_api::DatadogApi;
use autoscaling_apiserver::external_metrics::datadogmetric::{MetricsQuerier, QueryResults, QuerySpec};
use autoscaling_apiserver::external_metrics::querier::DatadogQuerier;
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
    inner: DatadogQuerier,
    api: Arc<DatadogApi>,
    pub calls: Mutex<Vec<QueryCall>>,
}

impl RecordingQuerier {
    pub fn new(client: DatadogClient, api: Arc<DatadogApi>) -> Arc<Self> {
        Arc::new(RecordingQuerier { inner: DatadogQuerier::new(client), api, calls: Mutex::new(Vec::new()) })
    }

    pub fn log(&self) -> Vec<QueryCall> {
        self.calls.lock().clone()
    }
}

impl MetricsQuerier for RecordingQuerier {
    fn query(&self, batch: Vec<QuerySpec>) -> BoxFuture<'_, QueryResults> {
        Box::pin(async move {
            let (started, before, specs) = (Instant::now(), self.api.calls(), batch.len());
            let results = self.inner.query(batch).await;
            let (finished, finished_wall, after) = (Instant::now(), SystemTime::now(), self.api.calls());
            let values = results.values().filter(|r| r.is_ok()).count();
            let call = QueryCall { started, finished, finished_wall, specs, http_calls: after - before, values };
            self.calls.lock().push(call);
            results
        })
    }
}
