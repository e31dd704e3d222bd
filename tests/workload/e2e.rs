//! Workload autoscaling end to end through the real serve path: `Stack::start` from settings with
//! a Remote-Config feed directory, the shipped MutatingWebhookConfiguration registered in
//! devcluster's admission. A feed recommendation scales a Deployment up through its scale
//! subresource and the pods of the scale-up are patched at creation by the webhook; a new vertical
//! recommendation with the rollout strategy rolls the Deployment and the new ReplicaSet's pods
//! carry it; pods created with a recommendation get their `RecommendationApplied` event from the
//! stack, only once the gate is open. The leader change through a real Lease is in `leader`.

pub mod leader;

use std::collections::BTreeMap;
use std::sync::Arc;

use autoscaling_apiserver::config::Settings;
use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::server::ServeConfig;
use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::workload::DpaKey;
use autoscaling_apiserver::workload::crd::DatadogPodAutoscaler;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::serve::{register_shipped_webhooks, wait_ready};
use super::support::{
    NS, RequestLog, SERVICE, create, deployment, dpa, eventually, pods_of, recording_client, serve_cluster,
};

const AUTOSCALER_ID: &str = "autoscaling.datadoghq.com/autoscaler-id";
const REC_ID: &str = "autoscaling.datadoghq.com/rec-id";
const EVENT_MARK: &str = "autoscaling.datadoghq.com/event";

/// A Remote-Config feed directory, written as the Datadog backend would (whole files, renamed in).
pub struct Feed(tempfile::TempDir);

impl Feed {
    pub fn new() -> Self {
        Feed(tempfile::tempdir().unwrap())
    }

    pub fn source(&self) -> String {
        format!("file://{}", self.0.path().display())
    }

    fn write(&self, product: &str, version: u64, config: Value) {
        let dir = self.0.path().join(product);
        std::fs::create_dir_all(&dir).unwrap();
        let staged = self.0.path().join(format!(".{product}.staged"));
        std::fs::write(&staged, json!({"version": version, "config": config}).to_string()).unwrap();
        std::fs::rename(&staged, dir.join("e2e.json")).unwrap();
    }

    /// `CONTAINER_AUTOSCALING_SETTINGS`: Remote DPAs in `default`.
    pub fn settings(&self, version: u64, dpas: &[(&str, Value)]) {
        let settings: Vec<Value> = dpas
            .iter()
            .map(|(name, spec)| json!({"namespace": "default", "name": name, "specs": {"v1alpha2": spec}}))
            .collect();
        self.write("settings", version, json!({ "settings": settings }));
    }

    /// `CONTAINER_AUTOSCALING_VALUES`: recommendations for DPAs in `default`, stamped now (returned).
    pub fn values(&self, version: u64, values: &[(&str, Option<i32>, Option<Value>)]) -> k8s_openapi::jiff::Timestamp {
        let stamp = k8s_openapi::jiff::Timestamp::now();
        let now = stamp.to_string();
        let values: Vec<Value> = values
            .iter()
            .map(|(name, replicas, resources)| {
                let mut entry = json!({"namespace": "default", "name": name});
                if let Some(replicas) = replicas {
                    entry["horizontal"] = json!({"auto": {"timestamp": now, "replicas": replicas}});
                }
                if let Some(resources) = resources {
                    entry["vertical"] = json!({"auto": {"timestamp": now, "resources": resources}});
                }
                entry
            })
            .collect();
        self.write("values", version, json!({ "values": values }));
        stamp
    }
}

/// A feed's container recommendation for the container `app`.
pub fn app_resources(cpu: &str, memory: &str, memory_limit: &str) -> Value {
    json!([{"containerName": "app",
        "requests": [{"name": "cpu", "value": cpu}, {"name": "memory", "value": memory}],
        "limits": [{"name": "memory", "value": memory_limit}]}])
}

/// What the webhook should have given the container `app`.
pub fn patched(cpu: &str, memory: &str, memory_limit: &str) -> Value {
    json!({"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}})
}

/// `serve` settings with workload autoscaling, the feed read every second and a 4 s lease.
pub fn settings(pod: &str, feed: &Feed, extra: &[(&str, &str)]) -> Settings {
    let source = feed.source();
    let mut env = vec![
        ("DD_API_KEY", "test-api-key"),
        ("DD_APP_KEY", "test-app-key"),
        ("DD_CLUSTER_NAME", "test"),
        ("DD_POD_NAME", pod),
        ("DD_KUBE_RESOURCES_NAMESPACE", NS),
        ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "lease"),
        ("DD_LEADER_LEASE_DURATION", "4"),
        // No DatadogMetric exists: the provider never calls it.
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "http://127.0.0.1:9"),
        ("DD_AUTOSCALING_WORKLOAD_ENABLED", "true"),
        ("DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_SOURCE", source.as_str()),
        ("DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_POLL_INTERVAL", "1"),
    ];
    env.extend_from_slice(extra);
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let (settings, problems) = autoscaling_apiserver::config::load(None, env, &[]).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    settings
}

