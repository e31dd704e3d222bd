//! The `/autoscaling` webhook re-applies forced resources and constraints to the values the
//! controller published and gives pods the controller's resources and recommendation ID.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::super::constraints::REMOVE_LIMIT;
use super::super::*;
use super::{recommendation, resources};
use crate::workload::crd::{DatadogPodAutoscaler, DatadogPodAutoscalerSpec};
use crate::workload::dpa_store::{DpaEntry, DpaStore};
use crate::workload::gate::AutoscalingGate;
use crate::workload::hash::stable_hash;
use crate::workload::webhook::{WebhookState, review};

/// The DPA object the webhook reads: the spec and annotations, and the status the controller
/// published (`status.vertical.target` from `vertical_constrained`), optionally without sentinels.
fn published(
    spec: Value,
    annotations: Value,
    constrained: &Constrained,
    strip_sentinels: bool,
) -> DatadogPodAutoscaler {
    let mut desired = constrained.resources.clone();
    if strip_sentinels {
        for c in &mut desired {
            if let Some(l) = c.limits.as_mut() {
                l.retain(|_, q| q.0 != REMOVE_LIMIT);
            }
        }
    }
    serde_json::from_value(json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": "web", "namespace": "prod", "annotations": annotations}, "spec": spec,
        "status": {"vertical": {"target": {"source": "Autoscaling", "version": constrained.id, "podCPURequest": "1",
            "podMemoryRequest": "1Gi", "desiredResources": desired}}}}))
    .unwrap()
}

/// The pod the webhook returns for a new pod of prod/web.
fn admitted(dpa: &DatadogPodAutoscaler) -> Value {
    let store = Arc::new(DpaStore::default());
    store.upsert(DpaEntry::from_object(dpa).unwrap());
    let gate = Arc::new(AutoscalingGate::default());
    gate.open("test");
    let state = WebhookState { gate, dpas: store };
    let pod = json!({"metadata": {"generateName": "web-7c9d5b6f4-", "namespace": "prod",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9d5b6f4", "uid": "u"}]},
        "spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "4", "memory": "8Gi"}}},
            {"name": "sidecar"}]}});
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "1", "namespace": "prod", "operation": "CREATE", "object": pod}});
    let out: Value = serde_json::from_slice(&review(&serde_json::to_vec(&body).unwrap(), &state)).unwrap();
    let raw = base64::engine::general_purpose::STANDARD.decode(out["response"]["patch"].as_str().unwrap()).unwrap();
    let ops: json_patch::Patch = serde_json::from_slice(&raw).unwrap();
    let mut patched = pod.clone();
    json_patch::patch(&mut patched, &ops).unwrap();
    patched
}

#[test]
fn the_webhook_gives_pods_the_controllers_resources_and_id() {
    let cases = [
        ("plain", json!({}), json!({})),
        ("clamped", json!({"constraints": {"containers": [{"name": "*", "maxAllowed": {"cpu": "300m"}}]}}), json!({})),
        (
            "forced and clamped",
            json!({"constraints": {"containers": [{"name": "app", "maxAllowed": {"memory": "300Mi"}}]}}),
            json!({FORCE_RESOURCES_ANNOTATION: r#"[{"name": "app", "requests": {"cpu": "2"}}]"#}),
        ),
        ("burstable", json!({"options": {"burstable": true}}), json!({})),
        ("burstable by preview", json!({}), json!({PREVIEW_ANNOTATION: r#"{"burstable": true}"#})),
        (
            "remove cpu limit, requests only elsewhere",
            json!({"constraints": {"containers": [
                {"name": "app", "controlledValues": "CPURequestsRemoveLimitsMemoryRequestsAndLimits"},
                {"name": "*", "controlledValues": "RequestsOnly"}]}}),
            json!({}),
        ),
    ];
    for (case, extra, annotations) in cases {
        let mut spec =
            json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let typed: DatadogPodAutoscalerSpec = serde_json::from_value(spec.clone()).unwrap();
        let annotations_map: BTreeMap<String, String> = serde_json::from_value(annotations.clone()).unwrap();
        let reco = recommendation();
        let controller = constrain(&reco, &stable_hash(&reco), &VerticalInputs::of(&typed, &annotations_map)).unwrap();
        for strip in [false, true] {
            let pod = admitted(&published(spec.clone(), annotations.clone(), &controller, strip));
            assert_eq!(
                pod["metadata"]["annotations"]["autoscaling.datadoghq.com/rec-id"].as_str(),
                Some(controller.id.as_str()),
                "{case} (sentinels stripped: {strip})"
            );
            let app =
                resources(json!([{"name": "app", "requests": pod["spec"]["containers"][0]["resources"]["requests"],
                "limits": pod["spec"]["containers"][0]["resources"]["limits"]}]));
            let wanted = &controller.resources[0];
            for (name, q) in wanted.requests.iter().flatten() {
                assert_eq!(app[0].requests.as_ref().unwrap().get(name), Some(q), "{case}: request {name}");
            }
            for (name, q) in wanted.limits.iter().flatten() {
                let got = app[0].limits.as_ref().and_then(|l| l.get(name));
                if q.0 == REMOVE_LIMIT {
                    assert_eq!(got, None, "{case}: the cpu limit is removed");
                } else {
                    assert_eq!(got, Some(q), "{case}: limit {name}");
                }
            }
        }
    }
}

#[test]
fn a_paused_dpa_patches_no_resources() {
    let reco = recommendation();
    let c = constrain(&reco, "v1", &VerticalInputs::default()).unwrap();
    let spec = json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    let pod = admitted(&published(spec, json!({PAUSE_ANNOTATION: "true"}), &c, false));
    assert_eq!(pod["metadata"]["annotations"]["autoscaling.datadoghq.com/autoscaler-id"], "prod/web");
    assert!(pod["metadata"]["annotations"].get("autoscaling.datadoghq.com/rec-id").is_none());
    assert_eq!(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"], "100m");
}
