//! The webhook in the path it exists for: pods a Deployment's ReplicaSet creates on scale-up reach
//! it (as the replicaset-controller), are mutated, and a failing webhook blocks them with
//! `failurePolicy: Fail` but not with `Ignore`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::super::support::{get, raw};
use super::hook_server::{Answer, allow, patch};
use super::{controller_owned, post, register, responder, setup, webhook};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const WEB_PODS: &str = "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb";
const MUTATED: &str = "autoscaling.datadoghq.com/mutated";

async fn pods(dc: &autoscaling_apiserver::devcluster::DevCluster) -> Vec<Value> {
    let (code, list) = get(dc, WEB_PODS).await;
    assert_eq!(code, 200, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn wait_pods(dc: &autoscaling_apiserver::devcluster::DevCluster, n: usize, what: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let items = pods(dc).await;
        if items.len() == n {
            return items;
        }
        assert!(Instant::now() < deadline, "{what}: {} pods after 60 s, want {n}", items.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn scale(dc: &autoscaling_apiserver::devcluster::DevCluster, replicas: u32) {
    let path = format!("{DEPLOYMENTS}/web/scale");
    let body = json!({"spec": {"replicas": replicas}}).to_string();
    let (code, out) = raw(dc, Method::PATCH, &path, "application/merge-patch+json", body).await;
    assert_eq!(code, 200, "{out}");
}

fn mutated(pod: &Value) -> bool {
    pod["metadata"]["annotations"][MUTATED] == "yes"
}

#[tokio::test]
async fn deployment_scale_up_pods_are_mutated_and_a_failing_webhook_follows_its_policy() {
    let slow = Arc::new(AtomicBool::new(false));
    let mode = slow.clone();
    let (dc, hook) = setup(responder(move |_| {
        if mode.load(Ordering::SeqCst) {
            Answer::Slow(Duration::from_secs(5), Box::new(allow()))
        } else {
            patch(json!([{"op": "add", "path": "/metadata/annotations", "value": {MUTATED: "yes"}}]))
        }
    }))
    .await;
    let extra = json!({"timeoutSeconds": 2, "failurePolicy": "Fail", "matchConditions": controller_owned()});
    register(&dc, "autoscaling", vec![webhook("autoscaling.datadoghq.com", &hook, "/autoscaling", extra)]).await;
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let (code, body) = post(&dc, DEPLOYMENTS, &deployment).await;
    assert_eq!(code, 201, "{body}");

    let items = wait_pods(&dc, 2, "initial rollout").await;
    assert!(items.iter().all(mutated), "every ReplicaSet pod went through the webhook: {items:?}");
    let calls = hook.recorded();
    assert_eq!(calls.len(), 2, "one review per pod");
    let review = calls[0].request();
    assert_eq!(review["userInfo"]["username"], "system:serviceaccount:kube-system:replicaset-controller");
    assert_eq!(review["object"]["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    assert!(review["object"]["metadata"]["name"].is_null() && review["name"].is_null(), "named after admission");

    // Scale-up through the scale subresource: the new pod is mutated too.
    scale(&dc, 3).await;
    let items = wait_pods(&dc, 3, "scale to 3").await;
    assert!(items.iter().all(mutated), "{items:?}");

    // The webhook stops answering in time: with Fail, no pod can be created.
    slow.store(true, Ordering::SeqCst);
    scale(&dc, 4).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(pods(&dc).await.len(), 3, "failurePolicy Fail blocks the ReplicaSet's pod");
    assert!(hook.recorded().len() > 3, "the ReplicaSet kept trying");

    // With Ignore, the pod is created once the call times out, unmutated.
    let path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/autoscaling";
    let ignore = json!([{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}]).to_string();
    let (code, out) = raw(&dc, Method::PATCH, path, "application/json-patch+json", ignore).await;
    assert_eq!(code, 200, "{out}");
    let items = wait_pods(&dc, 4, "scale to 4 with Ignore").await;
    assert_eq!(items.iter().filter(|p| !mutated(p)).count(), 1, "the pod admitted past the timeout is not mutated");
    dc.shutdown().await;
}
