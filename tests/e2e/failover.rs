//! The primary simulated Datadog endpoint goes down: the next refresh is answered by the failover
//! endpoint (the value keeps flowing, `status` shows the switch), and once the primary is back
//! and its retry interval (30 s) has passed, the client returns to it.

use std::time::Duration;

use super::support::{
    REFRESH, dev_stack, eventually, read_through_cluster, set_value, status_of, value_of, wait_value, web_rps,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_down_fails_over_within_one_refresh_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dev_stack(&dir, 3.0, &[]).await;
    wait_value(&dev.stack, 3.0, Duration::from_secs(60)).await;
    let doc = status_of(&dev.stack).await;
    assert!(doc.endpoints[0].in_use && doc.endpoints[0].healthy, "{:?}", doc.endpoints);
    assert_eq!(dev.datadog.failover.calls(), 0, "the failover endpoint is idle while the primary works");

    dev.datadog.primary.down();
    // Only the failover endpoint can know the new value.
    dev.datadog.failover.set_series(vec![
        autoscaling_apiserver::devcluster::datadog_api::SeriesDef::new(
            autoscaling_apiserver::dev::datadog::DEMO_METRIC,
            autoscaling_apiserver::devcluster::datadog_api::Shape::Constant { value: 4.0 },
        )
        .with_tags(&[autoscaling_apiserver::dev::datadog::DEMO_TAG]),
    ]);
    let down_at = std::time::Instant::now();
    let primary_calls = dev.datadog.primary.calls();
    let failover_calls = eventually("a call to the failover endpoint", Duration::from_secs(30), || async {
        let calls = dev.datadog.failover.calls();
        (calls > 0).then_some(calls)
    })
    .await;
    let switched = down_at.elapsed();
    // The refresh that found the primary down asked the failover endpoint in the same round.
    assert!(switched < REFRESH * 2 + Duration::from_secs(3), "failover after {switched:?}");
    assert_eq!(dev.datadog.primary.calls(), primary_calls, "a refused connection is no call");
    assert!(failover_calls >= 1);
    wait_value(&dev.stack, 4.0, Duration::from_secs(10)).await;
    let doc = status_of(&dev.stack).await;
    let (primary, failover) = (&doc.endpoints[0], &doc.endpoints[1]);
    assert!(!primary.healthy && !primary.in_use && primary.last_error.is_some(), "{primary:?}");
    assert!(failover.healthy && failover.in_use, "{failover:?}");
    assert!(web_rps(&doc).is_some_and(|m| m.error.is_none()), "no metric error across the switch: {doc:?}");
    let (code, body) = read_through_cluster(&dev).await;
    assert_eq!((code, value_of(&body)), (200, Some(4.0)), "{body}");

    dev.datadog.primary.up().expect("primary back on its port");
    set_value(&dev, 5.0);
    let back = eventually("the client back on the primary", Duration::from_secs(75), || async {
        let doc = status_of(&dev.stack).await;
        (doc.endpoints[0].in_use && doc.endpoints[0].healthy).then_some(doc)
    })
    .await;
    assert!(dev.datadog.primary.calls() > primary_calls);
    assert!(!back.endpoints[1].in_use, "{:?}", back.endpoints);
    wait_value(&dev.stack, 5.0, Duration::from_secs(10)).await;
    dev.shutdown().await;
}
