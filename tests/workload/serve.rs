//! Workload autoscaling as `serve` runs it (`Stack::start` from settings): disabled, nothing of it
//! watches anything and both webhook paths answer "allowed, no patch"; enabled with no DPA, only
//! DPAs and cluster profiles are watched and readiness does not wait for one; the first DPA opens
//! the gate and starts the pod index. Then the shipped MutatingWebhookConfiguration
//! (`apiservice/`) in devcluster's admission: pods of a DPA target are patched, kube-system, the
//! server's namespace and ownerless pods are never sent (counted at the server), and with the
//! server stopped pods still start (`failurePolicy: Ignore`).

use std::net::SocketAddr;
use std::time::Duration;

use autoscaling_apiserver::config::Settings;
use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::server::ServeConfig;
use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::status::{self, StatusDocument};
use autoscaling_apiserver::workload::crd::ContainerResources;
use autoscaling_apiserver::workload::{DpaKey, ValueSource, VerticalValues};
use base64::Engine;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::support::{RequestLog, api_for, cluster, create, deployment, dpa, eventually, pods_of, recording_client};

const NS: &str = "datadog";
const SERVICE: &str = "autoscaling-apiserver";
const HOST: &str = "autoscaling-apiserver.datadog.svc";

/// devcluster with the DPA, profile and DatadogMetric CRDs and the server's namespace.
async fn serve_cluster() -> (DevCluster, kube::Client) {
    let (dc, admin) = cluster().await;
    let path = format!("{}/deploy/01-crd-datadogmetrics.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap().into_iter().filter(|d| !d.is_null()) {
        create(&admin, doc).await;
    }
    create(&admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})).await;
    (dc, admin)
}

fn settings(autoscaling: bool) -> Settings {
    let env = [
        ("DD_API_KEY", "test-api-key"),
        ("DD_APP_KEY", "test-app-key"),
        ("DD_CLUSTER_NAME", "test"),
        ("DD_POD_NAME", "serve-test"),
        ("DD_KUBE_RESOURCES_NAMESPACE", NS),
        ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "lease"),
        // No DatadogMetric exists: the provider never calls it.
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "http://127.0.0.1:9"),
        ("DD_AUTOSCALING_WORKLOAD_ENABLED", if autoscaling { "true" } else { "false" }),
    ];
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let (settings, problems) = autoscaling_apiserver::config::load(None, env, &[]).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    settings
}

/// The stack as `serve` starts it, its Kubernetes requests recorded.
async fn serve(dc: &DevCluster, autoscaling: bool) -> (Stack, RequestLog) {
    let (client, log) = recording_client(dc).await;
    let stack = Stack::start(&settings(autoscaling), client, ServeConfig::loopback(SERVICE, NS)).await.unwrap();
    (stack, log)
}

