//! The workload simulation through kube-rs (and kubectl for rollouts): Deployments own ReplicaSets
//! own Running/Ready pods, scaling, rolling and Recreate updates, StatefulSets, in-place resize,
//! eviction under a PodDisruptionBudget, garbage collection.

mod resize;
mod rollout;
mod statefulset;

use std::time::Duration;

use autoscaling_apiserver::devcluster::DevCluster;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::support::{raw, start};

const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";

/// Polls `check` until it yields a value (60 s at most: tests share two cores).
pub async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn deployment(name: &str, replicas: i32, strategy: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "strategy": strategy,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": "registry.example/web:1",
                                                   "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
        }
    }))
    .unwrap()
}

pub fn is_ready(p: &Pod) -> bool {
    let conditions = p.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Waits until the Deployment's rollout is complete with `n` replicas, and returns it.
pub async fn rolled_out(api: &Api<Deployment>, name: &str, n: i32) -> Deployment {
    wait_for(&format!("deployment {name} with {n} available replicas"), async || {
        let d = api.get(name).await.ok()?;
        let s = d.status.clone()?;
        let done = s.observed_generation == d.metadata.generation
            && s.updated_replicas.unwrap_or(0) == n
            && s.replicas.unwrap_or(0) == n
            && s.available_replicas.unwrap_or(0) == n;
        done.then_some(d)
    })
    .await
}

pub async fn pods_of(client: &kube::Client, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default().labels(&format!("app={app}"))).await.unwrap().items
}

fn annotation<'a>(meta: &'a kube::api::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

#[tokio::test]
async fn deployment_owns_a_hashed_replica_set_owning_ready_pods() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("web", 3, json!({"type": "RollingUpdate"}))).await.unwrap();
    let d = rolled_out(&deploys, "web", 3).await;
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs_list = sets.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rs_list.len(), 1);
    let rs = &rs_list[0];
    let rs_name = rs.metadata.name.clone().unwrap();
    let hash = rs.metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    assert_eq!(rs_name, format!("web-{hash}"));
    assert!(!hash.is_empty() && hash.len() <= 10 && hash.chars().all(|c| SAFE.contains(c)), "{hash}");
    let spec = rs.spec.as_ref().unwrap();
    assert_eq!(spec.selector.match_labels.as_ref().unwrap()["pod-template-hash"], hash);
    assert_eq!(
        spec.template.as_ref().unwrap().metadata.as_ref().unwrap().labels.as_ref().unwrap()["pod-template-hash"],
        hash
    );
    assert_eq!(annotation(&rs.metadata, "deployment.kubernetes.io/revision"), Some("1"));
    assert_eq!(annotation(&rs.metadata, "deployment.kubernetes.io/desired-replicas"), Some("3"));
    assert_eq!(annotation(&rs.metadata, "deployment.kubernetes.io/max-replicas"), Some("4"), "3 + 25% rounded up");
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Deployment", "web"));
    assert_eq!(Some(&owner.uid), d.metadata.uid.as_ref());
    assert_eq!((owner.controller, owner.block_owner_deletion), (Some(true), Some(true)));
    let rs = wait_for("replica set status", async || {
        let rs = sets.get(&rs_name).await.ok()?;
        (rs.status.as_ref()?.available_replicas == Some(3)).then_some(rs)
    })
    .await;
    let s = rs.status.unwrap();
    assert_eq!((s.replicas, s.fully_labeled_replicas, s.ready_replicas), (3, Some(3), Some(3)));
    assert_eq!(s.observed_generation, Some(1));

    let pods = pods_of(&client, "web").await;
    assert_eq!(pods.len(), 3);
    let mut ips = Vec::new();
    for p in &pods {
        let name = p.metadata.name.clone().unwrap();
        let suffix =
            name.strip_prefix(&format!("{rs_name}-")).unwrap_or_else(|| panic!("{name} named after {rs_name}"));
        assert!(suffix.len() == 5 && suffix.chars().all(|c| SAFE.contains(c)), "{name}");
        let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("ReplicaSet", rs_name.as_str(), Some(true))
        );
        assert_eq!(p.metadata.labels.as_ref().unwrap()["pod-template-hash"], hash);
        assert_eq!(p.spec.as_ref().unwrap().node_name.as_deref(), Some("devcluster-node-1"));
        let st = p.status.as_ref().unwrap();
        assert_eq!(st.phase.as_deref(), Some("Running"));
        assert!(is_ready(p), "{name} ready");
        let kinds: Vec<&str> = st.conditions.as_ref().unwrap().iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(kinds, ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]);
        let ip = st.pod_ip.clone().unwrap();
        assert!(ip.starts_with("10.244."), "{ip}");
        ips.push(ip);
        assert_eq!(st.host_ip.as_deref(), Some("172.18.0.2"));
        assert!(st.start_time.is_some());
        let c = &st.container_statuses.as_ref().unwrap()[0];
        assert_eq!((c.name.as_str(), c.ready, c.started, c.restart_count), ("app", true, Some(true), 0));
        assert_eq!(c.image, "registry.example/web:1");
        assert!(c.image_id.starts_with("registry.example/web@sha256:"), "{}", c.image_id);
        assert!(c.state.as_ref().unwrap().running.is_some());
        let requests = c.resources.as_ref().unwrap().requests.as_ref().unwrap();
        assert_eq!(requests["cpu"].0, "100m");
        assert_eq!(c.allocated_resources.as_ref().unwrap()["memory"].0, "64Mi");
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "unique pod IPs");

    let s = d.status.unwrap();
    assert_eq!((s.ready_replicas, s.unavailable_replicas), (Some(3), None));
    assert_eq!(d.metadata.generation, Some(1), "controller bookkeeping does not bump generation");
    assert_eq!(annotation(&d.metadata, "deployment.kubernetes.io/revision"), Some("1"));
    let conditions = s.conditions.unwrap();
    let available = conditions.iter().find(|c| c.type_ == "Available").unwrap();
    assert_eq!((available.status.as_str(), available.reason.as_deref()), ("True", Some("MinimumReplicasAvailable")));
    assert_eq!(available.message.as_deref(), Some("Deployment has minimum availability."));
    let progressing = conditions.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetAvailable"));
    assert_eq!(progressing.message.clone().unwrap(), format!("ReplicaSet \"{rs_name}\" has successfully progressed."));
}

