//! One bad query in a batch of 35 leaves the other 34 valid (DCA issue #2996), and what isolating
//! it costs in calls.

use autoscaling_apiserver::datadog::{ApiErrorKind, MetricQuery, QueryError};
use autoscaling_apiserver::devcluster::datadog_api::Faults;

use super::support::{self, constant, q};

fn batch_of_35(bad: Option<(usize, &str)>) -> Vec<MetricQuery> {
    (0..35)
        .map(|i| match bad {
            Some((at, text)) if at == i => q(text),
            _ => q(&format!("avg:m{i}{{*}}")),
        })
        .collect()
}

async fn sim_35() -> autoscaling_apiserver::devcluster::datadog_api::DatadogApi {
    support::sim((0..36).map(|i| constant(&format!("m{i}"), i as f64)).collect()).await
}

/// Calls bisection makes to isolate the query at `bad` in `n` queries, splitting at `len / 2`.
fn bisection_calls(n: usize, bad: usize) -> u64 {
    if n == 1 {
        return 1;
    }
    let half = n / 2;
    let (guilty, index) = if bad < half { (half, bad) } else { (n - half, bad - half) };
    1 + 1 + bisection_calls(guilty, index) // this call, the innocent half, the guilty half
}

fn assert_others_valid(results: &autoscaling_apiserver::datadog::QueryResults, queries: &[MetricQuery], bad: usize) {
    for (i, mq) in queries.iter().enumerate().filter(|(i, _)| *i != bad) {
        let value = results.get(mq).unwrap().as_ref().unwrap_or_else(|e| panic!("{}: {e}", mq.query)).value;
        assert_eq!(value, i as f64, "{}", mq.query);
    }
}

#[tokio::test]
async fn invalid_query_is_never_sent_and_costs_nothing() {
    let api = sim_35().await;
    let client = support::client(&api);
    let queries = batch_of_35(Some((17, "avg:m17{*},avg:m18{*}")));
    let results = client.query(&queries).await;
    assert_eq!(api.calls(), 1);
    assert_eq!(
        results.get(&queries[17]).unwrap().clone().unwrap_err().to_string(),
        "invalid query \"avg:m17{*},avg:m18{*}\": query contains a top-level comma"
    );
    assert_others_valid(&results, &queries, 17);
}

#[tokio::test]
async fn refused_query_is_isolated_by_bisection() {
    for bad in [0, 34] {
        let api = sim_35().await;
        api.set_faults(Faults { reject_queries: vec!["m_rejected".into()], ..Faults::default() });
        let client = support::client(&api);
        let queries = batch_of_35(Some((bad, "avg:m_rejected{*}")));
        let results = client.query(&queries).await;
        let err = results.get(&queries[bad]).unwrap().clone().unwrap_err();
        assert!(matches!(err, QueryError::Refused { kind: ApiErrorKind::Unprocessable, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "Datadog refused the query: 422 Unprocessable Entity: Unprocessable query: avg:m_rejected{*}"
        );
        assert_others_valid(&results, &queries, bad);
        assert_eq!(api.calls(), bisection_calls(35, bad), "bad query at {bad}");
        assert!(api.calls() <= 13, "1 + 2 * ceil(log2(35))");
        let metrics = client.telemetry().encode();
        assert!(metrics.contains("datadog_requests_total{status=\"unprocessable_entity_error\"}"), "{metrics}");
    }
}

#[tokio::test]
async fn unparsable_query_answered_400_is_isolated_too() {
    let api = sim_35().await;
    let client = support::client(&api);
    // Valid for the client (balanced), not for the API.
    let queries = batch_of_35(Some((5, "avg:m5{*}.derivative()")));
    let results = client.query(&queries).await;
    let err = results.get(&queries[5]).unwrap().clone().unwrap_err();
    assert!(matches!(err, QueryError::Refused { kind: ApiErrorKind::OtherHttp, .. }), "{err:?}");
    assert!(err.to_string().contains("400 Bad Request: Error parsing query"), "{err}");
    assert_others_valid(&results, &queries, 5);
    assert_eq!(api.calls(), bisection_calls(35, 5));
}

#[tokio::test]
async fn query_missing_from_the_reply_is_asked_once_more_alone() {
    let api = sim_35().await;
    api.set_faults(Faults { missing_series: vec!["avg:m9{".into()], ..Faults::default() });
    let client = support::client(&api);
    let queries = batch_of_35(None);
    let results = client.query(&queries).await;
    assert_eq!(results.get(&queries[9]).unwrap().clone(), Err(QueryError::NoSeries));
    assert_eq!(
        QueryError::NoSeries.to_string(),
        "no serie was found for this query in API Response, check Cluster Agent logs for QueryIndex errors"
    );
    assert_others_valid(&results, &queries, 9);
    assert_eq!(
        api.queries(),
        vec![queries.iter().map(|q| q.query.as_str()).collect::<Vec<_>>().join(","), "avg:m9{*}".into()]
    );
}

#[tokio::test]
async fn wrong_query_index_everywhere_costs_a_bounded_number_of_calls() {
    let api = sim_35().await;
    api.set_faults(Faults { wrong_query_index: true, ..Faults::default() });
    let client = support::client(&api);
    let queries = batch_of_35(None);
    let results = client.query(&queries).await;
    for mq in &queries {
        assert_eq!(results.get(mq).unwrap().clone(), Err(QueryError::MismatchedReply), "{}", mq.query);
    }
    assert_eq!(QueryError::MismatchedReply.to_string(), "Datadog API response did not match the submitted query batch");
    assert!(api.calls() <= 25, "bisection budget 1 + 4 * ceil(log2(35)), made {}", api.calls());
}

#[tokio::test]
async fn seventy_one_queries_make_three_calls_of_at_most_35() {
    let api = support::sim((0..71).map(|i| constant(&format!("m{i}"), i as f64)).collect()).await;
    let client = support::client(&api);
    let queries: Vec<MetricQuery> = (0..71).map(|i| q(&format!("avg:m{i}{{*}}"))).collect();
    let results = client.query(&queries).await;
    assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 71);
    let mut sizes: Vec<usize> = api.queries().iter().map(|b| b.split(',').count()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![1, 35, 35]);
}

#[tokio::test]
async fn at_most_max_parallel_queries_calls_in_flight() {
    let api = support::sim((0..10).map(|i| constant(&format!("m{i}"), i as f64)).collect()).await;
    api.set_faults(Faults { latency: Some(std::time::Duration::from_millis(200)), ..Faults::default() });
    let mut config = support::config(&api);
    config.max_parallel_queries = 2;
    config.chunk_size = 1;
    let client = autoscaling_apiserver::datadog::DatadogClient::new(config).unwrap();
    let queries: Vec<MetricQuery> = (0..10).map(|i| q(&format!("avg:m{i}{{*}}"))).collect();
    let results = client.query(&queries).await;
    assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 10);
    assert_eq!(api.calls(), 10, "chunk_size 1: one call per query");
    assert_eq!(api.max_in_flight(), 2, "10 chunks, never more than 2 calls at once");
}