/// HTTPS to the server under its Service name (the certificate's), connecting to 127.0.0.1.
fn https(stack: &Stack) -> reqwest::Client {
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

fn url(stack: &Stack, path: &str) -> String {
    format!("https://{HOST}:{}{path}", stack.server.secure_addr.port())
}

async fn wait_ready(stack: &Stack) {
    let client = https(stack);
    eventually("/readyz OK", || {
        let request = client.get(url(stack, "/readyz"));
        async move { request.send().await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
}

async fn status_of(stack: &Stack) -> StatusDocument {
    let url = format!("http://{}/status", stack.server.metrics_addr);
    status::fetch(&url, Duration::from_secs(10)).await.unwrap()
}

/// A pod CREATE review for a pod of ReplicaSet `web-5d4f8` (Deployment `web`).
fn pod_review() -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "review-1", "namespace": "default", "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"metadata": {"generateName": "web-5d4f8-", "namespace": "default", "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8",
                "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "pause"}]}}}})
}

async fn post_review(stack: &Stack, path: &str, review: &Value) -> Value {
    let reply = https(stack).post(url(stack, path)).json(review).send().await.unwrap();
    assert_eq!(reply.status(), 200, "{path}");
    reply.json().await.unwrap()
}

/// AdmissionReviews the server answered, every code.
fn webhook_calls(stack: &Stack) -> u64 {
    let text = stack.server.telemetry.encode();
    text.lines()
        .filter(|l| l.starts_with("autoscaling_apiserver_http_requests_total{") && l.contains("route=\"webhook\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn vertical_status() -> Value {
    json!({"status": {"vertical": {"target": {"source": "Autoscaling", "version": "5d8c4f9b7",
        "podCPURequest": "300m", "podMemoryRequest": "256Mi",
        "desiredResources": [{"name": "app", "requests": {"cpu": "300m", "memory": "256Mi"}}]}}}})
}

/// Requests for pods and workloads, except the label-selected watches of profile-labelled
/// Deployments/StatefulSets (spec §10.13: a labelled workload is a source of the first DPA; the
/// label selector keeps every other workload out).
fn workload_requests(log: &RequestLog) -> Vec<String> {
    let resources = ["pods", "deployments", "replicasets", "statefulsets", "rollouts"];
    let by_profile_label = |r: &String| {
        (r.contains("/deployments?") || r.contains("/statefulsets?"))
            && r.contains("labelSelector=autoscaling.datadoghq.com%2Fprofile&")
    };
    resources.iter().flat_map(|r| log.for_resource(r)).filter(|r| !by_profile_label(r)).collect()
}

#[tokio::test]
async fn disabled_watches_nothing_of_it_and_answers_allowed_without_a_patch() {
    let (dc, admin) = serve_cluster().await;
    create(&admin, deployment("web", 1)).await;
    create(&admin, dpa("web", "web")).await;
    api_for(&admin, &dpa("web", "web"))
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&vertical_status()))
        .await
        .unwrap();
    let (stack, log) = serve(&dc, false).await;
    wait_ready(&stack).await;
    assert!(stack.workload.is_none());
    for path in ["/autoscaling", "/hpa-autoscaling"] {
        let reply = post_review(&stack, path, &pod_review()).await;
        assert_eq!(reply["response"], json!({"uid": "review-1", "allowed": true}), "{path}: {reply}");
    }
    // Time for a misbehaving stack to ask: nothing of workload autoscaling may be requested.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for resource in ["datadogpodautoscalers", "datadogpodautoscalerclusterprofiles"] {
        assert_eq!(log.for_resource(resource), Vec::<String>::new(), "{resource} requested while disabled");
    }
    assert_eq!(workload_requests(&log), Vec::<String>::new());
    let doc = status_of(&stack).await;
    assert!(!doc.workload.enabled, "{:?}", doc.workload);
    assert!(status::render(&doc).contains("Workload autoscaling: disabled"));
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn enabled_watches_only_dpas_and_profiles_until_the_first_dpa() {
    let (dc, admin) = serve_cluster().await;
    create(&admin, deployment("web", 2)).await;
    create(&admin, deployment("other", 1)).await;
    eventually("3 pods created", || {
        let admin = admin.clone();
        async move { pods_of(&admin, "web").await.len() + pods_of(&admin, "other").await.len() == 3 }
    })
    .await;
    let (stack, log) = serve(&dc, true).await;
    // Readiness never waits on the gate: ready with no DPA at all.
    wait_ready(&stack).await;
    let workload = stack.workload.as_ref().expect("the autoscaling stack runs");
    eventually("DPA list synced", || async { workload.dpas.synced() }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!workload.gate.is_open());
    assert!(!log.for_resource("datadogpodautoscalers").is_empty(), "{:?}", log.all());
    assert!(!log.for_resource("datadogpodautoscalerclusterprofiles").is_empty(), "{:?}", log.all());
    assert_eq!(workload_requests(&log), Vec::<String>::new(), "requested before any DPA");
    let doc = status_of(&stack).await;
    assert!(doc.workload.enabled && doc.workload.dpas_synced && !doc.workload.gate_open, "{:?}", doc.workload);
    assert_eq!((doc.workload.dpas, doc.workload.pods_indexed), (0, 0));
    // The gate closed: allowed, no patch.
    let reply = post_review(&stack, "/autoscaling", &pod_review()).await;
    assert_eq!(reply["response"], json!({"uid": "review-1", "allowed": true}));

    create(&admin, dpa("web", "web")).await;
    eventually("web's 2 pods indexed", || async {
        let doc = status_of(&stack).await;
        doc.workload.gate_open && doc.workload.targets == 1 && doc.workload.pods_indexed == 2
    })
    .await;
    let doc = status_of(&stack).await;
    assert_eq!(doc.workload.dpas, 1);
    assert_eq!(doc.workload.gate_reason.as_deref(), Some("DatadogPodAutoscaler default/web"));
    assert!(doc.workload.gate_opened_at.is_some());
    let pod_requests = log.for_resource("pods");
    assert!(!pod_requests.is_empty());
    for r in &pod_requests {
        assert!(r.contains("labelSelector=app%3Dweb"), "pod request without the target's selector: {r}");
    }
    let text = status::render(&doc);
    assert!(text.contains("Pods:    2 indexed for 1 target(s)"), "{text}");
    stack.shutdown().await;
    dc.shutdown().await;
}

/// The shipped MutatingWebhookConfiguration, its caBundle and port those of `stack`, behind an
/// ExternalName `localhost` Service (how `dev` registers a local backend).
async fn register_shipped_webhooks(admin: &kube::Client, stack: &Stack) {
    let port = stack.server.secure_addr.port();
    create(
        admin,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": NS},
            "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port, "name": "https"}]}}),
    )
    .await;
    let path = format!("{}/apiservice/mutatingwebhookconfiguration.yaml", env!("CARGO_MANIFEST_DIR"));
    let ca = base64::engine::general_purpose::STANDARD.encode(stack.server.ca_pem.as_deref().unwrap());
    let text = std::fs::read_to_string(&path).unwrap().replace("${CA_BUNDLE}", &ca);
    let mut config: Value = serde_saphyr::from_str(&text).unwrap();
    for hook in config["webhooks"].as_array_mut().unwrap() {
        assert_eq!(hook["clientConfig"]["service"]["name"], SERVICE);
        assert_eq!(hook["clientConfig"]["service"]["namespace"], NS);
        hook["clientConfig"]["service"]["port"] = json!(port);
    }
    create(admin, config).await;
}

fn bare_pod(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}})
}

