//! StatefulSets: ordinal pods created in order (each after the previous is Ready), revision labels
//! and their ControllerRevision, scale-down from the highest ordinal.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use super::super::support::start;
use super::{is_ready, wait_for};

fn stateful_set(replicas: i32) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {"replicas": replicas, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}
    }))
    .unwrap()
}

/// The `app=db` pods now, and the resourceVersion to watch from.
async fn snapshot(pods: &Api<Pod>) -> (String, Vec<Pod>) {
    let list = pods.list(&ListParams::default().labels("app=db")).await.unwrap();
    (list.metadata.resource_version.clone().unwrap(), list.items)
}

/// Ordered (ADDED or DELETED, name) events of the `app=db` pods after `from`, until `done` says stop.
async fn watch_order(
    pods: &Api<Pod>,
    from: (String, Vec<Pod>),
    mut done: impl FnMut(&[Pod]) -> bool,
) -> Vec<(String, String)> {
    let mut order = Vec::new();
    let (rv, mut live) = from;
    let params = WatchParams::default().labels("app=db").timeout(120);
    let mut stream = pods.watch(&params, &rv).await.unwrap().boxed();
    let fut = async {
        while let Some(event) = stream.try_next().await.unwrap() {
            let (kind, pod) = match event {
                WatchEvent::Added(p) => ("ADDED", p),
                WatchEvent::Modified(p) => ("MODIFIED", p),
                WatchEvent::Deleted(p) => ("DELETED", p),
                _ => continue,
            };
            let name = pod.metadata.name.clone().unwrap();
            live.retain(|p| p.metadata.name.as_deref() != Some(name.as_str()));
            if kind == "ADDED" {
                // OrderedReady: every lower ordinal is Running and Ready when the next one appears.
                let ordinal: usize = name.rsplit('-').next().unwrap().parse().unwrap();
                for lower in 0..ordinal {
                    let p = live.iter().find(|p| p.metadata.name.as_deref() == Some(&format!("db-{lower}")));
                    assert!(p.is_some_and(is_ready), "{name} created before db-{lower} was ready");
                }
            }
            if kind != "MODIFIED" {
                order.push((kind.to_string(), name));
            }
            if kind != "DELETED" {
                live.push(pod);
            }
            if done(&live) {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(90), fut).await.expect("pods settle in time");
    order
}

#[tokio::test]
async fn stateful_set_creates_ordinals_in_order_and_removes_from_the_top() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let from = snapshot(&pods).await;
    sets.create(&PostParams::default(), &stateful_set(3)).await.unwrap();
    let order = watch_order(&pods, from, |live| live.len() == 3 && live.iter().all(is_ready)).await;
    let added: Vec<&str> = order.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(added, ["db-0", "db-1", "db-2"]);

    let sts = wait_for("stateful set status", async || {
        let s = sets.get("db").await.ok()?;
        (s.status.as_ref()?.ready_replicas == Some(3)).then_some(s)
    })
    .await;
    let status = sts.status.unwrap();
    assert_eq!((status.replicas, status.current_replicas, status.updated_replicas), (3, Some(3), Some(3)));
    assert_eq!((status.available_replicas, status.observed_generation), (Some(3), Some(1)));
    let revision = status.update_revision.clone().unwrap();
    assert_eq!(status.current_revision.as_ref(), Some(&revision));
    assert!(revision.starts_with("db-"), "{revision}");
    for i in 0..3 {
        let p = pods.get(&format!("db-{i}")).await.unwrap();
        let labels = p.metadata.labels.clone().unwrap();
        assert_eq!(labels["controller-revision-hash"], revision);
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], format!("db-{i}"));
        assert_eq!(labels["apps.kubernetes.io/pod-index"], i.to_string());
        let spec = p.spec.unwrap();
        assert_eq!((spec.hostname.unwrap(), spec.subdomain.as_deref()), (format!("db-{i}"), Some("db")));
        let owner = &p.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("StatefulSet", Some(true)));
    }
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let cr = revisions.get(&revision).await.unwrap();
    assert_eq!(cr.revision, 1);
    assert!(cr.data.unwrap().0["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:16");

    let from = snapshot(&pods).await;
    sets.patch_scale("db", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 1}}))).await.unwrap();
    let order = watch_order(&pods, from, |live| live.len() == 1).await;
    let deleted: Vec<&str> = order.iter().filter(|(k, _)| k == "DELETED").map(|(_, n)| n.as_str()).collect();
    assert_eq!(deleted, ["db-2", "db-1"]);
    let left = pods.list(&ListParams::default().labels("app=db")).await.unwrap().items;
    assert_eq!(left.iter().map(|p| p.metadata.name.clone().unwrap()).collect::<Vec<_>>(), ["db-0"]);
}
