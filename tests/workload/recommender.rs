//! The recommendation sources end to end: the Remote-Config-format feed read from a directory and
//! polled from an HTTP server on 127.0.0.1 (Remote DPAs created, updated, marked deleted; an outage
//! changes nothing); devcluster's resource metrics API read with kube-rs and kubectl; the local
//! fallback recommender turning that usage into a fallback recommendation for a real Deployment.

use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::workload::recommender::feed::{
    ApplyState, FeedConfig, FeedSource, RecommendationFeed, SETTINGS_PRODUCT, VALUES_PRODUCT, VERSION_OFFSET,
};
use autoscaling_apiserver::workload::recommender::fixed_leadership;
use autoscaling_apiserver::workload::recommender::local::usage::PodMetrics;
use autoscaling_apiserver::workload::recommender::local::{LocalRecommender, LocalRecommenderConfig};
use autoscaling_apiserver::workload::{
    AutoscalingGate, AutoscalingStack, DpaKey, InternalStore, PodAutoscalerInternal, StackConfig, ValueSource,
};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::support::{cluster, create, deployment, dpa, eventually, pods_of};

fn spec(target: &str, utilization: i32) -> Value {
    json!({"owner": "Remote", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu",
            "value": {"type": "Utilization", "utilization": utilization}}}]})
}

fn settings_payload(dpas: &[(&str, i32)]) -> Value {
    let settings: Vec<Value> = dpas
        .iter()
        .map(|(name, u)| json!({"namespace": "prod", "name": name, "specs": {"v1alpha2": spec(name, *u)}}))
        .collect();
    json!({ "settings": settings })
}

fn values_payload(replicas: &[(&str, i32)]) -> Value {
    let values: Vec<Value> = replicas
        .iter()
        .map(|(name, r)| {
            json!({"namespace": "prod", "name": name,
            "horizontal": {"auto": {"timestamp": "2026-03-01T11:00:00Z", "replicas": r}}})
        })
        .collect();
    json!({ "values": values })
}

async fn internal(store: &InternalStore, name: &str) -> PodAutoscalerInternal {
    store.get(&DpaKey::new("prod", name)).unwrap_or_else(|| panic!("prod/{name} in store")).lock().await.clone()
}

fn feed_for(source: FeedSource, store: &Arc<InternalStore>) -> RecommendationFeed {
    let config = FeedConfig { source, poll_interval: Duration::from_millis(100) };
    RecommendationFeed::new(config, store.clone(), fixed_leadership(true)).unwrap()
}

