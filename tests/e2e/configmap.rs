//! `use_datadogmetric_crd: false` selects the legacy ConfigMap provider (spec §9) in the stack
//! `serve` and `dev` run: an HPA on a plain Datadog metric gets its `datadog-custom-metrics`
//! entry, the leader fills it from the simulated API, reads through devcluster's aggregation
//! layer return it, and `/status` and `/readyz` name the provider.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, PostParams};
use serde_json::json;

use super::support::{dev_stack, eventually, read_path, status_of, value_of};

const PLAIN_PATH: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nginx.net.request_per_s?labelSelector=kube_deployment%3Dweb";

#[tokio::test]
async fn the_configmap_provider_serves_plain_metric_hpas_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dev_stack(&dir, 17.0, &[("DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "false")]).await;
    let admin = stack.cluster.client().await.unwrap();
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"minReplicas": 1, "maxReplicas": 3,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "metrics": [{"type": "External", "external": {
                "metric": {"name": "nginx.net.request_per_s", "selector": {"matchLabels": {"kube_deployment": "web"}}},
                "target": {"type": "AverageValue", "averageValue": "1k"}}}]}
    }))
    .unwrap();
    Api::<HorizontalPodAutoscaler>::namespaced(admin, "default").create(&PostParams::default(), &hpa).await.unwrap();

    let body = eventually("the plain metric through the aggregation layer", Duration::from_secs(60), || async {
        let (code, body) = read_path(&stack, PLAIN_PATH).await;
        (code == 200 && value_of(&body) == Some(17.0)).then_some(body)
    })
    .await;
    assert_eq!(body["items"][0]["metricName"], "nginx.net.request_per_s", "{body}");

    let doc = status_of(&stack.stack).await;
    assert_eq!(doc.provider, "configmap");
    assert!(doc.synced);
    let entry = doc.datadog_metrics.iter().find(|m| m.id.contains("plain")).expect("the HPA's entry in /status");
    assert!(entry.valid && entry.value == Some(17.0), "{entry:?}");

    let ready = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
        .get(format!("https://{}/readyz?verbose", stack.stack.server.secure_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ready.contains("[+]external metrics configmap synced ok"), "{ready}");
    stack.shutdown().await;
}
