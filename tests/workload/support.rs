//! Helpers: devcluster with the deploy/ CRDs, a kube client that records every request it sends,
//! object creation from JSON, our server serving one admission webhook and its registration in
//! devcluster, and polling with a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::CertSource;
use autoscaling_apiserver::server::{
    AdmissionWebhook, ProviderNotBuilt, RunningServer, ServeConfig, Webhooks, start_with_webhooks,
};
use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::status::{self, StatusDocument};
use base64::Engine;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// Every request a client sent, as `METHOD path?query`.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

impl RequestLog {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().clone()
    }

    /// Requests whose path (before `?`) ends with `/<resource>` or contains `/<resource>/`.
    pub fn for_resource(&self, resource: &str) -> Vec<String> {
        let (tail, mid) = (format!("/{resource}"), format!("/{resource}/"));
        self.all()
            .into_iter()
            .filter(|r| {
                let path = r.split('?').next().unwrap_or_default();
                path.ends_with(&tail) || path.contains(&mid)
            })
            .collect()
    }
}

/// A client for devcluster (as admin) that records its requests.
pub async fn recording_client(dc: &DevCluster) -> (kube::Client, RequestLog) {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&dc.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let log = RequestLog::default();
    let recorder = log.clone();
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        let uri = req.uri();
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or(uri.path());
        recorder.0.lock().push(format!("{} {target}", req.method()));
        req
    });
    let client = kube::client::ClientBuilder::try_from(config).unwrap().with_layer(&layer).build();
    (client, log)
}

/// devcluster with the DPA and cluster-profile CRDs of deploy/ established.
pub async fn cluster() -> (DevCluster, kube::Client) {
    cluster_with(Default::default()).await
}

/// [`cluster`] with its own settings.
pub async fn cluster_with(config: autoscaling_apiserver::devcluster::Config) -> (DevCluster, kube::Client) {
    let dc = DevCluster::start(config).await.unwrap();
    let admin = dc.client().await.unwrap();
    for file in ["01-crd-datadogpodautoscalers.yaml", "01-crd-datadogpodautoscalerclusterprofiles.yaml"] {
        let path = format!("{}/deploy/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap().into_iter().filter(|d| !d.is_null()) {
            create(&admin, doc).await;
        }
    }
    for plural in ["datadogpodautoscalers", "datadogpodautoscalerclusterprofiles"] {
        let rt = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("datadoghq.com", "v1alpha2", "X"), plural);
        let api: Api<DynamicObject> = Api::all_with(admin.clone(), &rt);
        eventually(&format!("{plural} served"), || {
            let api = api.clone();
            async move { api.list(&Default::default()).await.is_ok() }
        })
        .await;
    }
    (dc, admin)
}

pub fn resource_of(obj: &Value) -> ApiResource {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "DatadogPodAutoscaler" => "datadogpodautoscalers".to_string(),
        "DatadogPodAutoscalerClusterProfile" => "datadogpodautoscalerclusterprofiles".to_string(),
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        "MutatingWebhookConfiguration" => "mutatingwebhookconfigurations".to_string(),
        k => format!("{}s", k.to_lowercase()),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

pub fn api_for(client: &kube::Client, obj: &Value) -> Api<DynamicObject> {
    let rt = resource_of(obj);
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &rt),
        None => Api::all_with(client.clone(), &rt),
    }
}

pub async fn create(client: &kube::Client, obj: Value) -> DynamicObject {
    let name = format!("{} {}", obj["kind"], obj["metadata"]["name"]);
    let typed: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    api_for(client, &obj).create(&PostParams::default(), &typed).await.unwrap_or_else(|e| panic!("create {name}: {e}"))
}

pub fn deployment(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}})
}

pub fn dpa(name: &str, target: &str) -> Value {
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]}})
}

