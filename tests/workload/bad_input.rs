//! Bad input end to end (issue #6): DPAs the CRD schema admits but the spec forbids get an `Error`
//! condition naming the field while the controller keeps serving the other DPAs; garbage
//! AdmissionReviews on `/autoscaling` and `/hpa-autoscaling` of the running server get valid
//! "allowed" answers; a malformed recommendation feed shows per-config errors in `/status` while its
//! good configs are applied.

use std::sync::Arc;

use autoscaling_apiserver::server::ServeConfig;
use autoscaling_apiserver::stack::Stack;
use autoscaling_apiserver::workload::{
    AutoscalingStack, HorizontalController, ScalingSteps, StackConfig, VerticalController, WorkloadSettings,
};
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

use super::support::{
    NS, SERVICE, api_for, cluster, create, deployment, eventually, https, serve_cluster, serve_settings, status_of, url,
};

fn dpa_with(name: &str, spec: Value, annotations: Value) -> Value {
    let mut full = json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]});
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        full[k] = v;
    }
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations}, "spec": full})
}

fn dpa(name: &str, spec: Value) -> Value {
    dpa_with(name, spec, json!({}))
}

/// The `Error` condition of DPA `name` as `(status, reason, message)`, once written.
async fn error_condition(client: &kube::Client, name: &str) -> Option<(String, String, String)> {
    let object = api_for(client, &dpa(name, json!({}))).get_opt(name).await.ok()??;
    let conditions = serde_json::to_value(object).ok()?["status"]["conditions"].clone();
    let error = conditions.as_array()?.iter().find(|c| c["type"] == "Error")?.clone();
    let text = |k: &str| error[k].as_str().unwrap_or_default().to_string();
    Some((text("status"), text("reason"), text("message")))
}

async fn wait_error(client: &kube::Client, name: &str, want: Option<(&str, &str)>) {
    let want = want.map(|(reason, message)| ("True".to_string(), reason.to_string(), message.to_string()));
    eventually(&format!("{name}: Error condition {want:?}"), || async {
        match (error_condition(client, name).await, &want) {
            (Some(got), Some(want)) => &got == want,
            (Some((status, _, _)), None) => status == "False",
            (None, _) => false,
        }
    })
    .await;
}

