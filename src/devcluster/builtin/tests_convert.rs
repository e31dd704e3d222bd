use serde_json::json;

use super::convert_hpa::{BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, METRICS_ANNOTATION};
use super::*;

fn hpa_v1(target: Option<i64>) -> serde_json::Value {
    let mut spec = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 5
    });
    if let Some(t) = target {
        spec["targetCPUUtilizationPercentage"] = json!(t);
    }
    json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

#[test]
fn hpa_v1_cpu_target_to_v2() {
    let v2 = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", hpa_v1(Some(50))).unwrap();
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
               "target": {"type": "Utilization", "averageUtilization": 50}}}])
    );
    assert_eq!(v2["spec"]["maxReplicas"], 5);
    assert_eq!(v2["spec"]["scaleTargetRef"]["name"], "web");
    assert!(v2["metadata"].get("annotations").is_none());
}

#[test]
fn hpa_v1_without_target_defaults_to_80_percent() {
    let v2 = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", hpa_v1(None)).unwrap();
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
}

#[test]
fn hpa_v2_cpu_target_to_v1_and_back() {
    let v2 = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", hpa_v1(Some(65))).unwrap();
    let v1 = convert("autoscaling", "HorizontalPodAutoscaler", "v2", "v1", v2.clone()).unwrap();
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 65);
    assert!(v1["metadata"].get("annotations").is_none(), "{v1}");
    let again = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", v1).unwrap();
    assert_eq!(again, v2);
}

#[test]
fn hpa_v2_extra_metrics_and_status_travel_in_annotations() {
    let v2 = json!({
        "metadata": {"name": "h", "annotations": {"keep": "me"}},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                         "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}
        },
        "status": {
            "currentReplicas": 2, "desiredReplicas": 2,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42, "averageValue": "100m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "R"}]
        }
    });
    let v1 = convert("autoscaling", "HorizontalPodAutoscaler", "v2", "v1", v2).unwrap();
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
    assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 42);
    let anns = &v1["metadata"]["annotations"];
    assert_eq!(anns["keep"], "me");
    assert_eq!(anns[METRICS_ANNOTATION], r#"[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#);
    assert_eq!(
        anns[CONDITIONS_ANNOTATION],
        r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"R"}]"#
    );
    assert_eq!(
        anns[BEHAVIOR_ANNOTATION],
        r#"{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Min","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":60}],"Tolerance":null}}"#
    );

    let back = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", v1).unwrap();
    assert_eq!(back["metadata"]["annotations"], json!({"keep": "me"}));
    let metrics = back["spec"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[0]["pods"]["metric"]["name"], "qps");
    assert_eq!(metrics[1]["resource"]["target"]["averageUtilization"], 70);
    assert_eq!(back["spec"]["behavior"]["scaleDown"]["policies"][0]["value"], 4);
    assert!(back["spec"]["behavior"].get("scaleUp").is_none());
    assert_eq!(back["status"]["conditions"][0]["type"], "AbleToScale");
    assert_eq!(back["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 42);
}

#[test]
fn hpa_bad_annotation_fails_decode_like_kube() {
    let mut v1 = hpa_v1(Some(10));
    v1["metadata"]["annotations"] = json!({(METRICS_ANNOTATION): "not json"});
    let err = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v2", v1).unwrap_err();
    let msg = err.to_string();
    let prefix = "HorizontalPodAutoscaler in version \"v1\" cannot be handled as a HorizontalPodAutoscaler: ";
    assert!(msg.starts_with(prefix), "{msg}");
}

#[test]
fn hpa_v2_first_cpu_metric_decides_v1_target() {
    let v2 = json!({
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                 "metrics": [
                     {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}},
                     {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}
                 ]}
    });
    let v1 = convert("autoscaling", "HorizontalPodAutoscaler", "v2", "v1", v2).unwrap();
    assert!(v1["spec"].get("targetCPUUtilizationPercentage").is_none(), "{v1}");
    assert_eq!(
        v1["metadata"]["annotations"][METRICS_ANNOTATION],
        r#"[{"type":"Resource","resource":{"name":"cpu","targetAverageValue":"500m"}}]"#
    );
}

#[test]
fn event_core_to_events_and_back() {
    let core = json!({
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Started", "message": "hello", "type": "Normal",
        "source": {"component": "kubelet"}, "count": 3,
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:05Z",
        "reportingComponent": "kubelet", "reportingInstance": "node-1"
    });
    let ev = convert("", "Event", "v1", "events.k8s.io/v1", core).unwrap();
    assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
    assert_eq!(ev["regarding"]["name"], "p");
    assert_eq!(ev["note"], "hello");
    assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
    assert_eq!(ev["deprecatedCount"], 3);
    assert_eq!(ev["deprecatedFirstTimestamp"], "2024-01-01T00:00:00Z");
    assert_eq!(ev["reportingController"], "kubelet");
    assert_eq!(ev["reportingInstance"], "node-1");
    assert!(ev.get("message").is_none());

    let again = convert("events.k8s.io", "Event", "v1", "v1", back_to_core(&ev)).unwrap();
    assert_eq!(again, ev);
    let back = convert("", "Event", "v1", "v1", ev).unwrap();
    assert_eq!(back["apiVersion"], "v1");
    assert_eq!(back["involvedObject"]["kind"], "Pod");
    assert_eq!(back["message"], "hello");
    assert_eq!(back["count"], 3);
    assert_eq!(back["reportingComponent"], "kubelet");
}

#[test]
fn unsupported_conversions_error() {
    let err = convert("apps", "Deployment", "v1", "v2", json!({})).unwrap_err();
    assert!(matches!(err, NormalizeError::UnsupportedConversion { .. }));
    let err = convert("autoscaling", "HorizontalPodAutoscaler", "v1", "v3", json!({}));
    assert!(err.is_err());
    let same = convert("apps", "Deployment", "v1", "v1", json!({"metadata": {"name": "d"}}));
    assert_eq!(same.unwrap()["kind"], "Deployment");
}

fn back_to_core(ev: &serde_json::Value) -> serde_json::Value {
    convert("", "Event", "events.k8s.io/v1", "v1", ev.clone()).unwrap()
}

#[test]
fn event_source_version_comes_from_the_object() {
    // Caller passes the *target* group, as ops.rs does for storage.
    let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                    "metadata": {"name": "e"}, "note": "n", "reportingController": "c"});
    let core = convert("", "Event", "v1", "v1", ev).unwrap();
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "n");
    let back = convert("events.k8s.io", "Event", "v1", "v1", core).unwrap();
    assert_eq!(back["apiVersion"], "events.k8s.io/v1");
    assert_eq!(back["reportingController"], "c");
}