/// Our server on 127.0.0.1 (certificate for the `autoscaling-apiserver.datadog` Service) serving
/// `webhook` at `path`.
pub async fn webhook_server(admin: &kube::Client, path: &str, webhook: Arc<dyn AdmissionWebhook>) -> RunningServer {
    let config = ServeConfig {
        secure_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(1),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    };
    let webhooks = Webhooks::default().with(path, webhook);
    start_with_webhooks(config, admin.clone(), Arc::new(ProviderNotBuilt), webhooks).await.unwrap()
}

/// Registers `server` in devcluster: namespace `datadog`, an ExternalName `localhost` Service to its
/// port, and the MutatingWebhookConfiguration `configuration` holding `webhook` (everything but its
/// `clientConfig`, which points at `path` with the server's caBundle).
pub async fn register_webhook(
    admin: &kube::Client,
    server: &RunningServer,
    configuration: &str,
    path: &str,
    mut webhook: Value,
) {
    let port = server.secure_addr.port();
    create(admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datadog"}})).await;
    create(
        admin,
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "autoscaling-apiserver", "namespace": "datadog"},
        "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port, "name": "https"}]}}),
    )
    .await;
    let ca = base64::engine::general_purpose::STANDARD.encode(server.ca_pem.as_deref().unwrap());
    webhook["clientConfig"] = json!({"service": {"namespace": "datadog", "name": "autoscaling-apiserver",
        "path": path, "port": port}, "caBundle": ca});
    create(
        admin,
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": configuration}, "webhooks": [webhook]}),
    )
    .await;
}

/// The server's namespace in the `serve` tests.
pub const NS: &str = "datadog";

/// devcluster with the DPA, profile and DatadogMetric CRDs and the server's namespace.
pub async fn serve_cluster() -> (DevCluster, kube::Client) {
    let (dc, admin) = cluster().await;
    let path = format!("{}/deploy/01-crd-datadogmetrics.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap().into_iter().filter(|d| !d.is_null()) {
        create(&admin, doc).await;
    }
    create(&admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})).await;
    (dc, admin)
}

/// Settings of `serve` for the tests (keys, cluster name, a lease in [`NS`], no Datadog call),
/// with `extra` environment variables on top.
pub fn serve_settings(extra: &[(&str, &str)]) -> autoscaling_apiserver::config::Settings {
    let base = [
        ("DD_API_KEY", "test-api-key"),
        ("DD_APP_KEY", "test-app-key"),
        ("DD_CLUSTER_NAME", "test"),
        ("DD_POD_NAME", "serve-test"),
        ("DD_KUBE_RESOURCES_NAMESPACE", NS),
        ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "lease"),
        // No DatadogMetric exists: the provider never calls it.
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "http://127.0.0.1:9"),
    ];
    let env: Vec<(String, String)> =
        base.iter().chain(extra).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let (settings, problems) = autoscaling_apiserver::config::load(None, env, &[]).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    settings
}

/// The server's Service in the `serve` tests, and its DNS name (the certificate's).
pub const SERVICE: &str = "autoscaling-apiserver";
pub const HOST: &str = "autoscaling-apiserver.datadog.svc";

/// HTTPS to the server under its Service name (the certificate's), connecting to 127.0.0.1.
pub fn https(stack: &Stack) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(stack.server.ca_pem.as_deref().unwrap().as_bytes()).unwrap();
    let addr: SocketAddr = stack.server.secure_addr;
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .resolve(HOST, addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn url(stack: &Stack, path: &str) -> String {
    format!("https://{HOST}:{}{path}", stack.server.secure_addr.port())
}

/// The server's `/status` document (its metrics port).
pub async fn status_of(stack: &Stack) -> StatusDocument {
    let url = format!("http://{}/status", stack.server.metrics_addr);
    status::fetch(&url, Duration::from_secs(10)).await.unwrap()
}

/// Pods of `default` whose `app` label is `app`.
pub async fn pods_of(client: &kube::Client, app: &str) -> Vec<k8s_openapi::api::core::v1::Pod> {
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let lp = kube::api::ListParams::default().labels(&format!("app={app}"));
    api.list(&lp).await.map(|l| l.items).unwrap_or_default()
}

/// Polls `check` every 50 ms for up to 60 s; panics naming `what` when it never holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
