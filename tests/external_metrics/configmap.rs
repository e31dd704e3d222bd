//! The legacy ConfigMap provider end to end against devcluster with a fake querier: an HPA on a
//! plain Datadog metric gets its `datadog-custom-metrics` entry in the DCA's format, the leader
//! refreshes values into the ConfigMap, a follower serves them from its copy, one invalid query
//! marks only its entry invalid, deleting the HPA GCs its entries, a corrupt item is skipped, and
//! through the real API server a read answers the value, 404 or 500 with the text.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::RequestFault;
use autoscaling_apiserver::external_metrics::configmap::{
    self, ConfigMapProvider, Entry, Parsed, RunningConfigMapProvider,
};
use autoscaling_apiserver::external_metrics::datadogmetric::{QueryError, QueryErrorKind};
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::CertSource;
use autoscaling_apiserver::server::{MetricsProvider, ProviderError, ServeConfig};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::support::{Answer, FakeQuerier, RESOURCES_NS, cluster, create_hpa, create_namespace, eventually, settings};

const LIMIT: Duration = Duration::from_secs(60);
const CONFIGMAP: &str = "datadog-custom-metrics";
const RPS_QUERY: &str = "avg:nginx.net.request_per_s{app:web}.rollup(30)";
const BAD_QUERY: &str = "avg:bad.metric{*}.rollup(30)";
const RPS_KEY: &str = "external_metric-horizontal-web-frontend-nginx.net.request_per_s";
const BAD_KEY: &str = "external_metric-horizontal-web-frontend-bad.metric";

/// Fast loops: 300 ms refreshes (from `settings`), batches and GC.
const FAST: [(&str, &str); 2] =
    [("DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW", "0.3"), ("DD_HPA_WATCHER_GC_PERIOD", "0.5")];

struct Replica {
    running: RunningConfigMapProvider,
    stop: watch::Sender<bool>,
}

fn replica(client: &kube::Client, pod: &str, querier: Arc<FakeQuerier>) -> Replica {
    let (stop, stopped) = watch::channel(false);
    let running = configmap::start(client.clone(), &settings(pod, &FAST), querier, stopped);
    Replica { running, stop }
}

impl Replica {
    async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.running.task.await;
    }
}

fn answers() -> Arc<FakeQuerier> {
    let invalid = QueryError { kind: QueryErrorKind::Processing, message: "invalid query".into() };
    FakeQuerier::new(&[(RPS_QUERY, Answer::Value { value: 12.5, age_s: 5 }), (BAD_QUERY, Answer::Fail(invalid))])
}

async fn frontend_hpa(client: &kube::Client) {
    let metrics = [("nginx.net.request_per_s", Some(json!({"app": "web"}))), ("bad.metric", None)];
    create_hpa(client, "web", "frontend", &metrics).await;
}

async fn configmap_data(client: &kube::Client) -> Option<BTreeMap<String, String>> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).get_opt(CONFIGMAP).await.ok()??;
    Some(cm.data.unwrap_or_default())
}

async fn stored_entry(client: &kube::Client, key: &str) -> Option<Entry> {
    let data = configmap_data(client).await?;
    match configmap::parse(key, data.get(key)?) {
        Some(Parsed::Current(entry)) => Some(entry),
        other => panic!("{key} does not hold an entry: {other:?}"),
    }
}

fn read(provider: &ConfigMapProvider, metric: &str, selector: &str) -> Result<Vec<String>, ProviderError> {
    let selector = LabelSelector::parse(selector).expect("selector");
    Ok(provider.get("web", metric, &selector)?.into_iter().map(|v| v.value).collect())
}