#[tokio::test]
async fn scale_subresource_drives_the_replica_set_and_pods() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("web", 3, json!({"type": "RollingUpdate"}))).await.unwrap();
    rolled_out(&deploys, "web", 3).await;
    for n in [5, 1] {
        let scale = json!({"spec": {"replicas": n}});
        deploys.patch_scale("web", &PatchParams::default(), &Patch::Merge(&scale)).await.unwrap();
        let d = rolled_out(&deploys, "web", n).await;
        assert_eq!(d.status.unwrap().ready_replicas, Some(n));
        let pods = wait_for(&format!("{n} pods"), async || {
            let pods = pods_of(&client, "web").await;
            (pods.len() == n as usize && pods.iter().all(is_ready)).then_some(pods)
        })
        .await;
        assert_eq!(pods.len(), n as usize);
    }
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs = &sets.list(&ListParams::default()).await.unwrap().items[0];
    assert_eq!(rs.spec.as_ref().unwrap().replicas, Some(1));
    assert_eq!(annotation(&rs.metadata, "deployment.kubernetes.io/desired-replicas"), Some("1"));
    assert_eq!(sets.list(&ListParams::default()).await.unwrap().items.len(), 1, "scaling makes no new ReplicaSet");
}

#[tokio::test]
async fn deleting_a_deployment_collects_its_replica_sets_and_pods() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("gone", 2, json!({"type": "RollingUpdate"}))).await.unwrap();
    rolled_out(&deploys, "gone", 2).await;
    deploys.delete("gone", &DeleteParams::background()).await.unwrap();
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    wait_for("replica sets and pods collected", async || {
        let rs = sets.list(&ListParams::default()).await.ok()?.items;
        (rs.is_empty() && pods_of(&client, "gone").await.is_empty()).then_some(())
    })
    .await;
}

async fn evict(dc: &DevCluster, pod: &str) -> (u16, Value) {
    let body =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": "default"}});
    let path = format!("/api/v1/namespaces/default/pods/{pod}/eviction");
    raw(dc, reqwest::Method::POST, &path, "application/json", body.to_string()).await
}

