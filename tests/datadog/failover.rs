//! Redundant endpoints: primary down → the failover endpoint answers within the same call; back
//! to the primary once it is up and its retry interval has passed; aggregated error when all fail.

use std::time::Duration;

use autoscaling_apiserver::datadog::{DatadogClient, RetryBounds};
use autoscaling_apiserver::devcluster::datadog_api::Faults;

use super::support::{self, constant, eventually};

#[tokio::test]
async fn primary_down_fails_over_within_one_call_and_comes_back() {
    let primary = support::sim(vec![constant("requests", 1.0)]).await;
    let secondary = support::sim(vec![constant("requests", 2.0)]).await;
    let mut config =
        support::config(&primary).with_failover(&secondary.url(), secondary.api_key(), secondary.app_key());
    // Long enough that the "still skipped" check below cannot race it on a loaded machine.
    config.retry = RetryBounds { min: Duration::from_secs(3), max: Duration::from_secs(24) };
    let client = DatadogClient::new(config).unwrap();
    let query = "avg:requests{*}";
    assert_eq!(support::one(&client, query).await.unwrap().value, 1.0);

    primary.down();
    assert_eq!(support::one(&client, query).await.unwrap().value, 2.0, "answered by the failover endpoint");
    let status = client.endpoints();
    assert!(!status[0].healthy && !status[0].in_use, "{status:?}");
    assert!(status[1].healthy && status[1].in_use, "{status:?}");
    assert_eq!(status[0].retry_interval, Duration::from_secs(6), "doubled from 3 s");
    let metrics = client.telemetry().encode();
    let switch = format!("datadog_endpoint_switches_total{{from=\"{}\",to=\"{}\"}} 1", primary.url(), secondary.url());
    assert!(metrics.contains(&switch), "{metrics}");
    assert!(metrics.contains(&format!("datadog_endpoint_up{{url=\"{}\"}} 0", primary.url())), "{metrics}");

    primary.up().expect("primary listens again");
    let calls_before = primary.calls();
    // Within its retry interval the primary is skipped even though it is back.
    assert_eq!(support::one(&client, query).await.unwrap().value, 2.0);
    assert_eq!(primary.calls(), calls_before, "primary not called within its retry interval");

    eventually(Duration::from_secs(30), "the primary to answer again", || async {
        let value = support::one(&client, query).await.ok()?.value;
        (value == 1.0).then_some(())
    })
    .await;
    let status = client.endpoints();
    assert!(status[0].healthy && status[0].in_use, "{status:?}");
    assert_eq!(status[0].retry_interval, Duration::from_secs(3), "halved on success, floor 3 s");
    let metrics = client.telemetry().encode();
    let back = format!("datadog_endpoint_switches_total{{from=\"{}\",to=\"{}\"}} 1", secondary.url(), primary.url());
    assert!(metrics.contains(&back), "{metrics}");
}

#[tokio::test]
async fn every_endpoint_failing_gives_the_aggregated_error() {
    let primary = support::sim(vec![constant("requests", 1.0)]).await;
    let secondary = support::sim(vec![constant("requests", 2.0)]).await;
    let config = support::config(&primary).with_failover(&secondary.url(), secondary.api_key(), secondary.app_key());
    let client = DatadogClient::new(config).unwrap();
    primary.down();
    secondary.set_faults(Faults { status: Some(500), ..Faults::default() });
    let err = support::one(&client, "avg:requests{*}").await.unwrap_err();
    let text = err.to_string();
    let expected = format!(
        "Failed to query metrics on all endpoints, Failed to query metrics on {}: Get {}/api/v1/query: ",
        primary.url(),
        primary.url()
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(
        text.ends_with(&format!(
            ", Failed to query metrics on {}: 500 Internal Server Error: Internal Server Error",
            secondary.url()
        )),
        "{text}"
    );
    assert!(err.is_batch_error() && !err.is_rate_limit());

    // Both failed recently: both are still tried (skipped ones come last), none is given up on.
    secondary.clear_faults();
    assert_eq!(support::one(&client, "avg:requests{*}").await.unwrap().value, 2.0);
}
