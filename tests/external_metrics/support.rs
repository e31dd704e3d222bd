//! Shared helpers: a devcluster with the DatadogMetric CRD, settings for one replica, a fake
//! querier, and polling with deadlines.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::config::{self, Settings};
use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::external_metrics::datadogmetric::{
    MetricsQuerier, QueryError, QueryPoint, QueryResults, QuerySpec,
};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use parking_lot::Mutex;
use serde_json::Value;

pub const RESOURCES_NS: &str = "datadog";

pub async fn cluster() -> (DevCluster, kube::Client) {
    let dc = DevCluster::start(Default::default()).await.expect("devcluster starts");
    let client = dc.client().await.expect("client");
    (dc, client)
}

/// Namespaces plus the DatadogMetric CRD from the reference, established.
pub async fn cluster_with_crd(namespaces: &[&str]) -> (DevCluster, kube::Client) {
    let (dc, client) = cluster().await;
    for name in namespaces {
        create_namespace(&client, name).await;
    }
    // The deployed copy of the reference CRD (what a cluster gets from deploy/).
    let path = format!("{}/deploy/01-crd-datadogmetrics.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let docs = serde_saphyr::from_multiple::<Value>(&text).expect("CRD parses");
    let doc = docs.into_iter().find(|doc| !doc.is_null()).expect("one CRD");
    let crd: CustomResourceDefinition = serde_json::from_value(doc).expect("CRD shape");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.expect("CRD created");
    let established = kube::runtime::wait::conditions::is_crd_established();
    let wait = kube::runtime::wait::await_condition(crds, "datadogmetrics.datadoghq.com", established);
    tokio::time::timeout(Duration::from_secs(30), wait).await.expect("CRD established in time").expect("await");
    (dc, client)
}

pub async fn create_namespace(client: &kube::Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
    namespaces.create(&PostParams::default(), &ns).await.expect("namespace created");
}

/// Settings of one replica named `pod`: resources namespace `datadog`, a 4 s lease, 300 ms
/// refreshes, plus `extra` (`DD_*` pairs).
pub fn settings(pod: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("DD_POD_NAME".into(), pod.into()),
        ("DD_KUBE_RESOURCES_NAMESPACE".into(), RESOURCES_NS.into()),
        ("DD_LEADER_LEASE_DURATION".into(), "4".into()),
        ("DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD".into(), "0.3".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let (settings, diags) = config::load(None, env, &[]).expect("settings load");
    assert!(diags.is_empty(), "{diags:?}");
    settings
}

pub fn datadogmetric_api(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("datadoghq.com", "v1alpha1", "DatadogMetric");
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "datadogmetrics"))
}

pub async fn create_datadogmetric(client: &kube::Client, namespace: &str, name: &str, spec: Value) {
    let object: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "datadoghq.com/v1alpha1", "kind": "DatadogMetric",
        "metadata": {"name": name, "namespace": namespace}, "spec": spec
    }))
    .expect("object");
    datadogmetric_api(client, namespace).create(&PostParams::default(), &object).await.expect("DatadogMetric created");
}

/// An HPA (autoscaling/v2) on `metrics` (external metric name, optional matchLabels).
pub async fn create_hpa(client: &kube::Client, namespace: &str, name: &str, metrics: &[(&str, Option<Value>)]) {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|(metric, labels)| {
            let mut metric = serde_json::json!({"name": metric});
            if let Some(labels) = labels {
                metric["selector"] = serde_json::json!({"matchLabels": labels});
            }
            serde_json::json!({"type": "External", "external": {"metric": metric, "target": {"type": "AverageValue", "averageValue": "9"}}})
        })
        .collect();
    let hpa = serde_json::json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 1, "maxReplicas": 3, "metrics": metrics}
    });
    let hpas: Api<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> =
        Api::namespaced(client.clone(), namespace);
    hpas.create(&PostParams::default(), &serde_json::from_value(hpa).expect("hpa")).await.expect("HPA created");
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the fake answers for one query.
#[derive(Clone)]
pub enum Answer {
    /// `value` at "now minus `age_s`" seconds.
    Value {
        value: f64,
        age_s: i64,
    },
    Fail(QueryError),
    /// Never answers (Datadog unreachable without timeouts).
    Hang,
}

/// An in-process querier: answers per query, records every batch.
#[derive(Default)]
pub struct FakeQuerier {
    answers: Mutex<HashMap<String, Answer>>,
    pub batches: Mutex<Vec<Vec<QuerySpec>>>,
    /// (query, timestamp) of every point returned.
    pub points: Mutex<Vec<(String, i64)>>,
}

impl FakeQuerier {
    pub fn new(answers: &[(&str, Answer)]) -> Arc<Self> {
        let fake = FakeQuerier::default();
        fake.answers.lock().extend(answers.iter().map(|(q, a)| ((*q).to_owned(), a.clone())));
        Arc::new(fake)
    }

    pub fn set(&self, query: &str, answer: Answer) {
        self.answers.lock().insert(query.to_owned(), answer);
    }

    pub fn calls(&self) -> usize {
        self.batches.lock().len()
    }
}

impl MetricsQuerier for FakeQuerier {
    fn query(&self, batch: Vec<QuerySpec>) -> BoxFuture<'_, QueryResults> {
        self.batches.lock().push(batch.clone());
        Box::pin(async move {
            let now = k8s_openapi::jiff::Timestamp::now().as_second();
            let mut results = QueryResults::new();
            let mut hang = false;
            for spec in batch {
                let answer = self.answers.lock().get(&spec.query).cloned();
                match answer {
                    Some(Answer::Value { value, age_s }) => {
                        self.points.lock().push((spec.query.clone(), now - age_s));
                        results.insert(spec, Ok(QueryPoint { value, timestamp_s: now - age_s }));
                    }
                    Some(Answer::Fail(error)) => {
                        results.insert(spec, Err(error));
                    }
                    Some(Answer::Hang) => hang = true,
                    None => {}
                }
            }
            if hang {
                std::future::pending::<()>().await;
            }
            results
        })
    }
}