#[tokio::test]
async fn leader_refreshes_the_configmap_follower_serves_it_and_deleting_the_hpa_gcs_it() {
    let (dc, client) = cluster().await;
    create_namespace(&client, RESOURCES_NS).await;
    create_namespace(&client, "web").await;
    let (qa, qb) = (answers(), answers());
    let a = replica(&client, "dca-a", qa.clone());
    let b = replica(&client, "dca-b", qb.clone());
    let a_leads = eventually("a leader", LIMIT, || {
        let (leads, other) = (a.running.leader.is_leader_now(), b.running.leader.is_leader_now());
        async move { (leads != other).then_some(leads) }
    })
    .await;
    let (leader, follower, leader_querier, follower_querier) =
        if a_leads { (&a, &b, &qa, &qb) } else { (&b, &a, &qb, &qa) };
    frontend_hpa(&client).await;
    let hpa = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), "web").get("frontend").await.expect("hpa");
    let uid = hpa.metadata.uid.clone().expect("uid");

    let entry = eventually("the leader's refreshed entry", LIMIT, || async {
        stored_entry(&client, RPS_KEY).await.filter(|e| e.valid)
    })
    .await;
    assert_eq!((entry.metric_name.as_str(), entry.value), ("nginx.net.request_per_s", 12.5));
    assert_eq!(entry.labels, Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])));
    let point_time = leader_querier.points.lock().iter().find(|(q, _)| q == RPS_QUERY).map(|(_, ts)| *ts);
    assert!(entry.timestamp >= point_time.expect("a point was served"), "ts is the point's time");
    let reference = &entry.reference;
    assert_eq!(
        (reference.kind.as_str(), reference.namespace.as_str(), reference.name.as_str()),
        ("horizontal", "web", "frontend")
    );
    assert_eq!(reference.uid, uid);
    // The raw item is exactly what a DCA writes.
    let data = configmap_data(&client).await.expect("configmap");
    let raw: Value = serde_json::from_str(&data[RPS_KEY]).expect("json");
    let fields: Vec<&str> = raw.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(fields, ["metricName", "labels", "ts", "reference", "value", "valid"]);
    assert_eq!(raw["value"], json!(12.5));
    // One invalid query: only its entry is invalid.
    let bad = eventually("the invalid entry", LIMIT, || async { stored_entry(&client, BAD_KEY).await }).await;
    assert_eq!((bad.valid, bad.value, bad.labels), (false, 0.0, None));
    assert!(stored_entry(&client, RPS_KEY).await.expect("rps").valid);
    let cm = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).get(CONFIGMAP).await.expect("cm");
    let annotations = cm.metadata.annotations.unwrap_or_default();
    assert!(annotations.contains_key(configmap::LAST_UPDATED_ANNOTATION), "{annotations:?}");

    let provider = follower.running.provider.clone();
    let served = eventually("the follower's value", LIMIT, || {
        let provider = provider.clone();
        async move { read(&provider, "Nginx.Net.Request_Per_S", "app=web").ok() }
    })
    .await;
    assert_eq!(served, ["12500m"]);
    assert_eq!(read(&leader.running.provider, "nginx.net.request_per_s", "app=web").ok(), Some(vec!["12500m".into()]));
    let Err(ProviderError::Unavailable(text)) = read(&provider, "bad.metric", "") else {
        panic!("invalid entry served")
    };
    assert!(text.contains("is not valid: the Datadog query avg:bad.metric{*}.rollup(30) failed"), "{text}");
    assert!(matches!(read(&provider, "nginx.net.request_per_s", "app=api"), Err(ProviderError::NotFound(_))));
    assert_eq!(follower.running.leader.holder().as_deref(), Some(leader.running.leader.identity()));
    assert_eq!(follower_querier.calls(), 0, "only the leader queries Datadog");
    let batches = leader_querier.batches.lock().clone();
    assert!(batches.iter().all(|batch| batch.len() <= 2), "one spec per distinct query: {batches:?}");
    let (name, ready) = follower.running.provider.ready_check();
    assert_eq!((name, ready()), ("external metrics configmap synced", Ok(())));

    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), "web")
        .delete("frontend", &DeleteParams::default())
        .await
        .expect("delete hpa");
    eventually("the deleted HPA's entries GC'd", LIMIT, || async {
        let data = configmap_data(&client).await?;
        (!data.contains_key(RPS_KEY) && !data.contains_key(BAD_KEY)).then_some(())
    })
    .await;
    eventually("the follower no longer serving it", LIMIT, || {
        let provider = provider.clone();
        async move {
            matches!(read(&provider, "nginx.net.request_per_s", "app=web"), Err(ProviderError::NotFound(_)))
                .then_some(())
        }
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
    dc.shutdown().await;
}

/// The front-proxy client (devcluster's aggregator identity) towards our server, as system:masters.
fn as_aggregator(
    dc: &autoscaling_apiserver::devcluster::DevCluster,
    server: &autoscaling_apiserver::server::RunningServer,
) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_deref().expect("self-signed CA").as_bytes()).expect("ca");
    reqwest::Client::builder()
        .identity(reqwest::Identity::from_pem(dc.front_proxy_identity_pem().as_bytes()).expect("identity"))
        .add_root_certificate(ca)
        .resolve("autoscaling-apiserver.datadog.svc", server.secure_addr)
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .expect("client")
}

async fn get_metric(http: &reqwest::Client, port: u16, metric: &str, selector: &str) -> (u16, Value) {
    let url = format!(
        "https://autoscaling-apiserver.datadog.svc:{port}/apis/external.metrics.k8s.io/v1beta1/namespaces/web/{metric}?labelSelector={}",
        form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
    );
    let response = http
        .get(url)
        .header("X-Remote-User", "system:kube-controller-manager")
        .header("X-Remote-Group", "system:masters")
        .send()
        .await
        .expect("request");
    let code = response.status().as_u16();
    (code, response.json().await.expect("json body"))
}

