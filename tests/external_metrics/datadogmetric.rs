//! The DatadogMetric provider end to end against devcluster with a fake querier: the leader
//! refreshes and writes status, a follower serves the same value from status, autogen from a
//! plain-metric HPA, staleness at read time, and one bad metric leaving the others valid.

use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::external_metrics::datadogmetric::{
    self, DatadogMetricProvider, QueryError, QueryErrorKind, RunningProvider,
};
use autoscaling_apiserver::server::{MetricsProvider, ProviderError};
use kube::api::DynamicObject;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::support::{
    Answer, FakeQuerier, RESOURCES_NS, cluster_with_crd, create_datadogmetric, create_hpa, datadogmetric_api,
    eventually, settings,
};

const LIMIT: Duration = Duration::from_secs(60);

struct Replica {
    running: RunningProvider,
    stop: watch::Sender<bool>,
}

fn replica(client: &kube::Client, pod: &str, extra: &[(&str, &str)], querier: Arc<FakeQuerier>) -> Replica {
    let (stop, stopped) = watch::channel(false);
    let running = datadogmetric::start(client.clone(), &settings(pod, extra), querier, stopped).expect("provider");
    Replica { running, stop }
}

impl Replica {
    async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.running.task.await;
    }
}

async fn value(provider: &Arc<DatadogMetricProvider>, ns: &str, metric: &str, selector: &str) -> Option<String> {
    let selector = LabelSelector::parse(selector).expect("selector");
    provider.get(ns, metric, &selector).ok().map(|values| values[0].value.clone())
}

async fn status_of(client: &kube::Client, ns: &str, name: &str) -> Option<Value> {
    let object: DynamicObject = datadogmetric_api(client, ns).get_opt(name).await.ok()??;
    object.data.get("status").cloned()
}

fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    let list = status["conditions"].as_array().expect("conditions");
    list.iter().find(|c| c["type"] == kind).unwrap_or_else(|| panic!("no {kind} condition in {status}"))
}