/// The stack as `serve` starts it, its Kubernetes requests recorded.
pub async fn serve(dc: &DevCluster, settings: &Settings) -> (Stack, RequestLog) {
    let (client, log) = recording_client(dc).await;
    let stack = Stack::start(settings, client, ServeConfig::loopback(SERVICE, NS)).await.unwrap();
    (stack, log)
}

/// Writes to `web`'s scale subresource.
pub fn scale_writes(log: &RequestLog) -> Vec<String> {
    let writes = ["PUT ", "PATCH ", "POST "];
    log.all()
        .into_iter()
        .filter(|r| writes.iter().any(|w| r.starts_with(w)) && r.contains("/deployments/web/scale"))
        .collect()
}

/// Events in `default` with `reason`, as (regarding name, note), once per occurrence (the
/// recorder folds repeats of one event into its `series`).
pub async fn events(admin: &kube::Client, reason: &str) -> Vec<(String, String)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(admin.clone(), "default");
    let list = api.list(&Default::default()).await.map(|l| l.items).unwrap_or_default();
    list.into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .flat_map(|e| {
            let count = e.series.as_ref().map_or(1, |s| s.count.max(1)) as usize;
            let entry = (e.regarding.and_then(|r| r.name).unwrap_or_default(), e.note.unwrap_or_default());
            std::iter::repeat_n(entry, count)
        })
        .collect()
}

pub fn dpas(client: &kube::Client) -> Api<DatadogPodAutoscaler> {
    Api::namespaced(client.clone(), "default")
}

pub fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

pub fn resources(pod: &Pod) -> Value {
    serde_json::to_value(&pod.spec.as_ref().unwrap().containers[0].resources).unwrap()
}

pub fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Live (not terminating) pods of `app`.
pub async fn live_pods(client: &kube::Client, app: &str) -> Vec<Pod> {
    pods_of(client, app).await.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

/// Each pod of `app` as a watch first saw it: for a pod created after [`FirstSeen::start`], the
/// object admission produced, before any later write to it.
pub struct FirstSeen {
    pods: Arc<Mutex<BTreeMap<String, Pod>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FirstSeen {
    pub async fn start(client: &kube::Client, app: &str) -> FirstSeen {
        let api: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pods: Arc<Mutex<BTreeMap<String, Pod>>> = Arc::default();
        let listed = Arc::new(tokio::sync::Notify::new());
        let config = watcher::Config::default().labels(&format!("app={app}"));
        let (into, done) = (pods.clone(), listed.clone());
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher::watcher(api, config));
            while let Some(event) = events.next().await {
                match event {
                    Ok(Event::InitApply(pod) | Event::Apply(pod)) => {
                        into.lock().entry(name(&pod)).or_insert(pod);
                    }
                    Ok(Event::InitDone) => done.notify_one(),
                    _ => {}
                }
            }
        });
        tokio::time::timeout(std::time::Duration::from_secs(60), listed.notified()).await.expect("pod watch listed");
        FirstSeen { pods, task }
    }

    pub fn get(&self, name: &str) -> Option<Pod> {
        self.pods.lock().get(name).cloned()
    }
}