#[tokio::test]
async fn dpas_the_spec_forbids_get_an_error_naming_the_field_and_the_rest_keep_working() {
    let (dc, admin) = cluster().await;
    create(&admin, deployment("web", 1)).await;
    let steps = ScalingSteps {
        horizontal: Arc::new(HorizontalController::default()),
        vertical: Arc::new(VerticalController::default()),
    };
    let settings = WorkloadSettings {
        own_namespace: Some("default".into()),
        own_pod_name: Some("dca-85cb8d69c5-x7k2p".into()),
        ..Default::default()
    };
    let config = StackConfig { settings, steps: Some(steps), ..Default::default() };
    let stack = AutoscalingStack::start(admin.clone(), config);

    // "abc" never gets in: the CRD schema refuses it, naming the field.
    let typed: DynamicObject = serde_json::from_value(dpa(
        "abc",
        json!({"constraints": {"containers": [{"name": "app", "maxAllowed": {"cpu": "abc"}}]}}),
    ))
    .unwrap();
    let refused = api_for(&admin, &dpa("abc", json!({}))).create(&PostParams::default(), &typed).await.unwrap_err();
    assert!(refused.to_string().contains("maxAllowed"), "{refused}");
    // Nor does an empty objectives list (a Remote spec with one is refused by the feed).
    let typed: DynamicObject = serde_json::from_value(dpa("empty", json!({"objectives": []}))).unwrap();
    let refused = api_for(&admin, &dpa("empty", json!({}))).create(&PostParams::default(), &typed).await.unwrap_err();
    assert!(refused.to_string().contains("spec.objectives"), "{refused}");

    let forced =
        json!({"autoscaling.datadoghq.com/force-resources": r#"[{"name": "app", "requests": {"cpu": "abc"}}]"#});
    let cases = [
        (
            dpa("inverted", json!({"constraints": {"minReplicas": 5, "maxReplicas": 2}})),
            "InvalidSpec",
            "constraints.maxReplicas (2) must be greater than or equal to constraints.minReplicas (5)",
        ),
        (
            dpa("negative", json!({"constraints": {"containers": [{"name": "app", "minAllowed": {"memory": "-1"}}]}})),
            "InvalidSpec",
            "container \"app\": minAllowed memory (-1) must not be negative",
        ),
        (
            dpa(
                "huge",
                json!({"constraints": {"containers": [{"name": "app", "requests": {"maxAllowed": {"cpu": "1e30"}}}]}}),
            ),
            "InvalidSpec",
            "container \"app\": requests.maxAllowed cpu (1e30) is too large for a resource quantity",
        ),
        (
            dpa(
                "bounds",
                json!({"constraints": {"containers": [{"name": "app",
                "minAllowed": {"cpu": 2}, "maxAllowed": {"cpu": "1500m"}}]}}),
            ),
            "InvalidSpec",
            "container \"app\": minAllowed cpu (2) must be less than or equal to maxAllowed (1500m)",
        ),
        (
            dpa("myself", json!({"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "dca"}})),
            "InvalidTarget",
            "Autoscaling target cannot be set to the cluster agent",
        ),
        (
            dpa("core-kind", json!({"targetRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "web"}})),
            "InvalidTargetRef",
            "failed to parse API version 'v1', err: a group and a version are required, e.g. apps/v1",
        ),
        (
            dpa_with("forced", json!({}), forced),
            "InvalidSpec",
            "annotation autoscaling.datadoghq.com/force-resources: [0] (app): requests.cpu (abc) is not a quantity: \
             quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'; only its \
             usable values are forced",
        ),
    ];
    for (object, _, _) in &cases {
        create(&admin, object.clone()).await;
    }
    // Created after the bad ones: still reconciled.
    create(&admin, dpa("good", json!({}))).await;
    let mut no_objectives = dpa("no-objectives", json!({}));
    no_objectives["spec"].as_object_mut().unwrap().remove("objectives");
    create(&admin, no_objectives).await;
    for (object, reason, message) in &cases {
        let name = object["metadata"]["name"].as_str().unwrap();
        wait_error(&admin, name, Some((reason, message))).await;
    }
    wait_error(&admin, "good", None).await;
    wait_error(&admin, "no-objectives", None).await;
    assert_eq!(stack.store.len(), cases.len() + 2, "every DPA is tracked");

    // The schema admits what our types cannot read (`format: int32` is only an annotation to
    // kube-apiserver): the leader names the field in the Error condition, once, and the DPA is
    // reconciled normally once fixed.
    create(&admin, dpa("wide", json!({"constraints": {"minReplicas": 3_000_000_000_u64, "maxReplicas": 4}}))).await;
    let unreadable = "DatadogPodAutoscaler default/wide cannot be read: spec.constraints.minReplicas: invalid value: \
                      integer `3000000000`, expected i32";
    wait_error(&admin, "wide", Some(("InvalidSpec", unreadable))).await;
    let api = api_for(&admin, &dpa("wide", json!({})));
    let version = |o: DynamicObject| o.metadata.resource_version.unwrap_or_default();
    let written = version(api.get("wide").await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(version(api.get("wide").await.unwrap()), written, "the condition is written once, not in a loop");
    let fix = json!({"spec": {"constraints": {"minReplicas": 1, "maxReplicas": 4}}});
    api.patch("wide", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&fix)).await.unwrap();
    wait_error(&admin, "wide", None).await;
    assert_eq!(stack.store.len(), cases.len() + 3, "the fixed DPA is tracked");
    stack.shutdown().await;
    dc.shutdown().await;
}

async fn post(stack: &Stack, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let reply = https(stack)
        .post(url(stack, path))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.bytes().await.unwrap().to_vec())
}

fn review(request: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}))
        .unwrap()
}

fn pod(owner: Value, resources: Value) -> Value {
    json!({"metadata": {"generateName": "web-5d4f8-", "namespace": "default", "labels": {"app": "web"},
        "ownerReferences": [owner]},
        "spec": {"containers": [{"name": "app", "image": "pause", "resources": resources}]}})
}

fn pod_create(object: Value) -> Vec<u8> {
    review(json!({"uid": "u-1", "namespace": "default", "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": object}))
}

#[tokio::test]
async fn garbage_admission_reviews_get_valid_answers_on_both_webhook_paths() {
    let (dc, admin) = serve_cluster().await;
    let settings = serve_settings(&[("DD_AUTOSCALING_WORKLOAD_ENABLED", "true")]);
    let stack = Stack::start(&settings, admin.clone(), ServeConfig::loopback(SERVICE, NS)).await.unwrap();
    // A DPA for web opens the gate: the webhook decodes what it gets.
    create(&admin, super::support::dpa("web", "web")).await;
    eventually("the gate open", || async { status_of(&stack).await.workload.gate_open }).await;

    let rs_owner = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8", "uid": "u"});
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"\x00\xff definitely not json".to_vec()),
        ("empty", Vec::new()),
        ("truncated", pod_create(pod(rs_owner.clone(), json!({})))[..60].to_vec()),
        (
            "wrong kind",
            review(
                json!({"uid": "u-1", "operation": "CREATE", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "object": {"metadata": {"name": "web"}}}),
            ),
        ),
        (
            "missing request",
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})).unwrap(),
        ),
        (
            "absurd resources",
            pod_create(pod(
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "other-5d4f8"}),
                json!({"requests": {"cpu": "1e30", "memory": -5}, "limits": {"cpu": [1]}}),
            )),
        ),
        (
            "unknown owner kind",
            pod_create(pod(json!({"apiVersion": "x.io/v9", "kind": "Gizmo", "name": "g"}), json!({}))),
        ),
        (
            "missing ReplicaSet",
            pod_create(pod(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "gone-5d4f8"}), json!({}))),
        ),
        ("owner of the wrong type", pod_create(pod(json!("web-5d4f8"), json!({})))),
    ];
    for path in ["/autoscaling", "/hpa-autoscaling"] {
        for (what, body) in &garbage {
            let (status, bytes) = post(&stack, path, body.clone()).await;
            assert_eq!(status, 200, "{path} {what}: {}", String::from_utf8_lossy(&bytes));
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path} {what}: {e}"));
            assert_eq!(answer["kind"], "AdmissionReview", "{path} {what}");
            assert_eq!(answer["response"]["allowed"], true, "{path} {what}: {answer}");
            assert!(answer["response"].get("patch").is_none(), "{path} {what}: {answer}");
        }
    }
    // A pod of the target with absurd resources is still recognised: with no recommendation yet,
    // only the autoscaler annotation is added.
    let (_, bytes) =
        post(&stack, "/autoscaling", pod_create(pod(rs_owner, json!({"requests": {"cpu": "1e30"}})))).await;
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer["response"]["patchType"], "JSONPatch", "{answer}");
    let (_, bytes) = post(&stack, "/autoscaling", garbage[3].1.clone()).await;
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        answer["response"]["status"]["message"],
        "AdmissionReview for apps/v1 Deployment: /autoscaling patches only pods"
    );
    stack.shutdown().await;
    dc.shutdown().await;
}

