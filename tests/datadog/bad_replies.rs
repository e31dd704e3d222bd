//! Bad replies become clear per-query errors, never a panic: garbage, truncated and non-UTF-8
//! bodies, NaN/Infinity values, huge series, 500s and timeouts.

use std::time::{Duration, Instant};

use autoscaling_apiserver::datadog::{ApiErrorKind, DatadogClient, MetricQuery, QueryError};
use autoscaling_apiserver::devcluster::datadog_api::{BodyFault, Faults, SeriesDef, Shape};

use super::support::{self, constant, q};

#[tokio::test]
async fn malformed_bodies_are_errors_for_the_batch() {
    let api = support::sim(vec![constant("a", 1.0), constant("b", 2.0)]).await;
    let client = support::client(&api);
    let queries = [q("avg:a{*}"), q("avg:b{*}")];
    for fault in [BodyFault::Truncated, BodyFault::Garbage, BodyFault::NonUtf8] {
        api.set_faults(Faults { body: Some(fault), ..Faults::default() });
        let results = client.query(&queries).await;
        for mq in &queries {
            let err = results.get(mq).unwrap().clone().unwrap_err();
            assert!(matches!(err, QueryError::Api { kind: ApiErrorKind::Unknown, .. }), "{fault:?}: {err:?}");
            let text = err.to_string();
            assert!(text.starts_with(&format!("invalid JSON in the reply from {}: ", api.url())), "{fault:?}: {text}");
        }
    }
    api.clear_faults();
    let results = client.query(&queries).await;
    assert_eq!(results.get(&queries[1]).unwrap().as_ref().unwrap().value, 2.0, "the client recovers");
    let metrics = client.telemetry().encode();
    assert!(metrics.contains("datadog_requests_total{status=\"unknown_error\"} 3"), "{metrics}");
}

#[tokio::test]
async fn non_finite_values_fail_only_their_query() {
    let series = vec![
        constant("good", 4.0),
        SeriesDef::new("nan", Shape::Constant { value: f64::NAN }),
        SeriesDef::new("inf", Shape::Constant { value: f64::INFINITY }),
        SeriesDef::new("neginf", Shape::Constant { value: f64::NEG_INFINITY }),
    ];
    let api = support::sim(series).await;
    let client = support::client(&api);
    let queries: Vec<MetricQuery> =
        ["avg:good{*}", "avg:nan{*}", "avg:inf{*}", "avg:neginf{*}"].into_iter().map(q).collect();
    let results = client.query(&queries).await;
    assert_eq!(results.get(&queries[0]).unwrap().as_ref().unwrap().value, 4.0);
    for (mq, shown) in queries[1..].iter().zip(["NaN", "inf", "-inf"]) {
        let err = results.get(mq).unwrap().clone().unwrap_err();
        assert!(matches!(err, QueryError::NonFinite { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&format!("non-finite value {shown} ")), "{err}");
    }
    assert_eq!(api.calls(), 1);
}

#[tokio::test]
async fn huge_replies_are_bounded() {
    let api = support::sim(vec![constant("a", 1.0), constant("b", 2.0)]).await;
    api.set_faults(Faults { body: Some(BodyFault::Huge { points: 60_000 }), ..Faults::default() });
    let mut config = support::config(&api);
    config.max_body_bytes = 1024 * 1024;
    let client = DatadogClient::new(config).unwrap();
    let queries = [q("avg:a{*}"), q("avg:b{*}")];
    let results = client.query(&queries).await;
    for mq in &queries {
        let err = results.get(mq).unwrap().clone().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Datadog refused the query: reply from {} is larger than 1048576 bytes", api.url())
        );
    }
    assert_eq!(api.calls(), 3, "the pair, then each query alone");
}

#[tokio::test]
async fn server_errors_and_timeouts() {
    let api = support::sim(vec![constant("a", 1.0)]).await;
    let mut config = support::config(&api);
    config.request_timeout = Duration::from_secs(1);
    let client = DatadogClient::new(config).unwrap();
    api.set_faults(Faults { status: Some(500), ..Faults::default() });
    let err = support::one(&client, "avg:a{*}").await.unwrap_err();
    assert!(matches!(err, QueryError::Api { kind: ApiErrorKind::OtherHttp, .. }), "{err:?}");
    assert_eq!(err.to_string(), "500 Internal Server Error: Internal Server Error");

    api.set_faults(Faults { latency: Some(Duration::from_secs(5)), ..Faults::default() });
    let start = Instant::now();
    let err = support::one(&client, "avg:a{*}").await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(4), "bounded by the request timeout");
    assert!(err.to_string().contains("/api/v1/query"), "{err}");
    assert!(matches!(err, QueryError::Api { kind: ApiErrorKind::Unknown, .. }), "{err:?}");
}