#[tokio::test]
async fn leader_refreshes_and_the_follower_serves_the_same_value_from_status() {
    let (dc, client) = cluster_with_crd(&[RESOURCES_NS, "web"]).await;
    create_datadogmetric(&client, "web", "rps", json!({"query": "avg:nginx.net.request_per_s{app:web}"})).await;
    create_hpa(&client, "web", "frontend", &[("datadogmetric@web:rps", None)]).await;
    let answers = [("avg:nginx.net.request_per_s{app:web}", Answer::Value { value: 12.5, age_s: 5 })];
    let (qa, qb) = (FakeQuerier::new(&answers), FakeQuerier::new(&answers));
    let a = replica(&client, "dca-a", &[], qa.clone());
    let b = replica(&client, "dca-b", &[], qb.clone());
    let a_leads = eventually("a leader", LIMIT, || {
        let leads = a.running.leader.is_leader_now();
        let other = b.running.leader.is_leader_now();
        async move { (leads != other).then_some(leads) }
    })
    .await;
    let (leader, follower, leader_querier, follower_querier) =
        if a_leads { (&a, &b, &qa, &qb) } else { (&b, &a, &qb, &qa) };

    let status = eventually("status written by the leader", LIMIT, || async {
        let status = status_of(&client, "web", "rps").await?;
        (status["currentValue"] == "12.5" && condition(&status, "Valid")["status"] == "True").then_some(status)
    })
    .await;
    assert_eq!(condition(&status, "Active")["status"], "True");
    assert_eq!(condition(&status, "Error")["status"], "False");
    assert_eq!(condition(&status, "Updated")["status"], "True");
    assert_eq!(status["autoscalerReferences"], "hpa:web/frontend");
    let leader_value = value(&leader.running.provider, "web", "datadogmetric@web:rps", "").await;
    assert_eq!(leader_value.as_deref(), Some("12500m"));
    let provider = follower.running.provider.clone();
    let served = eventually("the follower's value from status", LIMIT, || {
        let provider = provider.clone();
        async move { value(&provider, "web", "DatadogMetric@Web:RPS", "").await }
    })
    .await;
    assert_eq!(served, "12500m");
    assert!(follower.running.provider.is_synced());
    assert_eq!(follower.running.leader.holder().as_deref(), Some(leader.running.leader.identity()));
    assert!(leader_querier.calls() > 0);
    assert_eq!(follower_querier.calls(), 0, "only the leader queries Datadog");
    let (ready_name, ready) = follower.running.provider.ready_check();
    assert_eq!((ready_name, ready()), ("datadogmetrics synced", Ok(())));
    a.shutdown().await;
    b.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn plain_metric_hpa_gets_the_dca_autogen_datadogmetric() {
    let (dc, client) = cluster_with_crd(&[RESOURCES_NS, "shop"]).await;
    let query = "avg:nginx.net.request_per_s{app:shop,zone:b}.rollup(30)";
    let querier = FakeQuerier::new(&[(query, Answer::Value { value: 3.0, age_s: 1 })]);
    let replica = replica(&client, "dca-a", &[], querier.clone());
    let labels = json!({"zone": "b", "app": "shop"});
    create_hpa(&client, "shop", "checkout", &[("nginx.net.request_per_s", Some(labels))]).await;
    // The DCA's recipe: dcaautogen- + hex of the first 19 bytes of SHA-256(query).
    let digest = Sha256::digest(query.as_bytes());
    let name = format!("dcaautogen-{}", digest[..19].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let api = datadogmetric_api(&client, RESOURCES_NS);
    let object = eventually("the autogen DatadogMetric", LIMIT, || async { api.get_opt(&name).await.ok()? }).await;
    assert_eq!(object.data["spec"]["query"], query);
    assert_eq!(object.data["spec"]["externalMetricName"], "nginx.net.request_per_s");
    let provider = replica.running.provider.clone();
    let served = eventually("the autogen metric's value", LIMIT, || {
        let provider = provider.clone();
        async move { value(&provider, "shop", "nginx.net.request_per_s", "zone=b,app=shop").await }
    })
    .await;
    assert_eq!(served, "3");
    let status = eventually("autogen status", LIMIT, || async {
        let status = status_of(&client, RESOURCES_NS, &name).await?;
        (status["autoscalerReferences"] == "hpa:shop/checkout").then_some(status)
    })
    .await;
    assert_eq!(condition(&status, "Active")["status"], "True");
    assert!(querier.batches.lock().iter().flatten().all(|spec| spec.query == query));
    replica.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn a_value_goes_stale_after_max_age_plus_grace() {
    let (dc, client) = cluster_with_crd(&[RESOURCES_NS, "web"]).await;
    let query = "avg:queue.depth{*}";
    create_datadogmetric(&client, "web", "queue", json!({"query": query, "maxAge": "2s"})).await;
    create_hpa(&client, "web", "worker", &[("datadogmetric@web:queue", None)]).await;
    let querier = FakeQuerier::new(&[(query, Answer::Value { value: 7.0, age_s: 0 })]);
    let extra = [("DD_EXTERNAL_METRICS_PROVIDER_QUERY_VALIDITY_PERIOD", "1")];
    let replica = replica(&client, "dca-a", &extra, querier.clone());
    let provider = replica.running.provider.clone();
    eventually("a fresh value", LIMIT, || {
        let provider = provider.clone();
        async move { value(&provider, "web", "datadogmetric@web:queue", "").await }
    })
    .await;
    // Datadog stops answering: no refresh completes, the last point ages out at read time.
    querier.set(query, Answer::Hang);
    let everything = LabelSelector::everything();
    let (error, seen_at) = eventually("the stale error", LIMIT, || {
        let provider = provider.clone();
        let everything = everything.clone();
        async move {
            match provider.get("web", "datadogmetric@web:queue", &everything) {
                Err(ProviderError::Unavailable(text)) => Some((text, k8s_openapi::jiff::Timestamp::now())),
                _ => None,
            }
        }
    })
    .await;
    let last_point = querier.points.lock().last().map(|(_, ts)| *ts).expect("a point was served");
    let when = k8s_openapi::jiff::Timestamp::from_second(last_point).expect("ts").strftime("%Y-%m-%d %H:%M:%S");
    assert_eq!(
        error,
        format!("DatadogMetric is stale, last updated: {when} +0000 UTC. Check datadog-cluster-agent logs for errors")
    );
    // maxAge 2 s + grace 1 s: never stale before 3 s after the point.
    assert!(seen_at.as_second() - last_point > 3, "stale too early: point {last_point}, error at {seen_at}");
    replica.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn one_bad_metric_leaves_the_others_valid() {
    let (dc, client) = cluster_with_crd(&[RESOURCES_NS, "web"]).await;
    let good = "sum:requests{service:web}";
    let other = "max:latency{service:web}";
    let garbage = "avg:requests{service:web";
    for (name, spec) in [
        ("good-1", json!({"query": good})),
        ("good-2", json!({"query": good})),
        ("other", json!({"query": other, "timeWindow": "10m"})),
        ("garbage", json!({"query": garbage})),
        ("bad-age", json!({"query": good, "maxAge": "two minutes"})),
    ] {
        create_datadogmetric(&client, "web", name, spec).await;
    }
    let metrics: Vec<String> =
        ["good-1", "good-2", "other", "garbage", "bad-age"].iter().map(|n| format!("datadogmetric@web:{n}")).collect();
    let refs: Vec<(&str, Option<Value>)> = metrics.iter().map(|m| (m.as_str(), None)).collect();
    create_hpa(&client, "web", "frontend", &refs).await;
    let invalid = QueryError {
        kind: QueryErrorKind::Processing,
        message: "invalid query \"avg:requests{service:web\": unclosed '{'".into(),
    };
    let querier = FakeQuerier::new(&[
        (good, Answer::Value { value: 100.0, age_s: 2 }),
        (other, Answer::Value { value: 0.25, age_s: 2 }),
        (garbage, Answer::Fail(invalid)),
    ]);
    let replica = replica(&client, "dca-a", &[], querier.clone());
    let provider = replica.running.provider.clone();
    for (metric, expected) in
        [("datadogmetric@web:good-1", "100"), ("datadogmetric@web:good-2", "100"), ("datadogmetric@web:other", "250m")]
    {
        let provider = provider.clone();
        let served = eventually(metric, LIMIT, || {
            let provider = provider.clone();
            async move { value(&provider, "web", metric, "").await }
        })
        .await;
        assert_eq!(served, expected, "{metric}");
    }
    let garbage_status = eventually("the garbage query's error", LIMIT, || async {
        let status = status_of(&client, "web", "garbage").await?;
        (condition(&status, "Error")["status"] == "True").then_some(status)
    })
    .await;
    assert_eq!(
        condition(&garbage_status, "Error")["message"],
        "Processing data from API failed, reason: invalid query \"avg:requests{service:web\": unclosed '{', query was: avg:requests{service:web"
    );
    assert_eq!(condition(&garbage_status, "Error")["reason"], "Unable to fetch data from Datadog");
    assert_eq!(condition(&garbage_status, "Valid")["status"], "False");
    let age_status = eventually("the bad maxAge error", LIMIT, || async {
        let status = status_of(&client, "web", "bad-age").await?;
        (condition(&status, "Error")["status"] == "True").then_some(status)
    })
    .await;
    assert_eq!(condition(&age_status, "Error")["message"], "Invalid spec.maxAge: invalid duration \"two minutes\"");
    let everything = LabelSelector::everything();
    let read = provider.get("web", "datadogmetric@web:bad-age", &everything).unwrap_err();
    assert_eq!(read, ProviderError::Unavailable("Invalid spec.maxAge: invalid duration \"two minutes\"".into()));
    // One call per refresh; the two identical (query, window) pairs were sent once.
    let batches = querier.batches.lock().clone();
    let last = batches.last().expect("a batch");
    assert_eq!(last.len(), 3, "{last:?}");
    assert_eq!(last.iter().filter(|s| s.query == good).count(), 1);
    let window_of = |q: &str| last.iter().find(|s| s.query == q).map(|s| s.window);
    assert_eq!(window_of(good), Some(Duration::from_secs(300)));
    assert_eq!(window_of(other), Some(Duration::from_secs(600)));
    replica.shutdown().await;
    dc.shutdown().await;
}
