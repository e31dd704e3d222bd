//! Subresources and server plumbing: scale, eviction with a PodDisruptionBudget, impersonation,
//! HTTP/2, fault injection.

use std::time::Duration;

use autoscaling_apiserver::devcluster::RequestFault;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::support::{http, start};

fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}
    }))
    .unwrap()
}

#[tokio::test]
async fn scale_subresource_reads_and_writes_replicas() {
    let dc = start().await;
    let api: Api<Deployment> = Api::namespaced(dc.client().await.unwrap(), "default");
    api.create(&PostParams::default(), &deployment()).await.unwrap();
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    let patched =
        api.patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}}))).await.unwrap();
    assert_eq!(patched.spec.unwrap().replicas, Some(4));
    assert_eq!(api.get("web").await.unwrap().spec.unwrap().replicas, Some(4));
    let err = api
        .patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": -1}})))
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 422));
}

fn ready_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "db:1"}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn eviction_respects_the_disruption_budget() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["db-0", "db-1"] {
        pods.create(&PostParams::default(), &ready_pod(name)).await.unwrap();
        let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    }
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client, "default");
    let pdb = serde_json::from_value(
        json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}}}),
    )
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    // Raw HTTP: kube-rs would retry the 429 with backoff.
    let eviction =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "db-0", "namespace": "default"}});
    let (code, status) = super::support::raw(
        &dc,
        reqwest::Method::POST,
        "/api/v1/namespaces/default/pods/db-0/eviction",
        "application/json",
        eviction.to_string(),
    )
    .await;
    assert_eq!(code, 429, "{status}");
    assert_eq!(status["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget");
    pdbs.patch("db", &PatchParams::default(), &Patch::Merge(json!({"spec": {"minAvailable": 1}}))).await.unwrap();
    pods.evict("db-0", &EvictParams::default()).await.unwrap();
    assert!(pods.get_opt("db-0").await.unwrap().is_none());
}

#[tokio::test]
async fn impersonation_is_authorized_and_applied() {
    let dc = start().await;
    let url = format!("{}/api/v1/namespaces/default/configmaps", dc.url());
    let as_nobody =
        http(&dc).get(&url).bearer_auth(dc.admin_token()).header("Impersonate-User", "jane").send().await.unwrap();
    assert_eq!(as_nobody.status().as_u16(), 403);
    let body: serde_json::Value = as_nobody.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("User \"jane\" cannot list"), "{body}");
    let as_master = http(&dc)
        .get(&url)
        .bearer_auth(dc.admin_token())
        .header("Impersonate-User", "jane")
        .header("Impersonate-Group", "system:masters")
        .send()
        .await
        .unwrap();
    assert_eq!(as_master.status().as_u16(), 200);
    // A user without the `impersonate` verb may not impersonate.
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(dc.client().await.unwrap(), "default");
    sas.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "sa"}})).unwrap())
        .await
        .unwrap();
    let token = dc.service_account_token("default", "sa", &[]).unwrap();
    let denied =
        http(&dc).get(&url).bearer_auth(token).header("Impersonate-User", "kubernetes-admin").send().await.unwrap();
    assert_eq!(denied.status().as_u16(), 403);
}

#[tokio::test]
async fn serves_http2_and_http1() {
    let dc = start().await;
    let resp = http(&dc).get(format!("{}/version", dc.url())).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2, "ALPN negotiates h2");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(dc.ca_pem().as_bytes()).unwrap();
    let h1 = reqwest::Client::builder().add_root_certificate(ca).http1_only().build().unwrap();
    let resp = h1.get(format!("{}/version", dc.url())).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn injected_failures_delays_and_pause() {
    let dc = start().await;
    let api: Api<Pod> = Api::namespaced(dc.client().await.unwrap(), "default");
    dc.faults().add(RequestFault {
        path_contains: "/pods".into(),
        status: Some(503),
        delay: Duration::ZERO,
        remaining: Some(1),
    });
    let url = format!("{}/api/v1/pods", dc.url());
    let resp = http(&dc).get(&url).bearer_auth(dc.admin_token()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    api.list(&Default::default()).await.expect("fault was one-shot");
    dc.faults().add(RequestFault {
        path_contains: "/pods".into(),
        status: None,
        delay: Duration::from_millis(400),
        remaining: Some(1),
    });
    let t = std::time::Instant::now();
    api.list(&Default::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(400), "delay applied");
    dc.faults().add(RequestFault {
        path_contains: "/pods".into(),
        status: Some(429),
        delay: Duration::ZERO,
        remaining: Some(1),
    });
    let resp = http(&dc).get(format!("{}/api/v1/pods", dc.url())).bearer_auth(dc.admin_token()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");

    dc.faults().pause();
    let pending = tokio::spawn({
        let api = api.clone();
        async move { api.list(&Default::default()).await.is_ok() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished(), "paused server holds requests");
    dc.faults().resume();
    assert!(tokio::time::timeout(Duration::from_secs(5), pending).await.unwrap().unwrap());
}
