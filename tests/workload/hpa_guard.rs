//! `/hpa-autoscaling` end to end: our server registered in devcluster as a mutating webhook for
//! HPA UPDATEs (with the DCA's matchCondition); kubectl edits of an HPA a DPA manages are reverted
//! with the warning shown to the user, through autoscaling/v2 and v1 alike; other HPAs edit freely.

use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::CertSource;
use autoscaling_apiserver::server::{
    AdmissionWebhook, ProviderNotBuilt, RunningServer, ServeConfig, Webhooks, start_with_webhooks,
};
use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig};
use base64::Engine;
use serde_json::{Value, json};

use super::support::{api_for, cluster, create, deployment};

const MANAGED: &str = "autoscaling.datadoghq.com/managed-by-dpa";

async fn server(admin: &kube::Client, stack: &AutoscalingStack) -> RunningServer {
    let config = ServeConfig {
        secure_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(1),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    };
    let guard: Arc<dyn AdmissionWebhook> = stack.hpa_guard();
    let webhooks = Webhooks::default().with("/hpa-autoscaling", guard);
    start_with_webhooks(config, admin.clone(), Arc::new(ProviderNotBuilt), webhooks).await.unwrap()
}

async fn register(admin: &kube::Client, server: &RunningServer) {
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
        "metadata": {"name": "datadog-hpa-webhook"},
        "webhooks": [{"name": "hpa-autoscaling.datadoghq.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Fail", "timeoutSeconds": 5,
            "clientConfig": {"service": {"namespace": "datadog", "name": "autoscaling-apiserver",
                "path": "/hpa-autoscaling", "port": port}, "caBundle": ca},
            "matchConditions": [{"name": "managed-by-dpa",
                "expression": format!("has(object.metadata.annotations) && '{MANAGED}' in object.metadata.annotations")}],
            "rules": [{"operations": ["UPDATE"], "apiGroups": ["autoscaling"], "apiVersions": ["v1", "v2"],
                "resources": ["horizontalpodautoscalers"]}]}]}),
    )
    .await;
}

fn hpa(name: &str, max: i64, managed: bool) -> Value {
    let mut h = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleUp": {"selectPolicy": "Disabled"}, "scaleDown": {"selectPolicy": "Disabled"}}}});
    if managed {
        h["metadata"]["annotations"] = json!({MANAGED: "default/web-dpa"});
    }
    h
}

struct Kubectl(tempfile::NamedTempFile);

impl Kubectl {
    async fn run(&self, args: &[&str]) -> (bool, String) {
        let mut c = std::process::Command::new("kubectl");
        c.env("KUBECONFIG", self.0.path()).env("HOME", self.0.path().parent().unwrap());
        c.arg("--request-timeout=30s").args(args);
        let out = tokio::task::spawn_blocking(move || c.output()).await.unwrap().expect("kubectl runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }
}

async fn spec_of(admin: &kube::Client, name: &str) -> Value {
    let obj = api_for(admin, &hpa(name, 1, false)).get(name).await.unwrap();
    serde_json::to_value(obj).unwrap()["spec"].clone()
}

#[tokio::test]
async fn edits_of_a_dpa_managed_hpa_are_reverted_with_a_warning() {
    let (dc, admin) = cluster().await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    let server = server(&admin, &stack).await;
    register(&admin, &server).await;
    create(&admin, deployment("web", 1)).await;
    create(&admin, hpa("web", 1000, true)).await;
    create(&admin, hpa("free", 10, false)).await;
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(kubeconfig.path(), dc.kubeconfig_yaml()).unwrap();
    let kubectl = Kubectl(kubeconfig);
    let before = spec_of(&admin, "web").await;

    let (ok, out) = kubectl
        .run(&["patch", "hpa", "web", "-n", "default", "--type=merge", "-p", r#"{"spec":{"maxReplicas":5}}"#])
        .await;
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "Warning: HPA default/web is managed by DatadogPodAutoscaler default/web-dpa and cannot be modified \
             directly. Your change has been reverted. If you no longer need the HPA, you can safely delete it."
        ),
        "kubectl output: {out}"
    );
    assert_eq!(spec_of(&admin, "web").await, before);

    // Through autoscaling/v1: the v1 view of the old spec is put back; the v2 metrics survive.
    let (ok, out) = kubectl
        .run(&[
            "patch",
            "horizontalpodautoscalers.v1.autoscaling",
            "web",
            "-n",
            "default",
            "--type=merge",
            "-p",
            r#"{"spec":{"targetCPUUtilizationPercentage":20,"maxReplicas":3}}"#,
        ])
        .await;
    assert!(ok, "{out}");
    assert!(out.contains("Warning: HPA default/web is managed by DatadogPodAutoscaler"), "{out}");
    assert_eq!(spec_of(&admin, "web").await, before);

    // An HPA nobody manages edits freely, without a warning.
    let (ok, out) = kubectl
        .run(&["patch", "hpa", "free", "-n", "default", "--type=merge", "-p", r#"{"spec":{"maxReplicas":4}}"#])
        .await;
    assert!(ok, "{out}");
    assert!(!out.contains("Warning"), "{out}");
    assert_eq!(spec_of(&admin, "free").await["maxReplicas"], 4);

    server.shutdown().await;
    stack.shutdown().await;
    dc.shutdown().await;
}
