//! The cluster the bench measures in: devcluster with the deploy/ CRDs and the server's
//! namespace, 10-pod Deployments over 20 namespaces plus one large Deployment (`large-0` in
//! `bench-0`), populated straight into the store, then DatadogPodAutoscalers created through the
//! API: DPA 0 targets the large Deployment, DPA `i` the 10-pod Deployment `app-<i>`.

use std::time::Duration;

use anyhow::{Context, bail};
use autoscaling_apiserver::devcluster::{DevCluster, PopulateSpec};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

pub const NAMESPACES: usize = 20;
pub const PODS_PER_DEPLOYMENT: usize = 10;
pub const LARGE: &str = "large-0";
/// The webhook's target Deployment (0 replicas, so its vertical rollout moves no pod).
pub const CHECKOUT: &str = "checkout";
const CREATE_CONCURRENCY: usize = 16;

/// The namespace of 10-pod Deployment `app-<n>`.
pub fn namespace_of(n: usize) -> String {
    format!("bench-{}", n % NAMESPACES)
}

fn dpa_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk("datadoghq.com", "v1alpha2", "DatadogPodAutoscaler");
    ApiResource::from_gvk_with_plural(&gvk, "datadogpodautoscalers")
}

fn dynamic(client: &kube::Client, obj: &Value) -> anyhow::Result<(Api<DynamicObject>, DynamicObject)> {
    let api_version = obj["apiVersion"].as_str().context("apiVersion")?;
    let kind = obj["kind"].as_str().context("kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = format!("{}s", kind.to_lowercase());
    let plural = if kind == "CustomResourceDefinition" { "customresourcedefinitions".to_owned() } else { plural };
    let rt = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
    let api = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &rt),
        None => Api::all_with(client.clone(), &rt),
    };
    Ok((api, serde_json::from_value(obj.clone())?))
}

pub async fn create(client: &kube::Client, obj: Value) -> anyhow::Result<()> {
    let (api, o) = dynamic(client, &obj)?;
    let name = o.metadata.name.clone().unwrap_or_default();
    api.create(&PostParams::default(), &o).await.with_context(|| format!("create {} {name}", obj["kind"]))?;
    Ok(())
}

/// The deploy/ CRDs (DatadogMetric, DPA, cluster profile) and the server's namespace.
pub async fn install(client: &kube::Client) -> anyhow::Result<()> {
    for file in [
        "01-crd-datadogmetrics.yaml",
        "01-crd-datadogpodautoscalers.yaml",
        "01-crd-datadogpodautoscalerclusterprofiles.yaml",
    ] {
        let path = format!("{}/deploy/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
        for doc in serde_saphyr::from_multiple::<Value>(&text)?.into_iter().filter(|d| !d.is_null()) {
            create(client, doc).await?;
        }
    }
    create(client, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datadog"}})).await?;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &dpa_resource());
    let t0 = std::time::Instant::now();
    while api.list(&Default::default()).await.is_err() {
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("datadogpodautoscalers not served 30 s after creating the CRD");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Populates `pods` pods: `large` of them in Deployment `large-0`, the rest in 10-pod Deployments
/// `app-<n>`; returns the objects created.
pub fn populate(dc: &DevCluster, pods: usize, large: usize) -> anyhow::Result<usize> {
    let small = PopulateSpec { pods: pods - large, namespaces: NAMESPACES, pods_per_owner: PODS_PER_DEPLOYMENT };
    let big = PopulateSpec { pods: large, namespaces: 1, pods_per_owner: large };
    Ok(dc.populate_deployments(&small, "app")? + dc.populate_deployments(&big, "large")?)
}

/// Waits until devcluster's controllers have written what they write after the populate (the
/// Deployments' statuses): the resourceVersion stands still for 2 s.
pub async fn wait_quiet(dc: &DevCluster) -> anyhow::Result<()> {
    let limit = Duration::from_secs(600);
    if !quiet_within(dc, limit).await {
        bail!("devcluster controllers still writing after {limit:?} (resourceVersion {})", dc.resource_version());
    }
    Ok(())
}

/// Whether devcluster's resourceVersion stood still for 2 s within `limit` (returns as soon as it
/// has).
pub async fn quiet_within(dc: &DevCluster, limit: Duration) -> bool {
    let t0 = std::time::Instant::now();
    let (mut last, mut since) = (dc.resource_version(), std::time::Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let rv = dc.resource_version();
        if rv != last {
            (last, since) = (rv, std::time::Instant::now());
        } else if since.elapsed() >= Duration::from_secs(2) {
            return true;
        }
        if t0.elapsed() > limit {
            return false;
        }
    }
}

/// A Local DPA on Deployment `target` (CPU utilization objective, no replica bounds, so with no
/// horizontal recommendation nothing is scaled; vertical values only from the feed).
pub fn dpa(ns: &str, name: &str, target: &str) -> Value {
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "applyPolicy": {"mode": "Apply", "update": {"strategy": "Auto"}},
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]}})
}

