//! The lazy start gate: with pods in the cluster but no DPA, nothing asks for pods or workloads
//! and the index is empty; the first DPA opens the gate and the index then holds only the target's
//! pods, watched by label selector; removing the DPA forgets them. A cluster profile alone opens
//! the gate too.

use std::time::Duration;

use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig, TargetKey};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::support::{api_for, cluster, create, deployment, dpa, eventually, pods_of, recording_client};

fn web_target() -> TargetKey {
    TargetKey {
        namespace: "default".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
    }
}

#[tokio::test]
async fn first_dpa_starts_the_pod_index_and_only_target_pods_are_stored() {
    let (dc, admin) = cluster().await;
    create(&admin, deployment("web", 2)).await;
    create(&admin, deployment("other", 3)).await;
    eventually("5 pods created", || {
        let admin = admin.clone();
        async move { pods_of(&admin, "web").await.len() + pods_of(&admin, "other").await.len() == 5 }
    })
    .await;

    let (client, log) = recording_client(&dc).await;
    let stack = AutoscalingStack::start(client, StackConfig::default());
    eventually("DPA list synced", || async { stack.dpas.synced() }).await;
    // Give a misbehaving stack time to ask for pods: nothing may happen here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!stack.gate.is_open());
    assert!(stack.pods.is_empty());
    for resource in ["pods", "deployments", "replicasets", "statefulsets"] {
        assert_eq!(log.for_resource(resource), Vec::<String>::new(), "{resource} requested before any DPA");
    }

    create(&admin, dpa("web", "web")).await;
    eventually("the index holds web's 2 pods", || async {
        stack.pods.synced(&web_target()) && stack.pods.pods_of(&web_target()).len() == 2
    })
    .await;
    assert!(stack.gate.is_open());
    assert_eq!(stack.pods.len(), 2, "only the target's pods are stored: {:?}", stack.pods.targets());
    for (name, pod) in stack.pods.pods_of(&web_target()) {
        assert!(name.starts_with("web-"), "{name}");
        let owner = pod.owner.expect("owner");
        assert_eq!(&*owner.kind, "ReplicaSet");
        assert!(owner.name.starts_with("web-"), "{}", owner.name);
        assert_eq!(pod.containers.len(), 1);
        assert_eq!(pod.containers[0].cpu_request.as_deref(), Some("100m"));
        assert_eq!(pod.containers[0].memory_request.as_deref(), Some("128Mi"));
    }
    let pod_requests = log.for_resource("pods");
    assert!(!pod_requests.is_empty());
    for r in &pod_requests {
        assert!(r.contains("labelSelector=app%3Dweb"), "pod request without the target's selector: {r}");
    }
    assert!(log.all().iter().any(|r| r.starts_with("GET /apis/apps/v1/namespaces/default/deployments/web")));

    let web = api_for(&admin, &deployment("web", 0));
    web.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 3}}))).await.unwrap();
    eventually("the scale-up's pod indexed", || async { stack.pods.pods_of(&web_target()).len() == 3 }).await;
    assert_eq!(stack.pods.len(), 3);

    api_for(&admin, &dpa("web", "web")).delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the target's pods forgotten", || async { stack.pods.is_empty() && stack.pods.targets().is_empty() })
        .await;
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn a_cluster_profile_alone_opens_the_gate_without_watching_pods() {
    let (dc, admin) = cluster().await;
    create(&admin, deployment("web", 1)).await;
    let (client, log) = recording_client(&dc).await;
    let stack = AutoscalingStack::start(client, StackConfig::default());
    eventually("DPA list synced", || async { stack.dpas.synced() }).await;
    assert!(!stack.gate.is_open());
    let profile = json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscalerClusterProfile",
        "metadata": {"name": "rightsize"},
        "spec": {"template": {"objectives": [{"type": "PodResource",
            "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]}}});
    create(&admin, profile).await;
    eventually("gate open", || async { stack.gate.is_open() }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stack.pods.is_empty());
    assert_eq!(log.for_resource("pods"), Vec::<String>::new(), "no DPA target: no pod watch");
    stack.shutdown().await;
    dc.shutdown().await;
}
