//! Helpers: devcluster with the deploy/ CRDs, a kube client that records every request it sends,
//! object creation from JSON, and polling with a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use autoscaling_apiserver::devcluster::DevCluster;
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
