//! Rollouts on a pod-template change, watched pod by pod: RollingUpdate never exceeds its surge nor
//! its unavailability budget, Recreate never runs two revisions at once; `kubectl rollout status`.

use std::collections::BTreeMap;
use std::process::Command;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use super::super::support::start;
use super::{deployment, is_ready, rolled_out};

/// What a pod watch saw during a rollout.
#[derive(Debug, Default)]
struct Seen {
    max_pods: usize,
    min_ready: usize,
    /// Largest number of distinct pod-template-hash values present at once.
    max_revisions: usize,
    names: usize,
}

fn hash_of(p: &Pod) -> String {
    p.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash").cloned()).unwrap_or_default()
}

/// Watches the app's pods from `rv` until all `n` are ready on a hash other than `old_hash`.
async fn watch_rollout(api: Api<Pod>, app: String, rv: String, start: Vec<Pod>, n: usize, old_hash: String) -> Seen {
    let mut pods: BTreeMap<String, Pod> = start.into_iter().map(|p| (p.metadata.name.clone().unwrap(), p)).collect();
    let mut seen = Seen { min_ready: usize::MAX, ..Default::default() };
    let mut names: std::collections::BTreeSet<String> = pods.keys().cloned().collect();
    let params = WatchParams::default().labels(&format!("app={app}")).timeout(120);
    let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Added(p) | WatchEvent::Modified(p) => {
                names.insert(p.metadata.name.clone().unwrap());
                pods.insert(p.metadata.name.clone().unwrap(), p);
            }
            WatchEvent::Deleted(p) => {
                pods.remove(p.metadata.name.as_deref().unwrap());
            }
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => panic!("watch error: {e:?}"),
        }
        let ready = pods.values().filter(|p| is_ready(p)).count();
        let hashes: std::collections::BTreeSet<String> = pods.values().map(hash_of).collect();
        seen.max_pods = seen.max_pods.max(pods.len());
        seen.min_ready = seen.min_ready.min(ready);
        seen.max_revisions = seen.max_revisions.max(hashes.len());
        if pods.len() == n && ready == n && hashes.len() == 1 && !hashes.contains(&old_hash) {
            break;
        }
    }
    seen.names = names.len();
    seen
}

/// Starts a rollout of `app` by changing a template annotation and returns what the watch saw.
async fn roll(client: &kube::Client, app: &str, n: usize) -> Seen {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await.unwrap();
    let old_hash = hash_of(&list.items[0]);
    let rv = list.metadata.resource_version.clone().unwrap();
    let watcher = tokio::spawn(watch_rollout(pods, app.into(), rv, list.items, n, old_hash));
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let change = json!({"spec": {"template": {"metadata": {"annotations": {"example.com/restarted": "2"}}}}});
    deploys.patch(app, &PatchParams::default(), &Patch::Merge(&change)).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(90), watcher).await.expect("rollout finishes").unwrap()
}

async fn replica_sets(client: &kube::Client) -> Vec<ReplicaSet> {
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let mut items = sets.list(&ListParams::default()).await.unwrap().items;
    items.sort_by_key(|rs| rs.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"].clone());
    items
}

#[tokio::test]
async fn rolling_update_stays_within_surge_and_unavailability() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}});
    deploys.create(&PostParams::default(), &deployment("roll", 4, strategy)).await.unwrap();
    rolled_out(&deploys, "roll", 4).await;
    let seen = roll(&client, "roll", 4).await;
    assert!(seen.max_pods <= 5, "surge exceeded: {seen:?}");
    assert!(seen.min_ready >= 3, "unavailability exceeded: {seen:?}");
    assert_eq!(seen.names, 8, "four pods replaced: {seen:?}");
    assert_eq!(seen.max_revisions, 2, "old and new pods overlapped: {seen:?}");
    let d = rolled_out(&deploys, "roll", 4).await;
    assert_eq!(d.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"], "2");
    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].spec.as_ref().unwrap().replicas, Some(0), "old ReplicaSet scaled to zero");
    assert_eq!(sets[1].spec.as_ref().unwrap().replicas, Some(4));
    assert_eq!(sets[1].metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"], "2");
    let template = sets[1].spec.as_ref().unwrap().template.as_ref().unwrap();
    assert_eq!(template.metadata.as_ref().unwrap().annotations.as_ref().unwrap()["example.com/restarted"], "2");
}

#[tokio::test]
async fn recreate_stops_every_old_pod_before_starting_new_ones() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("rec", 2, json!({"type": "Recreate"}))).await.unwrap();
    rolled_out(&deploys, "rec", 2).await;
    let seen = roll(&client, "rec", 2).await;
    assert_eq!(seen.max_revisions, 1, "old and new pods never coexist: {seen:?}");
    assert_eq!(seen.min_ready, 0, "Recreate goes through zero: {seen:?}");
    assert_eq!(seen.names, 4);
    let sets = replica_sets(&client).await;
    assert_eq!(sets.iter().map(|rs| rs.spec.as_ref().unwrap().replicas.unwrap()).collect::<Vec<_>>(), [0, 2]);
}

/// Runs kubectl against the cluster (kubeconfig written into `dir`) and returns its output.
async fn kubectl(dir: &std::path::Path, args: &[&str]) -> String {
    let mut c = Command::new("kubectl");
    c.env("KUBECONFIG", dir.join("kubeconfig")).env("HOME", dir).arg("--request-timeout=20s").args(args);
    let out = tokio::task::spawn_blocking(move || c.output()).await.unwrap().expect("kubectl runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubectl {args:?}:\n{text}");
    text
}

#[tokio::test]
async fn kubectl_scales_and_waits_for_the_rollout() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("web", 1, json!({"type": "RollingUpdate"}))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), dc.kubeconfig_yaml()).unwrap();
    let d = dir.path();
    let out = kubectl(d, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let out = kubectl(d, &["scale", "deployment/web", "--replicas=3"]).await;
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    let out = kubectl(d, &["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let out = kubectl(d, &["get", "deployment", "web", "--no-headers"]).await;
    assert_eq!(out.split_whitespace().nth(1), Some("3/3"), "{out}");
    let out = kubectl(d, &["get", "nodes", "--no-headers"]).await;
    assert!(out.starts_with("devcluster-node-1"), "{out}");
}
