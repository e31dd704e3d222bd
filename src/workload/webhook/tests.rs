//! The webhook driven directly: closed gate, patches per §10.10, and bad input.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::*;
use crate::workload::crd::DatadogPodAutoscaler;

fn state(dpas: &[Value]) -> WebhookState {
    let store = Arc::new(DpaStore::default());
    for d in dpas {
        let dpa: DatadogPodAutoscaler = serde_json::from_value(d.clone()).unwrap();
        store.upsert(DpaEntry::from_object(&dpa).unwrap());
    }
    WebhookState { gate: Arc::new(AutoscalingGate::default()), dpas: store }
}

fn dpa(name: &str, target: &str, extra_spec: Value, vertical: Option<Value>) -> Value {
    let mut spec =
        json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}});
    for (k, v) in extra_spec.as_object().cloned().unwrap_or_default() {
        spec[k] = v;
    }
    let mut obj = json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": "prod"}, "spec": spec});
    if let Some(v) = vertical {
        obj["status"] = json!({"vertical": {"target": v}});
    }
    obj
}

fn vertical() -> Value {
    json!({"source": "Autoscaling", "version": "8d4b1f0c", "podCPURequest": "250m", "podMemoryRequest": "512Mi",
        "desiredResources": [
            {"name": "app", "requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            {"name": "proxy", "requests": {"cpu": "50m"}, "runtime": {"gomemlimit": "400MiB"}}]})
}

fn pod(owner_rs: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": format!("{owner_rs}-"), "labels": {"app": "web", "pod-template-hash": "7c9d5b6f4"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner_rs, "uid": "u1", "controller": true}]},
        "spec": {
            "containers": [
                {"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "100m"}}},
                {"name": "other", "image": "o:1"}],
            "initContainers": [
                {"name": "proxy", "image": "p:1", "restartPolicy": "Always", "env": [{"name": "GOMEMLIMIT", "value": "1GiB"}]},
                {"name": "migrate", "image": "m:1"}]}})
}

fn review_of(object: Value) -> Vec<u8> {
    let r = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "namespace": "prod", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": object}});
    serde_json::to_vec(&r).unwrap()
}

fn answer(state: &WebhookState, body: &[u8]) -> Value {
    let out: Value = serde_json::from_slice(&review(body, state)).unwrap();
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
    out["response"].clone()
}

fn patch_of(response: &Value) -> Value {
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let raw = base64::engine::general_purpose::STANDARD.decode(response["patch"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Applies the webhook's patch to the pod, as kube-apiserver does.
fn patched(pod: &Value, response: &Value) -> Value {
    let ops: json_patch::Patch = serde_json::from_value(patch_of(response)).unwrap();
    let mut out = pod.clone();
    json_patch::patch(&mut out, &ops).unwrap();
    out
}

#[test]
fn closed_gate_allows_without_patch_even_for_garbage() {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical()))]);
    for object in [pod("web-7c9d5b6f4"), json!("not a pod"), json!({"spec": {"containers": 42}})] {
        let r = answer(&s, &review_of(object));
        assert_eq!(r, json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true}));
    }
    let r = answer(&s, b"\x00 definitely not json");
    assert_eq!(r, json!({"uid": "", "allowed": true}));
}

#[test]
fn open_gate_patches_resources_annotations_and_gomemlimit() {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical()))]);
    s.gate.open("test");
    let pod = pod("web-7c9d5b6f4");
    let r = answer(&s, &review_of(pod.clone()));
    assert_eq!(r["allowed"], true);
    let out = patched(&pod, &r);
    let annotations = &out["metadata"]["annotations"];
    assert_eq!(annotations["autoscaling.datadoghq.com/autoscaler-id"], "prod/web");
    assert_eq!(annotations["autoscaling.datadoghq.com/rec-id"], "8d4b1f0c");
    assert_eq!(
        out["spec"]["containers"][0]["resources"],
        json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}})
    );
    assert_eq!(out["spec"]["containers"][1], pod["spec"]["containers"][1], "no recommendation for `other`");
    let proxy = &out["spec"]["initContainers"][0];
    assert_eq!(proxy["resources"], json!({"requests": {"cpu": "50m"}}));
    assert_eq!(proxy["env"], json!([{"name": "GOMEMLIMIT", "value": "400MiB"}]));
    assert_eq!(out["spec"]["initContainers"][1], pod["spec"]["initContainers"][1], "not a sidecar");
}

#[test]
fn without_vertical_values_or_with_updates_disabled_only_the_autoscaler_id_is_set() {
    let disabled = json!({"applyPolicy": {"update": {"strategy": "Disabled"}}});
    for d in [dpa("web", "web", json!({}), None), dpa("web", "web", disabled, Some(vertical()))] {
        let s = state(&[d]);
        s.gate.open("test");
        let pod = pod("web-7c9d5b6f4");
        let out = patched(&pod, &answer(&s, &review_of(pod.clone())));
        assert_eq!(out["metadata"]["annotations"], json!({"autoscaling.datadoghq.com/autoscaler-id": "prod/web"}));
        assert_eq!(out["spec"], pod["spec"]);
    }
}

