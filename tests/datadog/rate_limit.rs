//! Rate limits: a 429 is not retried before `X-RateLimit-Reset` (no call reaches the endpoint),
//! a spent budget is not called either, calls resume after the reset, and the remaining budget
//! is exposed for pacing and telemetry.

use std::time::{Duration, SystemTime};

use autoscaling_apiserver::devcluster::datadog_api::Faults;

use super::support::{self, constant, eventually};

#[tokio::test]
async fn no_call_before_the_reset_of_a_429_then_calls_resume() {
    let api = support::sim(vec![constant("requests", 7.0)]).await;
    api.set_rate_limit(100, Duration::from_secs(3));
    api.set_faults(Faults { status: Some(429), ..Faults::default() });
    let client = support::client(&api);
    let err = support::one(&client, "avg:requests{*}").await.unwrap_err();
    assert!(err.is_rate_limit() && err.is_batch_error(), "{err}");
    assert_eq!(err.to_string(), "429 Too Many Requests");
    let retry_at = err.retry_at().expect("retry time from X-RateLimit-Reset");
    assert!(retry_at <= SystemTime::now() + Duration::from_secs(3), "reset within the 3 s period");
    assert_eq!(api.calls(), 1);
    api.clear_faults();

    // Before the reset: an error at once, and nothing reaches the endpoint.
    while SystemTime::now() + Duration::from_millis(300) < retry_at {
        let err = support::one(&client, "avg:requests{*}").await.unwrap_err();
        assert!(err.is_rate_limit(), "{err}");
        assert_eq!(err.retry_at(), Some(retry_at));
        assert_eq!(api.calls(), 1, "no call before the reset");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let value = eventually(Duration::from_secs(30), "calls to resume after the reset", || async {
        support::one(&client, "avg:requests{*}").await.ok().map(|p| p.value)
    })
    .await;
    assert_eq!(value, 7.0);
    assert!(SystemTime::now() >= retry_at);
    assert_eq!(api.calls(), 2, "exactly one call after the reset");
    let metrics = client.telemetry().encode();
    assert!(metrics.contains("datadog_requests_total{status=\"rate_limit_error\"} 1"), "{metrics}");
    assert!(metrics.contains("datadog_requests_total{status=\"success\"} 1"), "{metrics}");
}

#[tokio::test]
async fn spent_budget_is_not_called_and_remaining_is_exposed() {
    let api = support::sim(vec![constant("requests", 7.0)]).await;
    api.set_rate_limit(2, Duration::from_secs(3));
    let client = support::client(&api);
    support::one(&client, "avg:requests{*}").await.unwrap();
    let rl = client.rate_limit().expect("rate limit");
    assert_eq!((rl.limit, rl.period, rl.remaining), (Some(2), Some(3), Some(1)));
    assert!(rl.reset.is_some_and(|r| (0..=3).contains(&r)));

    support::one(&client, "avg:requests{*}").await.unwrap();
    assert_eq!(client.rate_limit().unwrap().remaining, Some(0));
    let metrics = client.telemetry().encode();
    assert!(metrics.contains("rate_limit_queries_remaining{endpoint=\"/api/v1/query\"} 0"), "{metrics}");
    assert!(metrics.contains("rate_limit_queries_limit{endpoint=\"/api/v1/query\"} 2"), "{metrics}");
    assert!(metrics.contains("rate_limit_queries_period{endpoint=\"/api/v1/query\"} 3"), "{metrics}");
    assert!(metrics.contains("rate_limit_queries_remaining_min{endpoint=\"/api/v1/query\"} 0"), "{metrics}");

    // The reply said no call is left: the next query does not reach the API.
    let err = support::one(&client, "avg:requests{*}").await.unwrap_err();
    assert!(err.is_rate_limit(), "{err}");
    assert_eq!(api.calls(), 2);
    assert!(client.endpoints()[0].rate_limited_until.is_some());

    let value = eventually(Duration::from_secs(30), "the budget to reset", || async {
        support::one(&client, "avg:requests{*}").await.ok().map(|p| p.value)
    })
    .await;
    assert_eq!((value, api.calls()), (7.0, 3));
}