#[tokio::test]
async fn eviction_honours_the_budget_and_the_replica_set_replaces_the_pod() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("db", 3, json!({"type": "RollingUpdate"}))).await.unwrap();
    rolled_out(&deploys, "db", 3).await;
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let pdb =
        json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "db"}}}});
    pdbs.create(&PostParams::default(), &serde_json::from_value(pdb).unwrap()).await.unwrap();
    let status = wait_for("budget status", async || {
        let s = pdbs.get("db").await.ok()?.status?;
        (s.observed_generation == Some(1)).then_some(s)
    })
    .await;
    assert_eq!((status.current_healthy, status.desired_healthy, status.expected_pods), (3, 3, 3));
    assert_eq!(status.disruptions_allowed, 0);
    let cond = &status.conditions.unwrap()[0];
    assert_eq!(
        (cond.type_.as_str(), cond.status.as_str(), cond.reason.as_str()),
        ("DisruptionAllowed", "False", "InsufficientPods")
    );

    let victim = pods_of(&client, "db").await[0].metadata.name.clone().unwrap();
    let (code, body) = evict(&dc, &victim).await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(body["details"]["causes"][0]["reason"], "DisruptionBudget");
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget db needs 3 healthy pods and has 3 currently"
    );

    let relax = json!({"spec": {"minAvailable": 2}});
    pdbs.patch("db", &PatchParams::default(), &Patch::Merge(&relax)).await.unwrap();
    let (code, body) = evict(&dc, &victim).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["status"], "Success");
    let pods = wait_for("the evicted pod replaced", async || {
        let pods = pods_of(&client, "db").await;
        let replaced = pods.len() == 3 && pods.iter().all(is_ready);
        (replaced && pods.iter().all(|p| p.metadata.name.as_deref() != Some(victim.as_str()))).then_some(pods)
    })
    .await;
    assert_eq!(pods.len(), 3);
    let status = wait_for("budget recomputed", async || {
        let s = pdbs.get("db").await.ok()?.status?;
        (s.observed_generation == Some(2) && s.current_healthy == 3 && s.disrupted_pods.is_none()).then_some(s)
    })
    .await;
    assert_eq!((status.desired_healthy, status.disruptions_allowed), (2, 1));
}

/// resourceVersion of every object in the populated namespaces.
async fn versions(client: &kube::Client) -> Vec<(String, String)> {
    let pods: Api<Pod> = Api::all(client.clone());
    let sets: Api<ReplicaSet> = Api::all(client.clone());
    let lp = ListParams::default();
    let mut out: Vec<(String, String)> = Vec::new();
    for p in pods.list(&lp).await.unwrap().items {
        out.push((format!("pod {}", p.metadata.name.unwrap()), p.metadata.resource_version.unwrap()));
    }
    for rs in sets.list(&lp).await.unwrap().items {
        out.push((format!("rs {}", rs.metadata.name.unwrap()), rs.metadata.resource_version.unwrap()));
    }
    out.sort();
    out
}

#[tokio::test]
async fn populated_workloads_are_already_consistent_and_left_alone() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    // 2,005 pods: the last ReplicaSet has 5, not 10.
    let spec = autoscaling_apiserver::devcluster::PopulateSpec { pods: 2005, namespaces: 4, pods_per_owner: 10 };
    dc.populate(&spec).unwrap();
    let before = versions(&client).await;
    assert_eq!(before.iter().filter(|(k, _)| k.starts_with("pod ")).count(), 2005);
    // A Deployment rolled out afterwards proves the controllers have worked through the populated changes.
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("sentinel", 1, json!({"type": "RollingUpdate"}))).await.unwrap();
    rolled_out(&deploys, "sentinel", 1).await;
    let after: Vec<(String, String)> =
        versions(&client).await.into_iter().filter(|(k, _)| !k.contains("sentinel")).collect();
    let changed: Vec<_> = before.iter().zip(&after).filter(|(a, b)| a != b).take(3).collect();
    assert_eq!(before.len(), after.len(), "no pod created or deleted");
    assert!(changed.is_empty(), "populated objects rewritten: {changed:?}");
}