#[test]
fn pods_of_other_workloads_preview_dpas_and_ownerless_pods_are_untouched() {
    let preview = json!({"applyPolicy": {"mode": "Preview"}});
    let s = state(&[dpa("web", "web", json!({}), Some(vertical())), dpa("api", "api", preview, Some(vertical()))]);
    s.gate.open("test");
    let mut ownerless = pod("web-7c9d5b6f4");
    ownerless["metadata"].as_object_mut().unwrap().remove("ownerReferences");
    for object in [pod("api-7c9d5b6f4"), pod("web-manual"), pod("worker-7c9d5b6f4"), ownerless] {
        let r = answer(&s, &review_of(object));
        assert_eq!(r, json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true}));
    }
}

#[test]
fn bad_input_is_allowed_with_a_message_naming_the_problem() {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical())), dpa("web-2", "web", json!({}), None)]);
    s.gate.open("test");
    let r = answer(&s, &review_of(pod("web-7c9d5b6f4")));
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none());
    assert_eq!(
        r["status"]["message"],
        "pod web-7c9d5b6f4-* of Deployment prod/web (apps/v1): several autoscalers target it (prod/web, prod/web-2), not patching"
    );
    let r = answer(&s, &review_of(json!({"spec": {"containers": 42}})));
    assert_eq!(r["allowed"], true);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.starts_with("AdmissionReview with an unreadable pod: invalid type: integer `42`"), "{message}");
}

/// The response to a review whose `request` is `request`, gate open, DPA `web` with a recommendation.
fn answer_request(request: Value) -> Value {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical()))]);
    s.gate.open("test");
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
    answer(&s, &serde_json::to_vec(&body).unwrap())
}

fn pod_request(extra: Value) -> Value {
    let mut r = json!({"uid": "u-9", "namespace": "prod", "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": pod("web-7c9d5b6f4")});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        r[k] = v;
    }
    r
}

fn message_of(response: &Value) -> &str {
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("patch").is_none(), "{response}");
    response["status"]["message"].as_str().unwrap_or_else(|| panic!("a message: {response}"))
}

#[test]
fn reviews_of_anything_but_a_pod_create_are_allowed_unpatched_with_a_message() {
    let deployment = json!({"kind": {"group": "apps", "version": "v1", "kind": "Deployment"}});
    assert_eq!(
        message_of(&answer_request(pod_request(deployment))),
        "AdmissionReview for apps/v1 Deployment: /autoscaling patches only pods"
    );
    assert_eq!(
        message_of(&answer_request(pod_request(json!({"operation": "UPDATE"})))),
        "AdmissionReview for a pod UPDATE: /autoscaling patches pods only on CREATE"
    );
    assert_eq!(
        message_of(&answer_request(pod_request(json!({"object": null})))),
        "AdmissionReview for a pod CREATE without request.object: nothing to patch"
    );
    let s = state(&[]);
    s.gate.open("test");
    for body in [json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}), json!({"request": null})] {
        let r = answer(&s, &serde_json::to_vec(&body).unwrap());
        assert_eq!(message_of(&r), "AdmissionReview without a request: nothing to patch");
        assert_eq!(r["uid"], "");
    }
    let garbage: [&[u8]; 4] = [b"{\"request\": {\"uid\": \"u\", \"object\": ", b"null", b"\"pod\"", b"\xff\xfe"];
    for garbage in garbage {
        let r = answer(&s, garbage);
        assert!(message_of(&r).starts_with("AdmissionReview with an unreadable pod: "), "{r}");
    }
    let r = answer_request(pod_request(json!({"kind": "Pod"})));
    assert!(message_of(&r).starts_with("AdmissionReview with an unreadable pod: invalid type: string"), "{r}");
}

#[test]
fn absurd_pod_resources_and_odd_owners_never_fail_the_pod() {
    // Resources of every type and size: the webhook compares text only, then sets its values.
    let mut absurd = pod("web-7c9d5b6f4");
    absurd["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "1e30", "memory": -1}, "limits": {"cpu": {"x": 1}, "memory": "abc"}});
    let r = answer_request(pod_request(json!({"object": absurd.clone()})));
    let out = patched(&absurd, &r);
    assert_eq!(
        out["spec"]["containers"][0]["resources"],
        json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": {"x": 1}, "memory": "1Gi"}})
    );
    let mut not_a_map = pod("web-7c9d5b6f4");
    not_a_map["spec"]["containers"][0]["resources"] = json!({"requests": "lots"});
    let r = answer_request(pod_request(json!({"object": not_a_map})));
    assert!(message_of(&r).starts_with("AdmissionReview with an unreadable pod: "), "{r}");

    // An owner kind nobody autoscales, and a ReplicaSet that does not exist: resolved from the
    // names alone (as the DCA does), so the latter still belongs to Deployment web.
    let mut unknown = pod("web-7c9d5b6f4");
    unknown["metadata"]["ownerReferences"] = json!([{"apiVersion": "example.com/v1", "kind": "Gizmo", "name": "web"}]);
    assert_eq!(answer_request(pod_request(json!({"object": unknown}))), json!({"uid": "u-9", "allowed": true}));
    let missing_rs = pod("web-5f6d7c8b9d");
    let r = answer_request(pod_request(json!({"object": missing_rs.clone()})));
    assert_eq!(patched(&missing_rs, &r)["metadata"]["annotations"]["autoscaling.datadoghq.com/rec-id"], "8d4b1f0c");
    let mut nameless = pod("web-7c9d5b6f4");
    nameless["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet"}, {"kind": "Deployment", "name": "web"}]);
    assert_eq!(answer_request(pod_request(json!({"object": nameless}))), json!({"uid": "u-9", "allowed": true}));

    // A pod claiming a Deployment as its direct owner is not one of its replicas (spec §10.10).
    let mut direct = pod("web-7c9d5b6f4");
    direct["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]);
    assert_eq!(
        message_of(&answer_request(pod_request(json!({"object": direct})))),
        "pod web-7c9d5b6f4-* is owned directly by Deployment prod/web: not a pod of its ReplicaSets, not patching"
    );
}

