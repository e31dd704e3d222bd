//! In-place resize through `pods/resize`: PodResizeInProgress then applied; Infeasible beyond the
//! node's allocatable; Deferred while other pods hold the room, applied once they go; the
//! `devcluster.io/resize-outcome` test hook.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use super::super::support::start;
use super::{is_ready, wait_for};

fn pod(name: &str, cpu: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "app:1",
                                 "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}, "limits": {"memory": "128Mi"}}}]}
    }))
    .unwrap()
}

async fn running(pods: &Api<Pod>, name: &str) -> Pod {
    wait_for(&format!("{name} ready"), async || pods.get(name).await.ok().filter(is_ready)).await
}

async fn resize(pods: &Api<Pod>, name: &str, cpu: &str) {
    let patch =
        json!({"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}]}});
    let out = pods.patch_subresource("resize", name, &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    let spec_cpu = &out.spec.unwrap().containers[0].resources.clone().unwrap().requests.unwrap()["cpu"];
    assert_eq!(spec_cpu.0, cpu, "spec takes the new resources at once");
}

fn condition(p: &Pod, kind: &str) -> Option<k8s_openapi::api::core::v1::PodCondition> {
    p.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == kind).cloned()
}

fn status_cpu(p: &Pod) -> String {
    let s = &p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0];
    s.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0.clone()
}

async fn resize_settled(pods: &Api<Pod>, name: &str, cpu: &str) -> Pod {
    wait_for(&format!("{name} resized to {cpu}"), async || {
        let p = pods.get(name).await.ok()?;
        let settled = condition(&p, "PodResizePending").is_none() && condition(&p, "PodResizeInProgress").is_none();
        (settled && status_cpu(&p) == cpu).then_some(p)
    })
    .await
}

#[tokio::test]
async fn resize_goes_through_in_progress_and_is_applied() {
    let dc = start().await;
    let pods: Api<Pod> = Api::namespaced(dc.client().await.unwrap(), "default");
    pods.create(&PostParams::default(), &pod("web", "500m")).await.unwrap();
    let before = running(&pods, "web").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    resize(&pods, "web", "1").await;
    let params = WatchParams::default().fields("metadata.name=web").timeout(60);
    let mut stream = pods.watch(&params, &rv).await.unwrap().boxed();
    let mut saw_in_progress = false;
    let watched = async {
        while let Some(WatchEvent::Modified(p)) = stream.try_next().await.unwrap() {
            if let Some(c) = condition(&p, "PodResizeInProgress") {
                assert_eq!(c.status, "True");
                let s = &p.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0];
                assert_eq!(s.allocated_resources.as_ref().unwrap()["cpu"].0, "1", "allocated before actuated");
                assert_eq!(status_cpu(&p), "500m", "not actuated yet");
                saw_in_progress = true;
            } else if status_cpu(&p) == "1" {
                return p;
            }
        }
        panic!("watch ended before the resize was applied");
    };
    let applied = tokio::time::timeout(std::time::Duration::from_secs(60), watched).await.expect("resize applied");
    assert!(saw_in_progress, "PodResizeInProgress was reported");
    assert!(condition(&applied, "PodResizePending").is_none());
    assert!(is_ready(&applied));
    assert_eq!(applied.status.unwrap().container_statuses.unwrap()[0].restart_count, 0);
}

#[tokio::test]
async fn resize_beyond_the_node_is_infeasible() {
    let dc = start().await;
    let pods: Api<Pod> = Api::namespaced(dc.client().await.unwrap(), "default");
    pods.create(&PostParams::default(), &pod("big", "500m")).await.unwrap();
    running(&pods, "big").await;
    resize(&pods, "big", "100").await;
    let p = wait_for("Infeasible", async || {
        let p = pods.get("big").await.ok()?;
        condition(&p, "PodResizePending").map(|c| (p, c))
    })
    .await;
    let (p, c) = p;
    assert_eq!((c.status.as_str(), c.reason.as_deref()), ("True", Some("Infeasible")));
    assert_eq!(c.message.as_deref(), Some("Node didn't have enough capacity: cpu, requested: 100000, capacity: 8000"));
    assert_eq!(status_cpu(&p), "500m", "an infeasible resize is not applied");
    // Asking for what fits clears it.
    resize(&pods, "big", "2").await;
    resize_settled(&pods, "big", "2").await;
}

#[tokio::test]
async fn deferred_resize_waits_for_room_on_the_node() {
    let dc = start().await;
    let pods: Api<Pod> = Api::namespaced(dc.client().await.unwrap(), "default");
    pods.create(&PostParams::default(), &pod("hog", "6")).await.unwrap();
    pods.create(&PostParams::default(), &pod("app", "1")).await.unwrap();
    running(&pods, "hog").await;
    running(&pods, "app").await;
    resize(&pods, "app", "3").await;
    let c = wait_for("Deferred", async || condition(&pods.get("app").await.ok()?, "PodResizePending")).await;
    assert_eq!(c.reason.as_deref(), Some("Deferred"));
    assert_eq!(
        c.message.as_deref(),
        Some("Node didn't have enough resource: cpu, requested: 3000, used: 6000, capacity: 8000")
    );
    pods.delete("hog", &DeleteParams::default()).await.unwrap();
    resize_settled(&pods, "app", "3").await;
}

#[tokio::test]
async fn the_test_hook_holds_a_resize_in_the_asked_state() {
    let dc = start().await;
    let pods: Api<Pod> = Api::namespaced(dc.client().await.unwrap(), "default");
    let mut p = pod("held", "500m");
    p.metadata.annotations = Some([("devcluster.io/resize-outcome".to_string(), "Deferred".to_string())].into());
    pods.create(&PostParams::default(), &p).await.unwrap();
    running(&pods, "held").await;
    resize(&pods, "held", "750m").await;
    let c = wait_for("held Deferred", async || condition(&pods.get("held").await.ok()?, "PodResizePending")).await;
    assert_eq!(c.reason.as_deref(), Some("Deferred"));
    assert!(c.message.unwrap().contains("devcluster.io/resize-outcome"));
    let infeasible = json!({"metadata": {"annotations": {"devcluster.io/resize-outcome": "Infeasible"}}});
    pods.patch("held", &PatchParams::default(), &Patch::Merge(&infeasible)).await.unwrap();
    wait_for("held Infeasible", async || {
        let c = condition(&pods.get("held").await.ok()?, "PodResizePending")?;
        (c.reason.as_deref() == Some("Infeasible")).then_some(())
    })
    .await;
    let release = json!({"metadata": {"annotations": {"devcluster.io/resize-outcome": null}}});
    pods.patch("held", &PatchParams::default(), &Patch::Merge(&release)).await.unwrap();
    resize_settled(&pods, "held", "750m").await;
}