#[tokio::test]
async fn the_api_server_serves_configmap_values_and_the_dca_errors() {
    let (dc, client) = cluster().await;
    create_namespace(&client, RESOURCES_NS).await;
    create_namespace(&client, "web").await;
    // A ConfigMap left by a DCA, with an item nobody can decode and one that is not ours.
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": CONFIGMAP, "namespace": RESOURCES_NS},
        "data": {"external_metric-horizontal-web-old-broken.metric": "{\"metricName\":", "notes": "kept"}
    }))
    .expect("configmap");
    Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).create(&PostParams::default(), &cm).await.expect("cm");
    let querier = answers();
    let replica = replica(&client, "dca-a", querier.clone());
    frontend_hpa(&client).await;
    let config = ServeConfig {
        secure_addr: "127.0.0.1:0".parse().expect("addr"),
        metrics_addr: "127.0.0.1:0".parse().expect("addr"),
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(1),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    };
    let provider: Arc<dyn MetricsProvider> = replica.running.provider.clone();
    let server = autoscaling_apiserver::server::start(config, client.clone(), provider).await.expect("server");
    let port = server.secure_addr.port();
    // Client certificates are checked at the handshake: connect once the trusted CAs are loaded.
    let probe = as_aggregator(&dc, &server);
    eventually("the server ready", LIMIT, || async {
        let url = format!("https://autoscaling-apiserver.datadog.svc:{port}/readyz");
        probe.get(url).send().await.ok().filter(|r| r.status() == 200)
    })
    .await;
    let http = as_aggregator(&dc, &server);

    let (code, body) = eventually("the value through the API server", LIMIT, || async {
        let (code, body) = get_metric(&http, port, "nginx.net.request_per_s", "app=web").await;
        (code == 200).then_some((code, body))
    })
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["kind"], "ExternalMetricValueList");
    let item = &body["items"][0];
    assert_eq!(
        (&item["metricName"], &item["metricLabels"], &item["value"]),
        (&json!("nginx.net.request_per_s"), &json!({"app": "web"}), &json!("12500m"))
    );
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));

    let (code, body) = get_metric(&http, port, "nginx.net.request_per_s", "app=api").await;
    assert_eq!((code, &body["reason"]), (404, &json!("NotFound")), "{body}");
    assert!(body["message"].as_str().expect("message").starts_with("no external metric nginx.net.request_per_s with labels matching \"app=api\" in ConfigMap datadog/datadog-custom-metrics"), "{body}");

    let (code, body) = eventually("the invalid entry's 500", LIMIT, || async {
        let (code, body) = get_metric(&http, port, "bad.metric", "").await;
        (code == 500).then_some((code, body))
    })
    .await;
    assert_eq!((code, &body["reason"]), (500, &json!("InternalError")));
    let message = body["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "Internal error occurred: external metric bad.metric (for horizontal web/frontend) is not valid"
        ),
        "{message}"
    );

    // The corrupt item is skipped by reads and then garbage-collected; foreign keys stay.
    eventually("the corrupt item GC'd", LIMIT, || async {
        let data = configmap_data(&client).await?;
        (!data.contains_key("external_metric-horizontal-web-old-broken.metric")).then_some(())
    })
    .await;
    let data = configmap_data(&client).await.expect("configmap");
    assert_eq!(data.get("notes").map(String::as_str), Some("kept"));
    // Another writer's key survives the leader's next update.
    let patch = json!({"data": {"other-writer": "its own data"}});
    let patched = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS)
        .patch(CONFIGMAP, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    let patched_version = patched.metadata.resource_version.clone();
    let data = eventually("a leader update after the patch", LIMIT, || async {
        let cm = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).get(CONFIGMAP).await.ok()?;
        (cm.metadata.resource_version != patched_version).then(|| cm.data.unwrap_or_default())
    })
    .await;
    assert_eq!(data.get("other-writer").map(String::as_str), Some("its own data"));
    assert!(data.contains_key(RPS_KEY));
    // A conflicting update (409) is retried from a fresh read: the values keep being written.
    let before = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).get(CONFIGMAP).await.expect("cm");
    dc.faults().add(RequestFault {
        path_contains: format!("/namespaces/{RESOURCES_NS}/configmaps/{CONFIGMAP}"),
        status: Some(409),
        delay: Duration::ZERO,
        remaining: Some(1),
    });
    // Polled by list, so the one injected conflict can only meet the leader's update.
    let by_name = kube::api::ListParams::default().fields(&format!("metadata.name={CONFIGMAP}"));
    let cm = eventually("a leader update after a conflict", LIMIT, || async {
        let list = Api::<ConfigMap>::namespaced(client.clone(), RESOURCES_NS).list(&by_name).await.ok()?;
        list.items.into_iter().find(|cm| cm.metadata.resource_version != before.metadata.resource_version)
    })
    .await;
    let data = cm.data.unwrap_or_default();
    let Some(Parsed::Current(rps)) = configmap::parse(RPS_KEY, &data[RPS_KEY]) else { panic!("rps entry") };
    assert!(rps.valid);
    server.shutdown().await;
    replica.shutdown().await;
    dc.shutdown().await;
}