#[test]
fn a_review_read_once_or_rejected_still_answers_its_uid_in_its_api_version() {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical()))]);
    s.gate.open("test");
    let mut body = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
        "request": {"uid": "u-\"7\"", "namespace": "prod", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": pod("web-7c9d5b6f4")}});
    let out =
        |body: &Value| -> Value { serde_json::from_slice(&review(&serde_json::to_vec(body).unwrap(), &s)).unwrap() };
    let patched = out(&body);
    assert_eq!(patched["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(patched["kind"], "AdmissionReview");
    assert_eq!(patched["response"]["uid"], "u-\"7\"", "an escaped uid is echoed exactly");
    assert_eq!(patched["response"]["patchType"], "JSONPatch");
    // The pod cannot be decoded: the uid and apiVersion come from the second, smaller read.
    body["request"]["object"] = json!({"spec": {"containers": 42}});
    let rejected = out(&body);
    assert_eq!(rejected["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(rejected["response"]["uid"], "u-\"7\"");
    assert!(message_of(&rejected["response"]).starts_with("AdmissionReview with an unreadable pod: "), "{rejected}");
}

/// What the webhook derives from a DPA (constrained recommendation, IDs) is kept per store entry:
/// every change of the DPA — watched status, the leader's pending target, constraints, pause —
/// reaches the next pod.
#[test]
fn every_change_of_the_dpa_reaches_the_next_pod() {
    let s = state(&[dpa("web", "web", json!({}), Some(vertical()))]);
    s.gate.open("test");
    let pod = pod("web-7c9d5b6f4");
    let seen = |s: &WebhookState| {
        let out = patched(&pod, &answer(s, &review_of(pod.clone())));
        (
            out["metadata"]["annotations"]["autoscaling.datadoghq.com/rec-id"].clone(),
            out["spec"]["containers"][0]["resources"]["requests"]["cpu"].clone(),
        )
    };
    let upsert = |d: Value| {
        let dpa: DatadogPodAutoscaler = serde_json::from_value(d).unwrap();
        s.dpas.upsert(DpaEntry::from_object(&dpa).unwrap());
    };
    assert_eq!(seen(&s), (json!("8d4b1f0c"), json!("250m")));
    assert_eq!(seen(&s), (json!("8d4b1f0c"), json!("250m")), "the kept derivation answers alike");

    let mut v2 = vertical();
    v2["version"] = json!("v2");
    v2["desiredResources"][0]["requests"]["cpu"] = json!("300m");
    upsert(dpa("web", "web", json!({}), Some(v2.clone())));
    assert_eq!(seen(&s), (json!("v2"), json!("300m")), "a new watched status");

    let mut v3 = vertical();
    v3["version"] = json!("v3");
    v3["desiredResources"][0]["requests"]["cpu"] = json!("350m");
    s.dpas.set_pending_vertical("prod", "web", Some(serde_json::from_value(v3).unwrap()));
    assert_eq!(seen(&s), (json!("v3"), json!("350m")), "the leader's pending target");
    assert_eq!(seen(&s), (json!("v3"), json!("350m")));
    s.dpas.clear_pending_vertical("prod", "web");
    assert_eq!(seen(&s), (json!("v2"), json!("300m")), "back to the status");

    let capped = json!({"constraints": {"containers": [{"name": "app", "maxAllowed": {"cpu": "200m"}}]}});
    upsert(dpa("web", "web", capped, Some(v2.clone())));
    let (rec_id, cpu) = seen(&s);
    assert_eq!(cpu, "200m", "the new constraint applies");
    assert_ne!(rec_id, "v2", "constrained resources get their own ID");

    let mut paused = dpa("web", "web", json!({}), Some(v2));
    paused["metadata"]["annotations"] = json!({ crate::workload::vertical::PAUSE_ANNOTATION: "true" });
    upsert(paused);
    assert_eq!(seen(&s), (Value::Null, json!("100m")), "paused: no recommendation");
}
