//! Resources served under two group/versions share one storage: HPA autoscaling/v2 ↔ v1 and
//! core/v1 ↔ events.k8s.io/v1 Events are converted on the way in and out.

use serde_json::json;

use super::support::{get, raw, start};

#[tokio::test]
async fn hpa_written_as_v2_reads_as_v1() {
    let dc = start().await;
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}
    });
    let (code, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        "application/json",
        hpa.to_string(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, v1) = get(&dc, "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web").await;
    assert_eq!(code, 200, "{v1}");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    let (_, list) = get(&dc, "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers").await;
    assert_eq!(list["items"][0]["spec"]["maxReplicas"], 5);
}

#[tokio::test]
async fn events_are_one_storage_for_two_groups() {
    let dc = start().await;
    let ev = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.1"},
        "eventTime": "2026-11-23T10:00:00.000000Z",
        "reportingController": "datadog-workload-autoscaler", "reportingInstance": "dca-0",
        "action": "Scale", "reason": "SuccessfulScale", "type": "Normal", "note": "scaled to 4",
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default"}
    });
    let (code, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/events.k8s.io/v1/namespaces/default/events",
        "application/json",
        ev.to_string(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, core) = get(&dc, "/api/v1/namespaces/default/events/web.1").await;
    assert_eq!(code, 200, "{core}");
    assert_eq!(core["message"], "scaled to 4");
    assert_eq!(core["involvedObject"]["name"], "web");
    let (_, selected) =
        get(&dc, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb,reason%3DSuccessfulScale")
            .await;
    assert_eq!(selected["items"].as_array().unwrap().len(), 1, "{selected}");
    let (_, none) = get(&dc, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dother").await;
    assert!(none["items"].as_array().unwrap().is_empty());
}
