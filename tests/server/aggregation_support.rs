//! Helpers of the aggregation-layer tests: devcluster with a fast availability resync, our server
//! started with its ServiceAccount's credentials and deploy/ RBAC, APIService registration through an
//! ExternalName Service `localhost`, and clients for devcluster (reqwest, kubectl).

use std::sync::Arc;
use std::time::{Duration, Instant};

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::server::{
    ExternalMetricValue, MetricsProvider, ProviderError, RunningServer, ServeConfig, start,
};
use base64::Engine;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use parking_lot::Mutex;
use serde_json::{Value, json};

pub const METRIC: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps";
pub const APISERVICE: &str = "v1beta1.external.metrics.k8s.io";

/// Records every call: (namespace, metric, selector).
#[derive(Default)]
pub struct RecordingProvider {
    pub calls: Mutex<Vec<(String, String, String)>>,
}

impl MetricsProvider for RecordingProvider {
    fn get(&self, ns: &str, metric: &str, s: &LabelSelector) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        self.calls.lock().push((ns.into(), metric.into(), s.to_string()));
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            metric_labels: None,
            timestamp: "2026-11-23T10:00:00Z".into(),
            window: None,
            value: "42".into(),
        }])
    }
}

pub async fn devcluster() -> (DevCluster, kube::Client) {
    let config = Config { apiservice_resync: Duration::from_millis(500), ..Config::default() };
    let dc = DevCluster::start(config).await.unwrap();
    let admin = dc.client().await.unwrap();
    (dc, admin)
}

/// Creates any object of the kinds these tests use.
pub async fn create(client: &kube::Client, obj: Value) -> Result<(), kube::Error> {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "Endpoints" => "endpoints".to_string(),
        "APIService" => "apiservices".to_string(),
        k => format!("{}s", k.to_lowercase()),
    };
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.create(&PostParams::default(), &serde_json::from_value(obj).unwrap()).await.map(|_| ())
}

pub fn apiservices(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService");
    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "apiservices"))
}

/// Our server started as ServiceAccount datadog/autoscaling-apiserver bound per deploy/.
pub async fn our_server(dc: &DevCluster, admin: &kube::Client) -> (RunningServer, Arc<RecordingProvider>) {
    create(admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datadog"}})).await.unwrap();
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/10-serviceaccount.yaml");
    let rbac = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/22-rbac-delegated-auth.yaml");
    for file in [manifest, rbac] {
        let text = std::fs::read_to_string(file).unwrap();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            create(admin, doc).await.unwrap();
        }
    }
    let token = dc.service_account_token("datadog", "autoscaling-apiserver", &[]).unwrap();
    let client = dc.client_with_token(&token).await.unwrap();
    let provider = Arc::new(RecordingProvider::default());
    let config = ServeConfig::loopback("autoscaling-apiserver", "datadog");
    let server = start(config, client, provider.clone()).await.unwrap();
    (server, provider)
}

/// ExternalName Service `localhost` (what works on a real cluster) and the APIService with `caBundle`.
pub async fn register(admin: &kube::Client, group: &str, version: &str, svc: (&str, &str), port: u16, ca_pem: &str) {
    let (ns, name) = svc;
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "ExternalName", "externalName": "localhost"}});
    create(admin, service).await.unwrap();
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let apiservice = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": format!("{version}.{group}")},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": 100, "versionPriority": 100,
                 "service": {"namespace": ns, "name": name, "port": port}, "caBundle": bundle}});
    create(admin, apiservice).await.unwrap();
}

/// Waits (60 s at most) for the APIService's Available condition to have `status`; returns it.
pub async fn wait_available(admin: &kube::Client, name: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Ok(obj) = apiservices(admin).get(name).await {
            let conditions = obj.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
            last = conditions.into_iter().find(|c| c["type"] == "Available").unwrap_or(Value::Null);
            if last["status"] == status {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("APIService {name} never became Available={status}; last condition: {last}");
}

pub async fn patch_apiservice(admin: &kube::Client, name: &str, patch: Value) {
    apiservices(admin).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

/// A response as a client sees it.
pub struct Answer {
    pub code: u16,
    pub content_type: String,
    pub warnings: Vec<String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// GET `path` from devcluster with a bearer token and extra headers.
pub async fn get(dc: &DevCluster, token: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(dc.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap();
    let mut req = client.get(format!("{}{path}", dc.url())).bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.send().await.unwrap()).await
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let code = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let warnings = resp.headers().get_all("warning").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    Answer { code, content_type, warnings, text: resp.text().await.unwrap() }
}

/// A ServiceAccount in `default`, optionally allowed to read external metrics (deploy/23's rules).
pub async fn service_account(dc: &DevCluster, admin: &kube::Client, name: &str, metrics_reader: bool) -> String {
    create(
        admin,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}}),
    )
    .await
    .unwrap();
    if metrics_reader {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": format!("{name}-metrics")},
            "rules": [{"apiGroups": ["external.metrics.k8s.io", "recorder.example.com"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]});
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("{name}-metrics")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{name}-metrics")},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]});
        create(admin, role).await.unwrap();
        create(admin, binding).await.unwrap();
    }
    dc.service_account_token("default", name, &[]).unwrap()
}

/// `kubectl get --raw` against devcluster with a token.
pub async fn kubectl_raw(dc: &DevCluster, token: &str, path: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), dc.ca_pem()).unwrap();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dc\n  cluster:\n    server: {url}\n    certificate-authority: {d}/ca.crt\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: c\n  context: {{cluster: dc, user: u}}\ncurrent-context: c\n",
        url = dc.url(),
        d = dir.path().display()
    );
    let config = dir.path().join("kubeconfig");
    std::fs::write(&config, kubeconfig).unwrap();
    let mut cmd = std::process::Command::new("kubectl");
    cmd.env("KUBECONFIG", &config).env("HOME", dir.path()).args(["get", "--raw", path, "--request-timeout=20s"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("kubectl runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