#[tokio::test]
async fn populated_deployments_are_already_rolled_out_and_left_alone() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    // 23 pods in Deployments of 5 over 3 namespaces: the last Deployment has 3.
    let spec = autoscaling_apiserver::devcluster::PopulateSpec { pods: 23, namespaces: 3, pods_per_owner: 5 };
    assert_eq!(dc.populate_deployments(&spec, "svc").unwrap(), 3 + 5 * 2 + 23);
    let before = versions(&client).await;
    assert_eq!(before.iter().filter(|(k, _)| k.starts_with("pod ")).count(), 23);
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "bench-1");
    // The controllers' verdict: each populated Deployment is rolled out (its status written).
    rolled_out(&deploys, "svc-1", 5).await;
    rolled_out(&deploys, "svc-4", 3).await;
    let sentinel: Api<Deployment> = Api::namespaced(client.clone(), "default");
    sentinel
        .create(&PostParams::default(), &deployment("sentinel", 1, json!({"type": "RollingUpdate"})))
        .await
        .unwrap();
    rolled_out(&sentinel, "sentinel", 1).await;
    let after: Vec<(String, String)> =
        versions(&client).await.into_iter().filter(|(k, _)| !k.contains("sentinel")).collect();
    let changed: Vec<_> = before.iter().zip(&after).filter(|(a, b)| a != b).take(3).collect();
    assert_eq!(before.len(), after.len(), "no pod or ReplicaSet created or deleted");
    assert!(changed.is_empty(), "populated pods or ReplicaSets rewritten: {changed:?}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench-1");
    let owned = pods.list(&ListParams::default().labels("app=svc-1")).await.unwrap().items;
    assert_eq!(owned.len(), 5);
    let rs = &owned[0].metadata.owner_references.as_ref().unwrap()[0].name;
    let sets: Api<ReplicaSet> = Api::namespaced(client, "bench-1");
    let owner = sets.get(rs).await.unwrap().metadata.owner_references.unwrap();
    assert_eq!((owner[0].kind.as_str(), owner[0].name.as_str()), ("Deployment", "svc-1"));
}

#[tokio::test]
async fn budgets_scale_percentages_by_the_controllers_and_fail_sync_without_one() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("api", 4, json!({"type": "RollingUpdate"}))).await.unwrap();
    rolled_out(&deploys, "api", 4).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let bare = json!({"metadata": {"name": "bare", "labels": {"app": "bare"}},
                      "spec": {"containers": [{"name": "c", "image": "c:1"}]}});
    pods.create(&PostParams::default(), &serde_json::from_value(bare).unwrap()).await.unwrap();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    for (name, app, spec) in [
        ("max", "api", json!({"maxUnavailable": "25%"})),
        ("min", "api", json!({"minAvailable": "50%"})),
        ("orphan", "bare", json!({"minAvailable": "50%"})),
    ] {
        let mut spec = spec;
        spec["selector"] = json!({"matchLabels": {"app": app}});
        let pdb = json!({"metadata": {"name": name}, "spec": spec});
        pdbs.create(&PostParams::default(), &serde_json::from_value(pdb).unwrap()).await.unwrap();
    }
    let status_of = async |name: &str| {
        wait_for(&format!("budget {name}"), async || {
            let s = pdbs.get(name).await.ok()?.status?;
            (s.observed_generation == Some(1) && s.conditions.is_some()).then_some(s)
        })
        .await
    };
    let max = status_of("max").await;
    assert_eq!((max.expected_pods, max.desired_healthy, max.disruptions_allowed), (4, 3, 1), "{max:?}");
    let min = status_of("min").await;
    assert_eq!((min.expected_pods, min.desired_healthy, min.disruptions_allowed), (4, 2, 2), "{min:?}");
    let orphan = status_of("orphan").await;
    let cond = &orphan.conditions.unwrap()[0];
    assert_eq!((cond.status.as_str(), cond.reason.as_str()), ("False", "SyncFailed"));
    assert_eq!(cond.message, "found no controllers for pod \"bare\"");
    assert_eq!(orphan.disruptions_allowed, 0);

    let victim = pods_of(&client, "api").await[0].metadata.name.clone().unwrap();
    let (code, body) = evict(&dc, &victim).await;
    assert_eq!(code, 500, "{body}");
    assert_eq!(
        body["message"],
        "Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "kube answers with apierrors.NewInternalError"
    );
    wait_for("bare pod running", async || pods.get("bare").await.ok().filter(is_ready)).await;
    let (code, body) = evict(&dc, "bare").await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "The disruption budget orphan does not allow evicting pods currently because it failed sync: found no controllers for pod \"bare\""
    );
}
