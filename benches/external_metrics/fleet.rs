//! The DatadogMetric fleet: the CRD (the deployed copy of the reference), namespaces, the
//! simulated series (one per distinct query), and DatadogMetrics created through the API —
//! metric `i` lives in namespace `bench-{i % NAMESPACES}`, is named `ddm-{i:05}` and uses query
//! `i % queries`, with the always-active annotation (so the leader refreshes it without an HPA).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use autoscaling_apiserver::devcluster::datadog_api::{SeriesDef, Shape};
use autoscaling_apiserver::server::format_quantity;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

pub const NAMESPACES: usize = 4;
/// Where the provider keeps its lease (and would create autogen DatadogMetrics).
pub const RESOURCES_NS: &str = "datadog";
const METRIC: &str = "bench.requests";
/// Creates in flight at once.
const CREATE_CONCURRENCY: usize = 16;

pub fn namespace_of(i: usize) -> String {
    format!("bench-{}", i % NAMESPACES)
}

pub fn name_of(i: usize) -> String {
    format!("ddm-{i:05}")
}

/// The index in a name made by [`name_of`].
pub fn index_of(name: &str) -> Option<usize> {
    name.strip_prefix("ddm-")?.parse().ok()
}

pub fn query_of(j: usize) -> String {
    format!("avg:{METRIC}{{service:svc-{j:03}}}.rollup(30)")
}

/// The constant the simulator serves for query `j`.
pub fn value_of(j: usize) -> f64 {
    (j + 1) as f64 * 1.5
}

/// The external-metric value text our server answers for metric `i`.
pub fn expected_value(i: usize, queries: usize) -> String {
    format_quantity(value_of(i % queries))
}

/// One per-tag series serving every query.
pub fn series(queries: usize) -> Vec<SeriesDef> {
    let values: BTreeMap<String, Shape> =
        (0..queries).map(|j| (format!("svc-{j:03}"), Shape::Constant { value: value_of(j) })).collect();
    vec![SeriesDef::new(METRIC, Shape::PerTag { tag: "service".into(), values })]
}

fn api_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk("datadoghq.com", "v1alpha1", "DatadogMetric");
    ApiResource::from_gvk_with_plural(&gvk, "datadogmetrics")
}

pub fn all_datadogmetrics(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &api_resource())
}

/// The namespaces and the DatadogMetric CRD, established.
pub async fn install(client: &kube::Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names = (0..NAMESPACES).map(namespace_of).chain([RESOURCES_NS.to_owned()]);
    for name in names {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
        namespaces.create(&PostParams::default(), &ns).await.with_context(|| format!("create namespace {name}"))?;
    }
    let path = format!("{}/deploy/01-crd-datadogmetrics.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let docs = serde_saphyr::from_multiple::<Value>(&text).with_context(|| format!("parse {path}"))?;
    let doc = docs.into_iter().find(|d| !d.is_null()).with_context(|| format!("no CRD in {path}"))?;
    let crd: CustomResourceDefinition = serde_json::from_value(doc).with_context(|| format!("CRD shape of {path}"))?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.context("create the DatadogMetric CRD")?;
    let established = kube::runtime::wait::conditions::is_crd_established();
    let wait = kube::runtime::wait::await_condition(crds, "datadogmetrics.datadoghq.com", established);
    match tokio::time::timeout(Duration::from_secs(60), wait).await {
        Ok(result) => result.map(drop).context("wait for the DatadogMetric CRD"),
        Err(_) => bail!("DatadogMetric CRD not established within 60 s"),
    }
}

/// Creates metrics `range` through the API, `CREATE_CONCURRENCY` at a time.
pub async fn create(client: &kube::Client, range: std::ops::Range<usize>, queries: usize) -> anyhow::Result<()> {
    futures::stream::iter(range)
        .map(|i| async move {
            let (namespace, name) = (namespace_of(i), name_of(i));
            let object: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "datadoghq.com/v1alpha1", "kind": "DatadogMetric",
                "metadata": {"name": name, "namespace": namespace,
                             "annotations": {"external-metrics.datadoghq.com/always-active": "true"}},
                "spec": {"query": query_of(i % queries)}
            }))?;
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &api_resource());
            api.create(&PostParams::default(), &object)
                .await
                .with_context(|| format!("create DatadogMetric {namespace}/{name}"))?;
            anyhow::Ok(())
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<()>()
        .await
}