/// DPA number `i`: 0 targets `large-0`, `i > 0` targets `app-<i>`.
pub fn dpa_number(i: usize) -> Value {
    if i == 0 { dpa("bench-0", LARGE, LARGE) } else { dpa(&namespace_of(i), &format!("app-{i}"), &format!("app-{i}")) }
}

/// Creates DPAs `from..to`, 16 at a time.
pub async fn create_dpas(client: &kube::Client, from: usize, to: usize) -> anyhow::Result<()> {
    futures::stream::iter(from..to)
        .map(|i| create(client, dpa_number(i)))
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

pub async fn delete_dpa(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &dpa_resource());
    api.delete(name, &DeleteParams::default()).await.with_context(|| format!("delete DPA {ns}/{name}"))?;
    Ok(())
}

/// The webhook's target: Deployment `bench-0/checkout` (0 replicas) and its DPA.
pub async fn create_checkout(client: &kube::Client) -> anyhow::Result<()> {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": CHECKOUT, "namespace": "bench-0"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": CHECKOUT}},
            "template": {"metadata": {"labels": {"app": CHECKOUT}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/checkout:2.0.1",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}]}}}});
    create(client, deployment).await?;
    create(client, dpa("bench-0", CHECKOUT, CHECKOUT)).await
}

/// The Remote feed's VALUES for `bench-0/checkout`: a vertical recommendation for container `app`.
pub fn write_checkout_values(feed: &std::path::Path) -> anyhow::Result<()> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let values = json!({"version": 1, "config": {"values": [{"namespace": "bench-0", "name": CHECKOUT,
        "vertical": {"auto": {"timestamp": now, "resources": [{"containerName": "app",
            "requests": [{"name": "cpu", "value": "250m"}, {"name": "memory", "value": "300Mi"}],
            "limits": [{"name": "memory", "value": "600Mi"}]}]}}}]}});
    std::fs::write(feed.join("values").join("bench.json"), serde_json::to_vec_pretty(&values)?)?;
    Ok(())
}

/// Waits until the DPA `bench-0/checkout` has a vertical target in its status.
pub async fn wait_vertical(client: &kube::Client) -> anyhow::Result<Value> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "bench-0", &dpa_resource());
    let t0 = std::time::Instant::now();
    loop {
        let obj = api.get(CHECKOUT).await?;
        if let Some(target) = obj.data.pointer("/status/vertical/target").filter(|t| !t.is_null()) {
            return Ok(target.clone());
        }
        if t0.elapsed() > Duration::from_secs(120) {
            bail!("DPA bench-0/checkout has no status.vertical.target after 120 s: {:?}", obj.data.get("status"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets `bench-0/large-0`'s replicas (devcluster's controllers create the pods through admission).
pub async fn scale_large(client: &kube::Client, replicas: usize) -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "bench-0");
    let patch = json!({"spec": {"replicas": replicas}});
    api.patch(LARGE, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch))
        .await
        .with_context(|| format!("scale Deployment bench-0/{LARGE} to {replicas}"))?;
    Ok(())
}
