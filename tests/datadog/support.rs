//! Shared helpers: a simulated endpoint with series, a client for it with short intervals.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use autoscaling_apiserver::datadog::{ClientConfig, DatadogClient, MetricQuery, Point, QueryError, RetryBounds};
use autoscaling_apiserver::devcluster::datadog_api::{DatadogApi, DatadogApiConfig, SeriesDef, Shape};

pub const WINDOW: Duration = Duration::from_secs(300);

pub async fn sim(series: Vec<SeriesDef>) -> DatadogApi {
    DatadogApi::start(DatadogApiConfig { series, ..Default::default() }).await.expect("simulated API starts")
}

pub fn constant(metric: &str, value: f64) -> SeriesDef {
    SeriesDef::new(metric, Shape::Constant { value })
}

/// Client settings for `api` with retry intervals of 1 s .. 8 s so failover tests run in seconds.
pub fn config(api: &DatadogApi) -> ClientConfig {
    let mut c = ClientConfig::single(&api.url(), api.api_key(), api.app_key());
    c.retry = RetryBounds { min: Duration::from_secs(1), max: Duration::from_secs(8) };
    c.request_timeout = Duration::from_secs(10);
    c
}

pub fn client(api: &DatadogApi) -> DatadogClient {
    DatadogClient::new(config(api)).expect("client builds")
}

pub fn q(query: &str) -> MetricQuery {
    MetricQuery::new(query, WINDOW)
}

/// The one result for `query`, which must be there.
pub async fn one(client: &DatadogClient, query: &str) -> Result<Point, QueryError> {
    let mq = q(query);
    let results = client.query(std::slice::from_ref(&mq)).await;
    results.get(&mq).cloned().expect("every query gets a result")
}

/// Polls `check` until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `../shared/reference/datadog-api/<name>` (the checkout's sibling, or two levels up from a worktree).
pub fn reference(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [root.join("../shared"), root.join("../../shared")];
    let shared = candidates.iter().find(|p| p.join("reference").is_dir()).expect("../shared/reference exists");
    shared.join("reference/datadog-api").join(name)
}