fn write_config(dir: &std::path::Path, file: &str, body: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn remote_setting(name: &str, constraints: Value) -> Value {
    json!({"namespace": "default", "name": name, "specs": {"v1alpha2": {"owner": "Remote",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, "constraints": constraints}}})
}

#[tokio::test]
async fn a_malformed_feed_shows_per_config_errors_in_status_and_the_good_configs_apply() {
    let (dc, admin) = serve_cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let envelope = |config: Value| json!({"version": 1, "config": config}).to_string();
    write_config(dir.path(), "settings/good.json", &envelope(json!({"settings": [remote_setting("shop", json!({}))]})));
    let inverted = remote_setting("cart", json!({"minReplicas": 4, "maxReplicas": 1}));
    write_config(dir.path(), "settings/invalid.json", &envelope(json!({"settings": [inverted]})));
    write_config(dir.path(), "settings/truncated.json", &envelope(json!({"settings": []}))[..12]);
    write_config(
        dir.path(),
        "values/types.json",
        &envelope(json!({"values": [{"namespace": "default", "name": "shop",
        "horizontal": {"auto": {"replicas": "three"}}}]})),
    );
    write_config(dir.path(), "values/huge.json", &" ".repeat((4 << 20) + 1));
    let source = dir.path().display().to_string();
    let settings = serve_settings(&[
        ("DD_AUTOSCALING_WORKLOAD_ENABLED", "true"),
        ("DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_SOURCE", &source),
        ("DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_POLL_INTERVAL", "1"),
    ]);
    let stack = Stack::start(&settings, admin.clone(), ServeConfig::loopback(SERVICE, NS)).await.unwrap();

    let shop = api_for(&admin, &dpa("shop", json!({})));
    eventually("the good config's Remote DPA created", || async { matches!(shop.get_opt("shop").await, Ok(Some(_))) })
        .await;
    let feed = status_of(&stack).await.workload.feed.expect("the feed in /status");
    let configs = feed["configs"].as_array().unwrap().clone();
    let state = |path: &str| {
        let c = configs.iter().find(|c| c["path"] == path).unwrap_or_else(|| panic!("{path} in {feed}"));
        (c["state"].as_str().unwrap().to_string(), c["error"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(state("settings/good.json"), ("acknowledged".into(), String::new()));
    let (s, e) = state("settings/invalid.json");
    assert_eq!(s, "error");
    assert!(
        e.contains(
            "PodAutoscaler default/cart: invalid spec (InvalidSpec): constraints.maxReplicas (1) must be greater than \
             or equal to constraints.minReplicas (4)"
        ),
        "{e}"
    );
    let (s, e) = state("settings/truncated.json");
    assert_eq!(s, "error");
    assert!(e.contains("not a config envelope"), "{e}");
    let (s, e) = state("values/types.json");
    assert_eq!(s, "error");
    assert!(e.contains("values[0]: invalid type: string \"three\""), "{e}");
    let (s, e) = state("values/huge.json");
    assert_eq!(s, "error");
    assert!(e.contains("more than the 4194304 allowed"), "{e}");
    assert!(feed.get("sourceError").is_none(), "{feed}");
    let cart = api_for(&admin, &dpa("cart", json!({})));
    assert!(matches!(cart.get_opt("cart").await, Ok(None)), "a refused Remote DPA is not created");
    stack.shutdown().await;
    dc.shutdown().await;
}
