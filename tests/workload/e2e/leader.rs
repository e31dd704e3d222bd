//! A leader change through a real Lease: two `serve` stacks on the same Lease and feed directory.
//! The leader scales once (a scale-up rule allows one more pod per 10 minutes, so it stops short
//! of the recommendation); it crashes (no Lease release); the follower takes the Lease once it
//! expires, has the DPA restored from
//! `status` (the action included), applies the feed and does not scale again; its webhook patches
//! pods both while following and after taking over.

use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::workload::recommender::feed::ApplyState;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

use super::super::serve::{register_shipped_webhooks, wait_ready, webhook_calls};
use super::super::support::{NS, create, deployment, eventually, serve_cluster};
use super::{AUTOSCALER_ID, Feed, annotation, dpas, events, live_pods, name, scale_writes, serve, settings};

/// One pod more per 10 minutes, up to 5.
fn remote_spec() -> Value {
    json!({"owner": "Remote", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "applyPolicy": {"mode": "Apply",
            "scaleUp": {"strategy": "Max", "stabilizationWindowSeconds": 0,
                "rules": [{"type": "Pods", "value": 1, "periodSeconds": 600}]},
            "scaleDown": {"strategy": "Max", "stabilizationWindowSeconds": 300,
                "rules": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}},
        "constraints": {"minReplicas": 1, "maxReplicas": 5},
        "objectives": [{"type": "PodResource",
            "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]})
}

fn feed_states(stack: &Stack) -> Vec<ApplyState> {
    let feed = stack.workload.as_ref().and_then(|w| w.feed.clone()).expect("the feed runs");
    feed.status().configs.iter().map(|c| c.state).collect()
}

async fn replicas(admin: &kube::Client) -> Option<i32> {
    let api: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(admin.clone(), "default");
    api.get("web").await.ok()?.spec?.replicas
}

/// `(replicas, toReplicas)` of the horizontal actions in web's status.
async fn status_actions(admin: &kube::Client) -> Vec<(i32, i32)> {
    let Ok(dpa) = dpas(admin).get("web").await else { return Vec::new() };
    let actions = dpa.status.and_then(|s| s.horizontal).and_then(|h| h.last_actions).unwrap_or_default();
    actions.iter().map(|a| (a.replicas, a.to_replicas)).collect()
}

#[tokio::test]
async fn the_new_leader_restores_from_status_and_does_not_scale_again() {
    let (dc, admin) = serve_cluster().await;
    let feed = Feed::new();
    let (a, a_log) = serve(&dc, &settings("e2e-a", &feed, &[])).await;
    eventually("e2e-a leads", || async { a.leader.is_leader_now() }).await;
    let (b, b_log) = serve(&dc, &settings("e2e-b", &feed, &[])).await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    eventually("e2e-b follows e2e-a", || async {
        !b.leader.is_leader_now() && b.leader.holder().as_deref() == Some("e2e-a")
    })
    .await;
    // The follower's webhook serves the cluster from start to end.
    register_shipped_webhooks(&admin, &b).await;
    create(&admin, deployment("web", 1)).await;
    eventually("web's first pod", || async { live_pods(&admin, "web").await.len() == 1 }).await;
    let first = name(&live_pods(&admin, "web").await[0]);

    feed.settings(1, &[("web", remote_spec())]);
    feed.values(1, &[("web", Some(3), None)]);
    eventually("e2e-a scaled web 1 → 2, recorded in status", || async {
        replicas(&admin).await == Some(2) && status_actions(&admin).await == [(1, 2)]
    })
    .await;
    eventually("web's 2 live pods", || async { live_pods(&admin, "web").await.len() == 2 }).await;
    assert_eq!(scale_writes(&a_log).len(), 1, "{:?}", scale_writes(&a_log));
    assert_eq!(scale_writes(&b_log), Vec::<String>::new(), "the follower never scales");
    assert_eq!(events(&admin, "SuccessfulScale").await.len(), 1);
    // The follower reads the same directory on its own poll: it holds the configs, unapplied.
    eventually("e2e-b holds the feed's configs unacknowledged", || async {
        let states = feed_states(&b);
        !states.is_empty() && states.iter().all(|s| *s == ApplyState::Unacknowledged)
    })
    .await;
    for pod in live_pods(&admin, "web").await.iter().filter(|p| name(p) != first) {
        assert_eq!(annotation(pod, AUTOSCALER_ID), Some("default/web"), "{}: patched by the follower", name(pod));
    }

    // The leader crashes (every task aborted, the Lease not released); the follower takes it once
    // it expires: within the 4 s lease duration of its last observation plus one retry period.
    a.abort().await;
    let crashed = std::time::Instant::now();
    eventually("e2e-b takes the Lease", || async { b.leader.is_leader_now() }).await;
    assert!(crashed.elapsed() < std::time::Duration::from_secs(8), "took {:?}", crashed.elapsed());
    let leases: Api<Lease> = Api::namespaced(admin.clone(), NS);
    let lease = leases.get("datadog-leader-election").await.unwrap();
    assert_eq!(lease.spec.and_then(|s| s.holder_identity).as_deref(), Some("e2e-b"));
    eventually("e2e-b applies the feed", || async {
        let states = feed_states(&b);
        !states.is_empty() && states.iter().all(|s| *s == ApplyState::Acknowledged)
    })
    .await;

    // A fresh recommendation, still 3: the new leader records it, and its scale-up rule, from the
    // action restored from status, still allows no pod more.
    let stamp = feed.values(2, &[("web", Some(3), None)]);
    eventually("e2e-b recorded the fresh recommendation in status", || async {
        let Ok(dpa) = dpas(&admin).get("web").await else { return false };
        let history = dpa.status.and_then(|s| s.horizontal).and_then(|h| h.last_recommendations).unwrap_or_default();
        history.iter().any(|r| r.generated_at.as_ref().is_some_and(|t| t.0.as_second() >= stamp.as_second()))
    })
    .await;
    assert_eq!(replicas(&admin).await, Some(2));
    assert_eq!(scale_writes(&b_log), Vec::<String>::new(), "no duplicate scale action");
    assert_eq!(events(&admin, "SuccessfulScale").await.len(), 1);
    assert_eq!(status_actions(&admin).await, [(1, 2)]);

    // The webhook still patches: a replacement pod after the leader change.
    let calls = webhook_calls(&b);
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(admin.clone(), "default");
    pods.delete(&first, &DeleteParams::default()).await.unwrap();
    eventually("the replacement pod, patched", || async {
        let live = live_pods(&admin, "web").await;
        live.len() == 2 && live.iter().all(|p| name(p) != first && annotation(p, AUTOSCALER_ID) == Some("default/web"))
    })
    .await;
    assert!(webhook_calls(&b) > calls);
    b.shutdown().await;
    dc.shutdown().await;
}
