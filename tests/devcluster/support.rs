//! Shared helpers: start a cluster, build raw HTTP requests against it.

use std::time::Duration;

use autoscaling_apiserver::devcluster::{Config, DevCluster};
use serde_json::Value;

pub async fn start() -> DevCluster {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> DevCluster {
    DevCluster::start(config).await.expect("devcluster starts")
}

pub fn fast_bookmarks() -> Config {
    Config { bookmark_interval: Duration::from_millis(300), ..Config::default() }
}

/// A raw HTTPS client trusting the cluster CA (for wire-level checks kube-rs hides).
pub fn http(dc: &DevCluster) -> reqwest::Client {
    // Already installed is fine: one process-wide ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(dc.ca_pem().as_bytes()).expect("ca");
    reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(20)).build().expect("client")
}

pub async fn raw(
    dc: &DevCluster,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let resp = http(dc)
        .request(method, format!("{}{path}", dc.url()))
        .bearer_auth(dc.admin_token())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request sent");
    let code = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn get(dc: &DevCluster, path: &str) -> (u16, Value) {
    raw(dc, reqwest::Method::GET, path, "application/json", "").await
}

pub fn crd_path(name: &str) -> String {
    format!("{}/../shared/reference/crds/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn example_path(rel: &str) -> String {
    format!("{}/../shared/reference/examples/{rel}", env!("CARGO_MANIFEST_DIR"))
}

pub fn yaml_docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("parse {path}: {e}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// Creates the CRDs in one reference file (not waiting for them to be established).
pub async fn create_crd_file(dc: &DevCluster, file: &str) {
    for doc in yaml_docs(&crd_path(file)) {
        let (code, body) = raw(
            dc,
            reqwest::Method::POST,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "application/json",
            doc.to_string(),
        )
        .await;
        assert_eq!(code, 201, "{file}: {body}");
    }
}

/// Installs the three reference CRDs and waits until they are served.
pub async fn install_crds(dc: &DevCluster) {
    for f in [
        "datadoghq.com_datadogpodautoscalers.yaml",
        "datadoghq.com_datadogmetrics.yaml",
        "datadoghq.com_datadogpodautoscalerclusterprofiles.yaml",
    ] {
        create_crd_file(dc, f).await;
    }
    let client = dc.client().await.expect("client");
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(client);
    for name in [
        "datadogpodautoscalers.datadoghq.com",
        "datadogmetrics.datadoghq.com",
        "datadogpodautoscalerclusterprofiles.datadoghq.com",
    ] {
        let established = kube::runtime::wait::conditions::is_crd_established();
        tokio::time::timeout(
            Duration::from_secs(10),
            kube::runtime::wait::await_condition(crds.clone(), name, established),
        )
        .await
        .expect("crd established in time")
        .expect("await");
    }
}
