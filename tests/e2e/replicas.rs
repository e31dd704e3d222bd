//! Two replicas: the follower serves the leader's values from the DatadogMetric status without
//! calling Datadog; when the leader dies (no lock release) the follower takes the lease and HPA
//! reads through devcluster never fail meanwhile; when nobody refreshes, reads turn into the
//! DCA's "stale" 500 after maxAge + grace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use autoscaling_apiserver::dev::DevStack;
use autoscaling_apiserver::dev::datadog::POD_NAME;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::support::{
    datadogmetrics, dev_stack, eventually, read_through_cluster, replica, route_to, set_value, status_of, value_of,
    wait_value, web_rps,
};

const LEASE_S: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_serves_from_status_and_takes_over_when_the_leader_dies() {
    let dir = tempfile::tempdir().unwrap();
    let lease = LEASE_S.to_string();
    let overrides = [("DD_LEADER_LEASE_DURATION", lease.as_str())];
    let dev = dev_stack(&dir, 7.0, &overrides).await;
    eventually("the dev replica to lead", Duration::from_secs(30), || async {
        dev.stack.leader.is_leader_now().then_some(())
    })
    .await;
    wait_value(&dev.stack, 7.0, Duration::from_secs(60)).await;

    let follower = replica(&dev, "replica-b", &overrides).await;
    let seen = wait_value(&follower, 7.0, Duration::from_secs(60)).await;
    // The values come from the DatadogMetric watch, the holder from the follower's own lease
    // reads: either can come first.
    let doc = eventually("the follower to know the holder", Duration::from_secs(3 * LEASE_S), || async {
        let doc = status_of(&follower).await;
        doc.leader.holder.is_some().then_some(doc)
    })
    .await;
    assert!(!doc.leader.is_leader, "{doc:?}");
    assert_eq!(doc.leader.holder.as_deref(), Some(POD_NAME), "the follower knows the holder");
    let leader_view = web_rps(&status_of(&dev.stack).await).cloned().expect("leader has web-rps");
    assert_eq!((seen.value, seen.valid), (leader_view.value, leader_view.valid));
    assert!(doc.endpoints.iter().all(|e| e.requests == 0), "a follower never calls Datadog: {:?}", doc.endpoints);

    route_to(&dev, &follower).await;
    let failures = Arc::new(Mutex::new(Vec::<(u16, Value)>::new()));
    let values = Arc::new(Mutex::new(Vec::<f64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (failures, values, stop) = (failures.clone(), values.clone(), stop.clone());
        let cluster_url = dev.cluster.url();
        let (ca, token) = (dev.cluster.ca_pem().to_owned(), dev.cluster.admin_token().to_owned());
        tokio::spawn(async move {
            let ca = reqwest::Certificate::from_pem(ca.as_bytes()).expect("ca");
            let client =
                reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(10)).build().unwrap();
            let url = format!("{cluster_url}{}", super::support::METRIC_PATH);
            while !stop.load(Ordering::SeqCst) {
                let answer = match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) => (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null)),
                    Err(e) => (0, Value::String(e.to_string())),
                };
                match (answer.0, value_of(&answer.1)) {
                    (200, Some(v)) => values.lock().push(v),
                    _ => failures.lock().push(answer),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // Killed, not stopped: the lock stays held until it expires.
    let DevStack { cluster, stack: leader, datadog, kubeconfig, feed_dir } = dev;
    let killed = Instant::now();
    leader.abort().await;
    eventually("the follower to take the lease", Duration::from_secs(30), || async {
        follower.leader.is_leader_now().then_some(())
    })
    .await;
    let took = killed.elapsed();
    // client-go semantics: a follower takes over once the record has not changed for a lease
    // duration (counted from its last observation, at most one retry period before the kill),
    // checking every retry period (lease / 4).
    let bound = Duration::from_secs(LEASE_S) + Duration::from_secs(LEASE_S) / 2 + Duration::from_secs(2);
    assert!(took <= bound, "takeover took {took:?}, more than {bound:?}");

    // The new leader refreshes: a new value reaches the HPA's reads.
    let dev = DevStack { cluster, stack: follower, datadog, kubeconfig, feed_dir };
    set_value(&dev, 11.0);
    eventually("the new leader's value through devcluster", Duration::from_secs(30), || async {
        values.lock().last().copied().filter(|v| *v == 11.0)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    poller.await.unwrap();
    let failures = failures.lock().clone();
    assert!(failures.is_empty(), "HPA reads failed during the takeover: {failures:?}");
    assert!(values.lock().iter().filter(|v| **v == 7.0).count() > 3, "reads were made before the new value");
    let doc = status_of(&dev.stack).await;
    assert!(doc.leader.is_leader && doc.leader.holder.as_deref() == Some("replica-b"), "{doc:?}");
    dev.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_nobody_refreshes_turns_stale_after_max_age_plus_grace() {
    let dir = tempfile::tempdir().unwrap();
    // A long lease: after the leader dies nobody refreshes for a minute.
    let overrides = [("DD_LEADER_LEASE_DURATION", "60"), ("DD_EXTERNAL_METRICS_PROVIDER_QUERY_VALIDITY_PERIOD", "3")];
    let dev = dev_stack(&dir, 9.0, &overrides).await;
    let admin = dev.cluster.client().await.expect("admin");
    let patch = json!({"spec": {"maxAge": "6s"}});
    datadogmetrics(&admin).patch("web-rps", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("maxAge set");
    wait_value(&dev.stack, 9.0, Duration::from_secs(60)).await;
    let follower = replica(&dev, "replica-b", &overrides).await;
    wait_value(&follower, 9.0, Duration::from_secs(60)).await;
    route_to(&dev, &follower).await;

    let DevStack { cluster, stack: leader, datadog, kubeconfig, feed_dir } = dev;
    leader.abort().await;
    let last = status_of(&follower).await;
    let data_time: Timestamp = web_rps(&last).and_then(|m| m.timestamp.clone()).expect("timestamp").parse().unwrap();
    let dev = DevStack { cluster, stack: follower, datadog, kubeconfig, feed_dir };
    let (code, body) = eventually("a stale answer through devcluster", Duration::from_secs(45), || async {
        let (code, body) = read_through_cluster(&dev).await;
        (code != 200).then_some((code, body))
    })
    .await;
    let stale_at = Timestamp::now();
    assert_eq!(code, 500, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    let when = data_time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string();
    let want = format!(
        "Internal error occurred: DatadogMetric is stale, last updated: {when}. Check datadog-cluster-agent logs for errors"
    );
    assert_eq!(message, want, "{body}");
    // maxAge 6 s + grace 3 s after the point's time, not before (whole seconds, as the DCA compares).
    let age = stale_at.as_second() - data_time.as_second();
    assert!(age > 9, "stale after {age} s, before maxAge + grace");
    dev.shutdown().await;
}