#[tokio::test]
async fn feed_directory_creates_updates_and_marks_remote_dpas_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, version: u64, config: Value| {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, json!({"version": version, "config": config}).to_string()).unwrap();
    };
    write("settings/prod.json", 1, settings_payload(&[("web", 70), ("api", 60)]));
    write("values/prod.json", 4, values_payload(&[("web", 5)]));
    let store = Arc::new(InternalStore::default());
    let gate = Arc::new(AutoscalingGate::default());
    let feed = Arc::new(
        feed_for(FeedSource::parse(&format!("file://{}", dir.path().display())).unwrap().unwrap(), &store)
            .with_gate(gate.clone()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(feed.clone().run(stopped));

    eventually("web and api created with web's values", || async {
        store.len() == 2
            && store
                .get(&DpaKey::new("prod", "web"))
                .is_some_and(|e| e.try_lock().is_ok_and(|d| d.main.horizontal.is_some()))
    })
    .await;
    assert!(gate.is_open(), "a Remote DPA from the feed opens the gate");
    let web = internal(&store, "web").await;
    assert_eq!(web.spec.remote_version, Some(VERSION_OFFSET + 1));
    assert_eq!(web.main.horizontal.as_ref().map(|h| (h.replicas, h.source)), Some((5, ValueSource::Autoscaling)));
    let status = feed.status();
    let states: Vec<(&str, ApplyState)> = status.configs.iter().map(|c| (c.path.as_str(), c.state)).collect();
    assert_eq!(
        states,
        [("settings/prod.json", ApplyState::Acknowledged), ("values/prod.json", ApplyState::Acknowledged)]
    );

    // A new settings version changes web's target and drops api; a broken values file keeps values.
    write("settings/prod.json", 2, settings_payload(&[("web", 50)]));
    std::fs::write(dir.path().join("values/broken.json"), "{\"version\": 1}").unwrap();
    eventually("api marked deleted, web updated", || async {
        let api = store.get(&DpaKey::new("prod", "api")).unwrap();
        let deleted = api.try_lock().is_ok_and(|d| d.deleted);
        deleted
            && store
                .get(&DpaKey::new("prod", "web"))
                .unwrap()
                .try_lock()
                .is_ok_and(|d| d.spec.remote_version == Some(VERSION_OFFSET + 2))
    })
    .await;
    let web = internal(&store, "web").await;
    assert!(!web.deleted);
    assert_eq!(web.main.horizontal.map(|h| h.replicas), Some(5), "values kept: the values product had an error");
    let status = feed.status();
    let broken = status.configs.iter().find(|c| c.path == "values/broken.json").unwrap();
    assert_eq!(broken.state, ApplyState::Error);
    assert!(broken.error.as_ref().unwrap().contains("values/broken.json"), "{:?}", broken.error);
    assert!(broken.error.as_ref().unwrap().contains("missing field `config`"), "{:?}", broken.error);

    // The directory disappears: nothing is deleted, the source error is shown.
    let path = dir.path().to_path_buf();
    std::fs::remove_dir_all(&path).unwrap();
    eventually("source error reported", || async { feed.status().source_error.is_some() }).await;
    assert!(!internal(&store, "web").await.deleted);
    let _ = stop.send(true);
    task.await.unwrap();
}

/// An index server on 127.0.0.1 answering with whatever `body` holds (or `status`).
async fn index_server(body: Arc<Mutex<(u16, Value)>>) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/feed",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                let (status, value) = body.lock().clone();
                (axum::http::StatusCode::from_u16(status).unwrap(), value.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

fn index(settings_version: u64, settings: Value, values: Value) -> Value {
    json!({"configs": [
        {"product": SETTINGS_PRODUCT, "id": "s", "version": settings_version, "config": settings},
        {"product": VALUES_PRODUCT, "id": "v", "version": 1, "config": values},
    ]})
}

#[tokio::test]
async fn feed_over_http_follows_the_index_and_survives_outages() {
    let body = Arc::new(Mutex::new((
        200,
        index(1, settings_payload(&[("web", 70), ("api", 60)]), values_payload(&[("api", 3)])),
    )));
    let (url, server) = index_server(body.clone()).await;
    let store = Arc::new(InternalStore::default());
    let feed = feed_for(FeedSource::parse(&url).unwrap().unwrap(), &store);

    feed.poll_once().await;
    assert_eq!(store.len(), 2);
    assert_eq!(internal(&store, "api").await.main.horizontal.map(|h| h.replicas), Some(3));
    let status = feed.status();
    assert_eq!(status.source, url);
    assert_eq!(status.configs[0].path, "datadog/2/CONTAINER_AUTOSCALING_SETTINGS/s/config");
    assert!(status.configs.iter().all(|c| c.state == ApplyState::Acknowledged));

    *body.lock() = (500, json!({}));
    feed.poll_once().await;
    assert_eq!(
        feed.status().source_error.as_deref(),
        Some(format!("GET {url}: HTTP 500 Internal Server Error (expected 200)").as_str())
    );
    assert!(!internal(&store, "web").await.deleted && !internal(&store, "api").await.deleted);

    *body.lock() = (200, json!({"configs": "not a list"}));
    feed.poll_once().await;
    assert!(feed.status().source_error.unwrap().contains("not an index document"));

    *body.lock() = (200, index(2, settings_payload(&[("web", 80)]), values_payload(&[("web", 7)])));
    feed.poll_once().await;
    assert!(feed.status().source_error.is_none());
    assert!(internal(&store, "api").await.deleted);
    let api = internal(&store, "api").await;
    assert!(api.main.horizontal.is_none(), "api left the values: main values dropped");
    let web = internal(&store, "web").await;
    assert_eq!(web.main.horizontal.map(|h| h.replicas), Some(7));
    assert_eq!(web.spec.remote_version, Some(VERSION_OFFSET + 2));
    server.abort();
}

#[tokio::test]
async fn pod_metrics_are_served_and_feed_the_local_recommender() {
    let (dc, admin) = cluster().await;
    create(&admin, deployment("web", 2)).await;
    eventually("2 running pods", || {
        let admin = admin.clone();
        async move {
            let pods = pods_of(&admin, "web").await;
            pods.len() == 2
                && pods.iter().all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        }
    })
    .await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(admin.clone(), "default");
    for pod in pods_of(&admin, "web").await {
        let name = pod.metadata.name.unwrap();
        let patch = json!({"metadata": {"annotations": {"devcluster.autoscaling/usage-cpu": "180m", "devcluster.autoscaling/usage-memory": "64Mi"}}});
        pods.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    }

    // The resource metrics API, with kube-rs.
    let metrics: Api<PodMetrics> = Api::namespaced(admin.clone(), "default");
    let list = metrics.list(&ListParams::default().labels("app=web")).await.unwrap();
    assert_eq!(list.items.len(), 2);
    let one = &list.items[0];
    assert_eq!(one.window.as_deref(), Some("15s"));
    assert!(one.timestamp.as_deref().unwrap().parse::<Timestamp>().is_ok());
    assert_eq!(one.containers[0].usage["cpu"].0, "180000000n");
    assert_eq!(one.containers[0].usage["memory"].0, "65536Ki");
    let name = one.metadata.name.clone().unwrap();
    assert_eq!(metrics.get(&name).await.unwrap().metadata.name.as_deref(), Some(name.as_str()));
    assert!(metrics.list(&ListParams::default().labels("app=other")).await.unwrap().items.is_empty());
    let err = metrics.get("nope").await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 404), "{err}");

    // And with kubectl, discovery included.
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(kubeconfig.path(), dc.kubeconfig_yaml()).unwrap();
    let path = kubeconfig.path().to_path_buf();
    // kubectl runs off the runtime: devcluster serves it from this test's runtime.
    let kubectl = |args: &[&str]| {
        let (path, args): (_, Vec<String>) = (path.clone(), args.iter().map(|a| a.to_string()).collect());
        async move {
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new("kubectl")
                    .env("KUBECONFIG", &path)
                    .env("HOME", path.parent().unwrap())
                    .arg("--request-timeout=20s")
                    .args(&args)
                    .output()
                    .expect("kubectl runs")
            })
            .await
            .unwrap();
            assert!(out.status.success(), "kubectl: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let raw = kubectl(&["get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"]).await;
    let raw: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["kind"], "PodMetricsList");
    assert_eq!(raw["items"].as_array().unwrap().len(), 2);
    let resources = kubectl(&["api-resources", "--api-group=metrics.k8s.io", "--no-headers"]).await;
    assert!(resources.contains("PodMetrics"), "{resources}");

    // The local recommender: 180m used of 100m requested = 1.8 → target 70 → ceil(1.8 / 0.75 × 2) = 5.
    create(&admin, dpa("web", "web")).await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    let target = autoscaling_apiserver::workload::TargetKey {
        namespace: "default".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
    };
    eventually("web's pods indexed", || async { stack.pods.pods_of(&target).len() == 2 }).await;
    let store = Arc::new(InternalStore::default());
    let key = DpaKey::new("default", "web");
    let mut local_spec = dpa("web", "web")["spec"].clone();
    local_spec["owner"] = json!("Local");
    store.get_or_insert_with(&key, || {
        PodAutoscalerInternal::new("default", "web", serde_json::from_value(local_spec).unwrap(), Timestamp::now())
    });
    let config = LocalRecommenderConfig {
        interval: Duration::from_millis(300),
        sample_interval: Duration::from_millis(300),
        ..Default::default()
    };
    let recommender = Arc::new(LocalRecommender::new(
        admin.clone(),
        store.clone(),
        stack.pods.clone(),
        fixed_leadership(true),
        config,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(recommender.clone().run(stopped));
    eventually("a Local fallback recommendation", || async {
        store.get(&key).unwrap().try_lock().is_ok_and(|d| d.fallback.horizontal.is_some())
    })
    .await;
    let fallback = store.get(&key).unwrap().lock().await.fallback.clone();
    let h = fallback.horizontal.unwrap();
    assert_eq!((h.replicas, h.source), (5, ValueSource::Local));
    assert!(fallback.horizontal_error.is_none());
    assert!(recommender.usage().len() >= 2);
    let _ = stop.send(true);
    task.await.unwrap();
    stack.shutdown().await;
    dc.shutdown().await;
}
