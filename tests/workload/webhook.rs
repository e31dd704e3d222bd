//! `/autoscaling` end to end: our server (with the autoscaling stack) registered in devcluster as
//! a mutating webhook through an ExternalName `localhost` Service and its caBundle. Before any DPA
//! the webhook is called and allows pods unchanged; after a DPA with a vertical recommendation,
//! the Deployment's pods (the first ones and a scale-up's) carry the recommendation.

use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::CertSource;
use autoscaling_apiserver::server::{
    AdmissionWebhook, ProviderNotBuilt, RunningServer, ServeConfig, Webhooks, start_with_webhooks,
};
use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig};
use base64::Engine;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::support::{api_for, cluster, create, deployment, dpa, eventually, pods_of};

pub async fn server(admin: &kube::Client, stack: &AutoscalingStack) -> RunningServer {
    let config = ServeConfig {
        secure_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(1),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    };
    let webhook: Arc<dyn AdmissionWebhook> = stack.webhook();
    let webhooks = Webhooks::default().with("/autoscaling", webhook);
    start_with_webhooks(config, admin.clone(), Arc::new(ProviderNotBuilt), webhooks).await.unwrap()
}

/// The Service and MutatingWebhookConfiguration that send pod CREATEs to our server.
pub async fn register(admin: &kube::Client, server: &RunningServer) {
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
    create(
        admin,
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "datadog-webhook"},
        "webhooks": [{"name": "autoscaling.datadoghq.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Fail", "timeoutSeconds": 5, "reinvocationPolicy": "IfNeeded",
            "clientConfig": {"service": {"namespace": "datadog", "name": "autoscaling-apiserver",
                "path": "/autoscaling", "port": port}, "caBundle": ca},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
    )
    .await;
}

/// How many AdmissionReviews the server answered with 200.
fn reviews_answered(server: &RunningServer) -> u64 {
    let text = server.telemetry.encode();
    let line = text.lines().find(|l| {
        l.starts_with("autoscaling_apiserver_http_requests_total{")
            && l.contains("route=\"webhook\"")
            && l.contains("code=\"200\"")
    });
    line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse::<f64>().ok()).map_or(0, |v| v as u64)
}

fn vertical_status() -> Value {
    json!({"vertical": {"target": {"source": "Autoscaling", "version": "5d8c4f9b7", "podCPURequest": "300m",
        "podMemoryRequest": "256Mi",
        "desiredResources": [{"name": "app", "requests": {"cpu": "300m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}]}}})
}

fn assert_patched(pod: &Pod) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("autoscaling.datadoghq.com/autoscaler-id").map(String::as_str),
        Some("default/web"),
        "{name}"
    );
    assert_eq!(annotations.get("autoscaling.datadoghq.com/rec-id").map(String::as_str), Some("5d8c4f9b7"), "{name}");
    let resources = serde_json::to_value(&pod.spec.as_ref().unwrap().containers[0].resources).unwrap();
    assert_eq!(
        resources,
        json!({"requests": {"cpu": "300m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}),
        "{name}"
    );
}

#[tokio::test]
async fn pods_of_a_dpa_target_are_patched_through_devcluster_admission() {
    let (dc, admin) = cluster().await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    let server = server(&admin, &stack).await;
    register(&admin, &server).await;

    // Gate closed: the webhook is called and the pod is admitted unchanged.
    create(&admin, deployment("early", 1)).await;
    eventually("early's pod created", || async { pods_of(&admin, "early").await.len() == 1 }).await;
    assert!(reviews_answered(&server) >= 1, "the webhook was not called: {}", server.telemetry.encode());
    let early = pods_of(&admin, "early").await.remove(0);
    assert_eq!(early.metadata.annotations.unwrap_or_default().len(), 0);
    assert!(!stack.gate.is_open());

    create(&admin, dpa("web", "web")).await;
    let dpas = api_for(&admin, &dpa("web", "web"));
    let status = json!({"status": vertical_status()});
    dpas.patch_status("web", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    eventually("the store has the vertical recommendation", || async {
        stack.dpas.get("default", "web").is_some_and(|d| d.vertical.is_some())
    })
    .await;

    create(&admin, deployment("web", 2)).await;
    eventually("web's 2 pods created", || async { pods_of(&admin, "web").await.len() == 2 }).await;
    pods_of(&admin, "web").await.iter().for_each(assert_patched);

    let web = api_for(&admin, &deployment("web", 0));
    web.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 3}}))).await.unwrap();
    eventually("the scale-up's pod created", || async { pods_of(&admin, "web").await.len() == 3 }).await;
    pods_of(&admin, "web").await.iter().for_each(assert_patched);

    // A pod of another workload is still admitted untouched.
    create(&admin, deployment("late", 1)).await;
    eventually("late's pod created", || async { pods_of(&admin, "late").await.len() == 1 }).await;
    assert!(pods_of(&admin, "late").await[0].metadata.annotations.as_ref().is_none_or(|a| a.is_empty()));

    server.shutdown().await;
    stack.shutdown().await;
    dc.shutdown().await;
}