fn in_namespace(mut obj: Value, namespace: &str) -> Value {
    obj["metadata"]["namespace"] = json!(namespace);
    obj
}

async fn pod_count(client: &kube::Client, namespace: &str, app: &str) -> usize {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let lp = kube::api::ListParams::default().labels(&format!("app={app}"));
    api.list(&lp).await.map(|l| l.items.len()).unwrap_or_default()
}

#[tokio::test]
async fn the_shipped_webhook_configuration_sends_only_owned_pods_outside_system_namespaces() {
    let (dc, admin) = serve_cluster().await;
    let (stack, _) = serve(&dc, true).await;
    wait_ready(&stack).await;
    register_shipped_webhooks(&admin, &stack).await;
    let calls = webhook_calls(&stack);

    // Not sent: an ownerless pod, and owned pods in kube-system and in the server's namespace.
    create(&admin, bare_pod("default", "bare")).await;
    create(&admin, in_namespace(deployment("sys", 1), "kube-system")).await;
    create(&admin, in_namespace(deployment("own", 1), NS)).await;
    for (namespace, app) in [("default", "bare"), ("kube-system", "sys"), (NS, "own")] {
        eventually(&format!("{namespace}/{app} pod created"), || async {
            pod_count(&admin, namespace, app).await == 1
        })
        .await;
    }
    assert_eq!(
        webhook_calls(&stack),
        calls,
        "a pod that cannot be a target was sent to the webhook: {}",
        stack.server.telemetry.encode()
    );

    // Sent and patched: the pods of a DPA target, which carry no special label.
    // The recommendation reaches the leader's store (as the feed would put it there); the
    // controller writes it to the DPA's status, which every replica's webhook reads.
    create(&admin, dpa("web", "web")).await;
    let workload = stack.workload.as_ref().unwrap();
    let key = DpaKey::new("default", "web");
    eventually("the controller knows default/web", || async { workload.store.get(&key).is_some() }).await;
    {
        let entry = workload.store.get(&key).unwrap();
        let mut internal = entry.lock().await;
        let resources: Vec<ContainerResources> =
            serde_json::from_value(vertical_status()["status"]["vertical"]["target"]["desiredResources"].clone())
                .unwrap();
        internal.main.vertical = Some(VerticalValues {
            source: ValueSource::Autoscaling,
            timestamp: k8s_openapi::jiff::Timestamp::now(),
            resources,
            hash: "5d8c4f9b7".into(),
        });
    }
    workload.store.notify(&key, "test");
    eventually("the store has web's vertical recommendation", || async {
        workload.dpas.get("default", "web").is_some_and(|d| d.vertical.is_some())
    })
    .await;
    create(&admin, deployment("web", 2)).await;
    eventually("web's 2 pods created", || async { pods_of(&admin, "web").await.len() == 2 }).await;
    for pod in pods_of(&admin, "web").await {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let annotations = pod.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.get("autoscaling.datadoghq.com/autoscaler-id").map(String::as_str), Some("default/web"));
        assert_eq!(annotations.get("autoscaling.datadoghq.com/rec-id").map(String::as_str), Some("5d8c4f9b7"));
        let requests = serde_json::to_value(&pod.spec.unwrap().containers[0].resources).unwrap()["requests"].clone();
        assert_eq!(requests, json!({"cpu": "300m", "memory": "256Mi"}), "{name}");
    }
    assert!(webhook_calls(&stack) >= calls + 2, "web's pods went through the webhook");
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn pods_start_while_the_webhook_is_unreachable() {
    let (dc, admin) = serve_cluster().await;
    let (stack, _) = serve(&dc, true).await;
    wait_ready(&stack).await;
    register_shipped_webhooks(&admin, &stack).await;
    let calls = webhook_calls(&stack);
    create(&admin, deployment("before", 1)).await;
    eventually("before's pod created", || async { pods_of(&admin, "before").await.len() == 1 }).await;
    assert!(webhook_calls(&stack) > calls, "the shipped configuration sends this pod to the server");

    let port = stack.server.secure_addr.port();
    stack.shutdown().await;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the server still listens");
    create(&admin, deployment("after", 2)).await;
    eventually("after's 2 pods created with the webhook down", || async { pods_of(&admin, "after").await.len() == 2 })
        .await;
    for pod in pods_of(&admin, "after").await {
        assert!(!pod.metadata.annotations.unwrap_or_default().contains_key("autoscaling.datadoghq.com/autoscaler-id"));
    }
    dc.shutdown().await;
}
