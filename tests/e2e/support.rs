//! The harness: a dev stack with short periods and a constant demo series, the demo
//! DatadogMetric switched to a 1 s rollup, reads through devcluster's aggregation layer, a second
//! replica, the `/status` document, and polling with deadlines.

use std::future::Future;
use std::time::Duration;

use autoscaling_apiserver::dev::{self, DevOptions, DevStack};
use autoscaling_apiserver::devcluster::Config;
use autoscaling_apiserver::devcluster::datadog_api::{SeriesDef, Shape};
use autoscaling_apiserver::server::ServeConfig;
use autoscaling_apiserver::server::tls::CertSource;
use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::status::{self, MetricView, StatusDocument};
use base64::Engine;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

pub const METRIC_PATH: &str =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps?labelSelector=app%3Dweb";
pub const FAST_QUERY: &str = "avg:nginx.net.request_per_s{kube_deployment:web}.rollup(avg, 1)";
pub const REFRESH: Duration = Duration::from_millis(500);

/// The dev stack with `value` as the demo series and `overrides` (`DD_*`) on the dev settings.
pub async fn dev_stack(dir: &tempfile::TempDir, value: f64, overrides: &[(&str, &str)]) -> DevStack {
    let opts = DevOptions {
        kubeconfig_out: dir.path().join("dev.kubeconfig"),
        cluster: Config {
            apiservice_resync: Duration::from_millis(500),
            hpa_sync_period: Duration::from_secs(1),
            ..Config::default()
        },
        refresh_period: REFRESH,
        demo_shape: Shape::Constant { value },
        settings_overrides: overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..DevOptions::default()
    };
    let stack = DevStack::start(&opts).await.expect("dev stack starts");
    // The example's 30 s rollup lags up to a minute; a 1 s rollup follows the series closely.
    let admin = stack.cluster.client().await.expect("admin client");
    let patch = json!({"spec": {"query": FAST_QUERY}});
    datadogmetrics(&admin)
        .patch("web-rps", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("query patched");
    stack
}

pub fn datadogmetrics(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("datadoghq.com", "v1alpha1", "DatadogMetric");
    Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk_with_plural(&gvk, "datadogmetrics"))
}

/// Both simulated endpoints serve `value` from now on.
pub fn set_value(stack: &DevStack, value: f64) {
    let series =
        vec![SeriesDef::new(dev::datadog::DEMO_METRIC, Shape::Constant { value }).with_tags(&[dev::datadog::DEMO_TAG])];
    stack.datadog.primary.set_series(series.clone());
    stack.datadog.failover.set_series(series);
}

/// An external-metric GET through devcluster (aggregation layer → APIService → our server), as
/// the HPA controller makes it: (status code, body).
pub async fn read_through_cluster(stack: &DevStack) -> (u16, Value) {
    read_path(stack, METRIC_PATH).await
}

/// A GET of `path` through devcluster as the admin: (status code, body).
pub async fn read_path(stack: &DevStack, path: &str) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(stack.cluster.ca_pem().as_bytes()).expect("ca");
    let client =
        reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(10)).build().expect("client");
    let url = format!("{}{path}", stack.cluster.url());
    match client.get(url).bearer_auth(stack.cluster.admin_token()).send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        }
        Err(e) => (0, Value::String(format!("request failed: {e}"))),
    }
}

/// The value of a successful read, parsed from its quantity.
pub fn value_of(body: &Value) -> Option<f64> {
    let quantity = body["items"][0]["value"].as_str()?;
    match quantity.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|v| v / 1000.0),
        None => quantity.parse().ok(),
    }
}

pub async fn status_of(stack: &Stack) -> StatusDocument {
    let url = format!("http://{}/status", stack.server.metrics_addr);
    status::fetch(&url, Duration::from_secs(10)).await.expect("status document")
}

pub fn web_rps(doc: &StatusDocument) -> Option<&MetricView> {
    doc.datadog_metrics.iter().find(|m| m.id == "default/web-rps")
}

/// Waits until `stack` shows web-rps valid at `value`.
pub async fn wait_value(stack: &Stack, value: f64, limit: Duration) -> MetricView {
    eventually(&format!("web-rps valid at {value}"), limit, || async {
        let doc = status_of(stack).await;
        web_rps(&doc).filter(|m| m.valid && m.value == Some(value) && m.query == FAST_QUERY).cloned()
    })
    .await
}

/// A second replica of the server (pod `pod`), same settings as the dev one but `overrides`.
pub async fn replica(stack: &DevStack, pod: &str, overrides: &[(&str, &str)]) -> Stack {
    let mut all: Vec<(String, String)> = vec![("DD_POD_NAME".into(), pod.into())];
    all.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = stack.datadog.settings(dev::NAMESPACE, REFRESH, &all).expect("replica settings");
    let token = stack.cluster.service_account_token(dev::NAMESPACE, dev::SERVICE_ACCOUNT, &[]).expect("token");
    let client = stack.cluster.client_with_token(&token).await.expect("client");
    let serve = ServeConfig {
        secure_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        certs: CertSource::SelfSigned { service: dev::SERVICE_ACCOUNT.into(), namespace: dev::NAMESPACE.into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(10),
        authn: Default::default(),
        authz: Default::default(),
    };
    Stack::start(&settings, client, serve).await.expect("replica starts")
}

/// Points the APIService (and the Service port it uses) at `server`, then waits until reads
/// through devcluster reach it.
pub async fn route_to(stack: &DevStack, server: &Stack) {
    let admin = stack.cluster.client().await.expect("admin");
    let ca = server.server.ca_pem.as_deref().expect("self-signed CA");
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    let port = server.server.secure_addr.port();
    let gvk = GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService");
    let apiservices: Api<DynamicObject> = Api::all_with(admin, &ApiResource::from_gvk_with_plural(&gvk, "apiservices"));
    let patch = json!({"spec": {"caBundle": bundle, "service": {"port": port}}});
    apiservices
        .patch("v1beta1.external.metrics.k8s.io", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("APIService patched");
    let before = served_reads(server);
    eventually("reads through devcluster to reach the new backend", Duration::from_secs(60), || async {
        let (code, _) = read_through_cluster(stack).await;
        (code == 200 && served_reads(server) > before).then_some(())
    })
    .await;
}

/// External-metric reads `server` answered, from its own request counter.
pub fn served_reads(server: &Stack) -> u64 {
    let text = server.server.telemetry.encode();
    text.lines()
        .filter(|l| l.starts_with("autoscaling_apiserver_http_requests_total{") && l.contains("route=\"metric\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
