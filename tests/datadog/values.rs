//! Values over HTTP from the simulated API: the penultimate point, windows and rollups, runtime
//! series changes, per-tag series, deduplication of identical queries.

use std::time::Duration;

use autoscaling_apiserver::datadog::{MetricQuery, QueryError};
use autoscaling_apiserver::devcluster::datadog_api::{SeriesDef, Shape};

use super::support::{self, constant, q};

#[tokio::test]
async fn value_is_the_penultimate_point_of_the_window() {
    let shape = Shape::Sine { mean: 100.0, amplitude: 50.0, period_s: 7.0 };
    let api = support::sim(vec![SeriesDef::new("requests", shape.clone())]).await;
    let client = support::client(&api);
    let point = support::one(&client, "avg:requests{*}.rollup(avg, 10)").await.expect("a value");
    let call = api.call_log().pop().expect("one call");
    let (from, to) = (call.from.expect("from"), call.to.expect("to"));
    assert_eq!(to - from, 300, "window");
    let last = to.div_euclid(10) * 10;
    assert_eq!(point.timestamp_s, last - 10, "penultimate point of a 10 s rollup");
    let expected = shape.value_at(point.timestamp_s as f64 - api.started_unix());
    assert_eq!(point.value, expected);
    assert_ne!(point.value, shape.value_at(last as f64 - api.started_unix()), "not the last point");
}

#[tokio::test]
async fn series_changed_at_runtime_and_step_shapes() {
    let api = support::sim(vec![constant("queue.depth", 3.0)]).await;
    let client = support::client(&api);
    assert_eq!(support::one(&client, "avg:queue.depth{*}").await.unwrap().value, 3.0);
    api.upsert_series(SeriesDef::new("queue.depth", Shape::Step { before: 3.0, after: 9.0, at_s: -1e9 }));
    assert_eq!(support::one(&client, "avg:queue.depth{*}").await.unwrap().value, 9.0);
    api.upsert_series(SeriesDef::new("queue.depth", Shape::Step { before: 3.0, after: 9.0, at_s: 1e9 }));
    assert_eq!(support::one(&client, "avg:queue.depth{*}").await.unwrap().value, 3.0);
}

#[tokio::test]
async fn per_tag_values_follow_the_query_scope() {
    let values =
        [("a", 1.0), ("b", 5.0)].into_iter().map(|(k, v)| (k.to_string(), Shape::Constant { value: v })).collect();
    let per_tag = SeriesDef::new("jobs", Shape::PerTag { tag: "queue".into(), values }).with_tags(&["env:prod"]);
    let api = support::sim(vec![per_tag]).await;
    let client = support::client(&api);
    let queries: Vec<MetricQuery> = [
        "avg:jobs{queue:a}",
        "avg:jobs{queue:b,env:prod}",
        "sum:jobs{env:prod}",
        "avg:jobs{queue:zzz}",
        "avg:jobs{env:staging}",
        "avg:jobs{*} by {queue}",
    ]
    .into_iter()
    .map(q)
    .collect();
    let results = client.query(&queries).await;
    let value = |i: usize| results.get(&queries[i]).unwrap().clone();
    assert_eq!(value(0).unwrap().value, 1.0);
    assert_eq!(value(1).unwrap().value, 5.0);
    assert_eq!(value(2).unwrap().value, 6.0, "sum over the tag values");
    assert_eq!(value(3), Err(QueryError::NoSeries));
    assert_eq!(value(4), Err(QueryError::NoSeries));
    assert_eq!(value(5), Err(QueryError::MultipleSeries), "one series per queue");
    assert_eq!(
        value(5).unwrap_err().to_string(),
        "multiple series found. Please change your query to return a single serie"
    );
}

#[tokio::test]
async fn identical_queries_are_sent_once() {
    let api = support::sim(vec![constant("a", 1.0), constant("b", 2.0)]).await;
    let client = support::client(&api);
    let mut asked: Vec<MetricQuery> = (0..50).map(|_| q("avg:a{*}")).collect();
    asked.extend((0..50).map(|_| q("avg:b{*}")));
    let results = client.query(&asked).await;
    assert_eq!(results.len(), 2);
    assert_eq!(api.calls(), 1);
    assert_eq!(api.queries(), vec!["avg:a{*},avg:b{*}".to_string()]);

    // Same text, another window: another time range, so another call.
    let other = MetricQuery::new("avg:a{*}", Duration::from_secs(600));
    let results = client.query(&[q("avg:a{*}"), other.clone()]).await;
    assert_eq!(results.get(&other).unwrap().as_ref().unwrap().value, 1.0);
    let log = api.call_log();
    assert_eq!(log.len(), 3);
    let spans: Vec<i64> = log[1..].iter().map(|c| c.to.unwrap() - c.from.unwrap()).collect();
    assert!(spans.contains(&300) && spans.contains(&600), "{spans:?}");
}

#[tokio::test]
async fn bad_keys_get_the_recorded_403() {
    let api = support::sim(vec![constant("a", 1.0)]).await;
    let mut config = support::config(&api);
    config.endpoints[0].app_key = "wrong".into();
    let client = autoscaling_apiserver::datadog::DatadogClient::new(config).unwrap();
    let err = support::one(&client, "avg:a{*}").await.unwrap_err();
    assert!(err.is_batch_error());
    assert_eq!(err.to_string(), "403 Forbidden: Forbidden");
    let status = &client.endpoints()[0];
    assert!(!status.healthy);
    assert_eq!(status.last_error.as_deref(), Some("403 Forbidden: Forbidden"));
}
