//! The pod index's own list-and-watch loop against devcluster: it follows the target's pods
//! across watches the server closes (resuming from the last resourceVersion, no new list) and
//! across expired history (410 Gone: listing again), ending with exactly the target's pods.

use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig, TargetKey};
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::support::{RequestLog, api_for, cluster, create, deployment, dpa, eventually, pods_of, recording_client};

fn web() -> TargetKey {
    TargetKey {
        namespace: "default".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
    }
}

async fn scale(admin: &kube::Client, replicas: i32) {
    let api = api_for(admin, &deployment("web", 0));
    api.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": replicas}}))).await.unwrap();
}

/// Waits until the index holds exactly the Deployment's `replicas` pods, by name.
async fn index_matches(stack: &AutoscalingStack, admin: &kube::Client, replicas: usize, what: &str) {
    eventually(what, || async {
        let mut live: Vec<String> = pods_of(admin, "web")
            .await
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name)
            .collect();
        live.sort();
        let indexed: Vec<String> = stack.pods.pods_of(&web()).into_iter().map(|(n, _)| n).collect();
        live.len() == replicas && indexed == live
    })
    .await;
}

/// Pod lists (not watches) the stack's client sent.
fn pod_lists(log: &RequestLog) -> usize {
    log.for_resource("pods").iter().filter(|r| r.starts_with("GET ") && !r.contains("watch=true")).count()
}

#[tokio::test]
async fn the_pod_index_follows_closed_watches_and_expired_history() {
    let (dc, admin): (DevCluster, kube::Client) = cluster().await;
    create(&admin, deployment("web", 2)).await;
    eventually("web's 2 pods", || async { pods_of(&admin, "web").await.len() == 2 }).await;
    let (client, log) = recording_client(&dc).await;
    let stack = AutoscalingStack::start(client, StackConfig::default());
    create(&admin, dpa("web", "web")).await;
    index_matches(&stack, &admin, 2, "the index holds web's 2 pods").await;
    assert!(stack.pods.synced(&web()));
    assert_eq!(pod_lists(&log), 1, "{:?}", log.for_resource("pods"));

    // Closed watches resume from the last resourceVersion: the new pod arrives, no new list.
    // (Closed until a resumed watch is seen: a close before the first watch is open misses it.)
    let watches = || log.for_resource("pods").iter().filter(|r| r.contains("watch=true")).count();
    eventually("the pod watch closed and resumed", || async {
        dc.faults().close_watches();
        watches() >= 2
    })
    .await;
    scale(&admin, 3).await;
    index_matches(&stack, &admin, 3, "the index holds web's 3 pods after the watches closed").await;
    assert_eq!(pod_lists(&log), 1, "{:?}", log.for_resource("pods"));

    // History expired while the watch is down: the resume gets 410 Gone and the index relists,
    // dropping the pods deleted in the gap. An object the watch does not see moves the cluster's
    // resourceVersion past the watch's own (even one a bookmark gave it), so the resume is older
    // than the compaction.
    create(
        &admin,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gap", "namespace": "default"}}),
    )
    .await;
    dc.expire_history();
    dc.faults().close_watches();
    scale(&admin, 1).await;
    eventually("a second pod list after 410 Gone", || async {
        dc.faults().close_watches();
        pod_lists(&log) >= 2
    })
    .await;
    index_matches(&stack, &admin, 1, "the index holds web's 1 pod after the history expired").await;
    assert_eq!(stack.pods.len(), 1);
    stack.shutdown().await;
    dc.shutdown().await;
}
