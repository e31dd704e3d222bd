//! The DatadogMetric provider's [`MetricsQuerier`] on the real [`DatadogClient`]: one client call
//! per refresh batch, each query's outcome mapped to the provider's error kinds with the client's
//! texts (which are the DCA's): a rate limit is `RateLimited`, a failed call for the whole batch is
//! `Api`, anything specific to one query (invalid, too long, refused, no usable point) is
//! `Processing`. Also times each batch for `external_metrics_retriever_elapsed`.

use std::time::Instant;

use futures::future::BoxFuture;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::datadogmetric::{MetricsQuerier, QueryError, QueryErrorKind, QueryPoint, QueryResults, QuerySpec};
use crate::datadog::{self, DatadogClient, MetricQuery};

/// Buckets of the DCA's `external_metrics_retriever_elapsed` (seconds).
const RETRIEVER_BUCKETS: [f64; 9] = [0.5, 1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];

pub struct DatadogQuerier {
    client: DatadogClient,
    elapsed: Histogram,
}

impl DatadogQuerier {
    pub fn new(client: DatadogClient) -> Self {
        DatadogQuerier { client, elapsed: Histogram::new(RETRIEVER_BUCKETS) }
    }

    /// `external_metrics_retriever_elapsed`: wall time of each refresh batch sent to Datadog.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "external_metrics_retriever_elapsed",
            "Wall time spent to retrieve metrics (seconds)",
            self.elapsed.clone(),
        );
    }
}

impl MetricsQuerier for DatadogQuerier {
    fn query(&self, batch: Vec<QuerySpec>) -> BoxFuture<'_, QueryResults> {
        Box::pin(async move {
            let started = Instant::now();
            let queries: Vec<MetricQuery> = batch.iter().map(|s| MetricQuery::new(s.query.clone(), s.window)).collect();
            let answers = self.client.query(&queries).await;
            self.elapsed.observe(started.elapsed().as_secs_f64());
            batch
                .into_iter()
                .zip(queries)
                .filter_map(|(spec, query)| {
                    // The client answers every distinct query; a missing one stays missing
                    // (the retriever reports "missing result from reply").
                    let answer = answers.get(&query)?;
                    Some((spec, convert(answer)))
                })
                .collect()
        })
    }
}

fn convert(answer: &Result<datadog::Point, datadog::QueryError>) -> Result<QueryPoint, QueryError> {
    match answer {
        Ok(point) => Ok(QueryPoint { value: point.value, timestamp_s: point.timestamp_s }),
        Err(error) => Err(QueryError { kind: kind_of(error), message: error.to_string() }),
    }
}

fn kind_of(error: &datadog::QueryError) -> QueryErrorKind {
    if error.is_rate_limit() {
        QueryErrorKind::RateLimited
    } else if error.is_batch_error() {
        QueryErrorKind::Api
    } else {
        QueryErrorKind::Processing
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::datadog::ApiErrorKind;

    #[test]
    fn errors_map_to_the_provider_kinds_with_the_client_texts() {
        let limited = datadog::QueryError::Api {
            kind: ApiErrorKind::RateLimit,
            message: "429 Too Many Requests".into(),
            retry_at: Some(SystemTime::now() + Duration::from_secs(5)),
        };
        let converted = convert(&Err(limited)).unwrap_err();
        assert_eq!(
            (converted.kind, converted.message.as_str()),
            (QueryErrorKind::RateLimited, "429 Too Many Requests")
        );
        let down = datadog::QueryError::Api {
            kind: ApiErrorKind::Unknown,
            message: "connection refused".into(),
            retry_at: None,
        };
        assert_eq!(convert(&Err(down)).unwrap_err().kind, QueryErrorKind::Api);
        let invalid = datadog::QueryError::Invalid { query: "avg:x{".into(), reason: "unbalanced braces".into() };
        let converted = convert(&Err(invalid)).unwrap_err();
        assert_eq!(converted.kind, QueryErrorKind::Processing);
        assert!(converted.message.contains("unbalanced braces"), "{}", converted.message);
        assert_eq!(convert(&Err(datadog::QueryError::NoSeries)).unwrap_err().kind, QueryErrorKind::Processing);
        let point = convert(&Ok(datadog::Point { value: 4.5, timestamp_s: 1_700_000_000 })).unwrap();
        assert_eq!(point, QueryPoint { value: 4.5, timestamp_s: 1_700_000_000 });
    }
}