impl Drop for FirstSeen {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `status.vertical.target.version` of DPA `name`, once written.
pub async fn vertical_version(admin: &kube::Client, name: &str) -> Option<String> {
    let dpa = dpas(admin).get_opt(name).await.ok()??;
    Some(dpa.status?.vertical?.target?.version)
}

fn remote_spec() -> Value {
    json!({"owner": "Remote", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "applyPolicy": {"mode": "Apply",
            "scaleUp": {"strategy": "Max", "stabilizationWindowSeconds": 0,
                "rules": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}},
        "constraints": {"minReplicas": 1, "maxReplicas": 5},
        "objectives": [{"type": "PodResource",
            "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]})
}

#[tokio::test]
async fn a_feed_recommendation_scales_up_and_the_webhook_patches_the_new_pods_at_creation() {
    let (dc, admin) = serve_cluster().await;
    let feed = Feed::new();
    let (stack, log) = serve(&dc, &settings("e2e-scale", &feed, &[])).await;
    wait_ready(&stack).await;
    register_shipped_webhooks(&admin, &stack).await;
    create(&admin, deployment("web", 1)).await;
    eventually("web's first pod", || async { live_pods(&admin, "web").await.len() == 1 }).await;
    let first = name(&live_pods(&admin, "web").await[0]);
    let seen = FirstSeen::start(&admin, "web").await;

    // Datadog's backend: a Remote DPA for web, 3 replicas and new requests at once.
    feed.settings(1, &[("web", remote_spec())]);
    feed.values(1, &[("web", Some(3), Some(app_resources("250m", "256Mi", "512Mi")))]);
    let web = api_for_deployments(&admin);
    eventually("web scaled to 3 with 3 live pods", || async {
        let replicas = web.get("web").await.ok().and_then(|d| d.spec?.replicas);
        replicas == Some(3) && live_pods(&admin, "web").await.len() == 3
    })
    .await;
    assert_eq!(scale_writes(&log).len(), 1, "one write to the scale subresource: {:?}", scale_writes(&log));
    let scaled = events(&admin, "SuccessfulScale").await;
    let note = "Scaled target: default/web from 1 replicas to 3 replicas";
    assert_eq!(scaled, [("web".to_string(), note.to_string())]);

    eventually("the vertical target in web's status", || async { vertical_version(&admin, "web").await.is_some() })
        .await;
    let id = vertical_version(&admin, "web").await.unwrap();
    let new_pods: Vec<String> = live_pods(&admin, "web").await.iter().map(name).filter(|n| *n != first).collect();
    assert_eq!(new_pods.len(), 2, "{new_pods:?}");
    for pod in &new_pods {
        let created = seen.get(pod).unwrap_or_else(|| panic!("{pod} never seen by the watch"));
        assert_eq!(annotation(&created, AUTOSCALER_ID), Some("default/web"), "{pod} at creation");
        assert_eq!(annotation(&created, REC_ID), Some(id.as_str()), "{pod} at creation");
        assert_eq!(resources(&created), patched("250m", "256Mi", "512Mi"), "{pod} at creation");
        assert!(annotation(&created, EVENT_MARK).is_none(), "{pod}: the event comes after creation");
    }

    // The stack's pod-event loop: each patched pod gets its RecommendationApplied event, once.
    let note = format!("POD patched with recommendations from autoscaler default/web, recommendation id: {id}");
    eventually("RecommendationApplied for the scale-up's pods", || async {
        let pods = live_pods(&admin, "web").await;
        let marked =
            new_pods.iter().all(|n| pods.iter().any(|p| name(p) == *n && annotation(p, EVENT_MARK) == Some("true")));
        let recorded = events(&admin, "RecommendationApplied").await;
        marked && new_pods.iter().all(|n| recorded.iter().any(|(r, text)| r == n && *text == note))
    })
    .await;
    let recorded = events(&admin, "RecommendationApplied").await;
    for pod in &new_pods {
        assert_eq!(recorded.iter().filter(|(r, _)| r == pod).count(), 1, "{pod}: {recorded:?}");
    }
    drop(seen);
    stack.shutdown().await;
    dc.shutdown().await;
}

fn api_for_deployments(client: &kube::Client) -> Api<k8s_openapi::api::apps::v1::Deployment> {
    Api::namespaced(client.clone(), "default")
}

/// The live pods of `web` all on one ReplicaSet other than `not`, with recommendation `id`;
/// returns that ReplicaSet.
async fn rolled_to(admin: &kube::Client, id: &str, not: Option<&str>) -> Option<String> {
    let pods = pods_of(admin, "web").await;
    let owner = |p: &Pod| p.metadata.owner_references.as_ref()?.first().map(|o| o.name.clone());
    let owners: std::collections::BTreeSet<Option<String>> = pods.iter().map(owner).collect();
    let owners: Vec<Option<String>> = owners.into_iter().collect();
    let [Some(rs)] = owners.as_slice() else { return None };
    let rs = rs.clone();
    let done = pods.len() == 2
        && Some(rs.as_str()) != not
        && pods.iter().all(|p| p.metadata.deletion_timestamp.is_none() && annotation(p, REC_ID) == Some(id));
    done.then_some(rs)
}

#[tokio::test]
async fn a_new_vertical_recommendation_rolls_the_deployment_and_its_new_pods_carry_it() {
    let (dc, admin) = serve_cluster().await;
    let feed = Feed::new();
    let (stack, _) = serve(&dc, &settings("e2e-rollout", &feed, &[])).await;
    wait_ready(&stack).await;
    register_shipped_webhooks(&admin, &stack).await;
    create(&admin, deployment("web", 2)).await;
    eventually("web's 2 pods", || async { live_pods(&admin, "web").await.len() == 2 }).await;
    let mut local = dpa("web", "web");
    local["spec"]["applyPolicy"] = json!({"mode": "Apply", "update": {"strategy": "TriggerRollout"}});
    create(&admin, local).await;
    let workload = stack.workload.as_ref().unwrap();
    let key = DpaKey::new("default", "web");
    eventually("the controller has the Local DPA", || async { workload.store.get(&key).is_some() }).await;
    let seen = FirstSeen::start(&admin, "web").await;

    let mut rolled = None;
    let mut ids = Vec::new();
    for (version, (cpu, memory, limit)) in [(1, ("200m", "192Mi", "256Mi")), (2, ("300m", "320Mi", "640Mi"))] {
        feed.values(version, &[("web", None, Some(app_resources(cpu, memory, limit)))]);
        let previous = ids.last().cloned();
        eventually(&format!("recommendation {version} in web's status"), || async {
            vertical_version(&admin, "web").await.is_some_and(|v| Some(&v) != previous.as_ref())
        })
        .await;
        let id = vertical_version(&admin, "web").await.unwrap();
        eventually(&format!("the rollout of recommendation {version} complete"), || async {
            rolled_to(&admin, &id, rolled.as_deref()).await.is_some()
        })
        .await;
        rolled = rolled_to(&admin, &id, rolled.as_deref()).await;

        let web = api_for_deployments(&admin).get("web").await.unwrap();
        let template = web.spec.unwrap().template.metadata.unwrap().annotations.unwrap_or_default();
        assert_eq!(template.get(REC_ID), Some(&id), "the template carries the rollout's rec-id");
        assert!(template.get("autoscaling.datadoghq.com/rolloutAt").is_some_and(|t| t.ends_with('Z')), "{template:?}");
        for pod in live_pods(&admin, "web").await {
            let created = seen.get(&name(&pod)).unwrap_or_else(|| panic!("{} never seen", name(&pod)));
            assert_eq!(annotation(&created, REC_ID), Some(id.as_str()), "{} at creation", name(&pod));
            assert_eq!(resources(&created), patched(cpu, memory, limit), "{} at creation", name(&pod));
        }
        ids.push(id);
    }
    let rollouts = events(&admin, "SuccessfulTriggerRollout").await;
    assert_eq!(rollouts.len(), 2, "one rollout per recommendation: {rollouts:?}");
    assert_ne!(ids[0], ids[1]);
    drop(seen);
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn pods_created_with_a_recommendation_get_their_event_once_the_gate_opens() {
    let (dc, admin) = serve_cluster().await;
    let feed = Feed::new();
    let (stack, log) = serve(&dc, &settings("e2e-applied", &feed, &[])).await;
    wait_ready(&stack).await;
    // Pods that already carry a recommendation (a previous server patched them).
    let mut web = deployment("web", 2);
    web["spec"]["template"]["metadata"]["annotations"] = json!({AUTOSCALER_ID: "default/web", REC_ID: "r-1"});
    create(&admin, web).await;
    eventually("web's 2 pods", || async { live_pods(&admin, "web").await.len() == 2 }).await;
    let workload = stack.workload.as_ref().unwrap();
    eventually("DPA list synced", || async { workload.dpas.synced() }).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(log.for_resource("pods").is_empty(), "pods requested before the gate: {:?}", log.for_resource("pods"));
    assert!(events(&admin, "RecommendationApplied").await.is_empty());

    create(&admin, dpa("web", "web")).await;
    let note = "POD patched with recommendations from autoscaler default/web, recommendation id: r-1";
    eventually("both pods marked, with their event", || async {
        let pods = live_pods(&admin, "web").await;
        let recorded = events(&admin, "RecommendationApplied").await;
        pods.len() == 2
            && pods.iter().all(|p| {
                annotation(p, EVENT_MARK) == Some("true") && recorded.iter().any(|(r, n)| *r == name(p) && n == note)
            })
    })
    .await;
    let pod_writes: Vec<String> = log.for_resource("pods").into_iter().filter(|r| r.starts_with("PATCH ")).collect();
    assert_eq!(pod_writes.len(), 2, "one mark per pod: {pod_writes:?}");
    stack.shutdown().await;
    dc.shutdown().await;
}
