use serde_json::{Value, json};

use super::*;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "tier": "fe"},
            "finalizers": ["a.example.com/f", "b.example.com/f"]
        },
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1.0",
                         "env": [{"name": "A", "value": "1"}],
                         "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                        {"name": "sidecar", "image": "envoy:1.0"}
                    ],
                    "tolerations": [{"key": "k1", "operator": "Exists"}]
                }
            }
        }
    })
}

fn smp(target: &Value, patch: Value) -> Value {
    strategic_merge_patch("Deployment", target, &patch).unwrap()
}

fn containers(obj: &Value) -> &Vec<Value> {
    obj.pointer("/spec/template/spec/containers").and_then(Value::as_array).unwrap()
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|c| c["name"].as_str().unwrap()).collect()
}

#[test]
fn strategy_table() {
    let pod_tpl = ["spec", "template", "spec", "containers"];
    assert_eq!(list_strategy("Deployment", &pod_tpl), ListStrategy::MergeByKey("name"));
    assert_eq!(list_strategy("Job", &pod_tpl), ListStrategy::MergeByKey("name"));
    let cron = ["spec", "jobTemplate", "spec", "template", "spec", "volumes"];
    assert_eq!(list_strategy("CronJob", &cron), ListStrategy::MergeByKey("name"));
    assert_eq!(list_strategy("Pod", &["spec", "containers", "ports"]), ListStrategy::MergeByKey("containerPort"));
    assert_eq!(
        list_strategy("Pod", &["spec", "initContainers", "volumeMounts"]),
        ListStrategy::MergeByKey("mountPath")
    );
    assert_eq!(list_strategy("Pod", &["spec", "tolerations"]), ListStrategy::Replace);
    assert_eq!(list_strategy("Pod", &["status", "containerStatuses"]), ListStrategy::Replace);
    assert_eq!(list_strategy("Pod", &["status", "conditions"]), ListStrategy::MergeByKey("type"));
    assert_eq!(list_strategy("ConfigMap", &["metadata", "finalizers"]), ListStrategy::MergePrimitives);
    assert_eq!(list_strategy("Node", &["metadata", "ownerReferences"]), ListStrategy::MergeByKey("uid"));
    assert_eq!(list_strategy("Service", &["spec", "ports"]), ListStrategy::MergeByKey("port"));
    assert_eq!(list_strategy("Node", &["status", "addresses"]), ListStrategy::MergeByKey("type"));
    assert_eq!(list_strategy("StatefulSet", &["status", "conditions"]), ListStrategy::MergeByKey("type"));
    assert_eq!(list_strategy("ConfigMap", &["spec", "whatever"]), ListStrategy::Replace);
}

#[test]
fn smp_updates_container_image_by_name() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "envoy:2.0"}
        ]}}}}),
    );
    let c = containers(&out);
    assert_eq!(names(c), ["app", "sidecar"]);
    assert_eq!(c[1]["image"], "envoy:2.0");
    assert_eq!(c[0]["image"], "nginx:1.0");
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn smp_adds_env_var_and_container() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "B", "value": "2"}]}
        ]}}}}),
    );
    let env = &containers(&out)[0]["env"];
    // apimachinery puts new patch elements before live ones (mergeSortedSlice).
    assert_eq!(env, &json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]));
    // A new element from the patch goes before the live elements it is not ordered after
    // (apimachinery's mergeSortedSlice).
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "new", "image": "busybox"}
        ]}}}}),
    );
    assert_eq!(names(containers(&out)), ["new", "app", "sidecar"]);
}

#[test]
fn smp_deletes_container_with_patch_delete() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"}
        ]}}}}),
    );
    assert_eq!(names(containers(&out)), ["app"]);
}

#[test]
fn smp_replaces_list_with_patch_replace() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "only", "image": "x"}
        ]}}}}),
    );
    assert_eq!(containers(&out), &vec![json!({"name": "only", "image": "x"})]);
}

#[test]
fn smp_replace_strategy_list_is_replaced() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "k2", "operator": "Exists"}]
        }}}}),
    );
    assert_eq!(out.pointer("/spec/template/spec/tolerations").unwrap(), &json!([{"key": "k2", "operator": "Exists"}]));
}

#[test]
fn smp_map_patch_replace_and_delete() {
    let out = smp(&deployment(), json!({"metadata": {"labels": {"$patch": "replace", "new": "x"}}}));
    assert_eq!(out["metadata"]["labels"], json!({"new": "x"}));
    let out = smp(&deployment(), json!({"spec": {"template": {"metadata": {"$patch": "delete"}}}}));
    assert_eq!(out["spec"]["template"]["metadata"], json!({}));
}

#[test]
fn smp_labels_set_and_remove_with_null() {
    let out = smp(&deployment(), json!({"metadata": {"labels": {"tier": null, "env": "prod", "nope": null}}}));
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "env": "prod"}));
}

#[test]
fn smp_finalizers_union_and_delete_from_primitive_list() {
    let out = smp(&deployment(), json!({"metadata": {"finalizers": ["b.example.com/f", "c.example.com/f"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["a.example.com/f", "b.example.com/f", "c.example.com/f"]));
    let out = smp(&deployment(), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/f"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["b.example.com/f"]));
    assert!(out["metadata"].get("$deleteFromPrimitiveList/finalizers").is_none());
}

#[test]
fn smp_set_element_order() {
    let out = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "containers": [{"name": "app", "image": "nginx:2.0"}]
        }}}}),
    );
    assert_eq!(names(containers(&out)), ["sidecar", "app"]);
    assert_eq!(containers(&out)[1]["image"], "nginx:2.0");
    let spec = out.pointer("/spec/template/spec").unwrap().as_object().unwrap();
    assert!(spec.keys().all(|k| !k.starts_with('$')));
}

#[test]
fn smp_retain_keys() {
    let target = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let out = smp(&target, json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}));
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let err = strategic_merge_patch(
        "Deployment",
        &target,
        &json!({"spec": {"strategy": {"$retainKeys": ["x"], "type": "Recreate"}}}),
    )
    .unwrap_err();
    assert_eq!(err, PatchError::Unprocessable("patch content doesn't match retainKeys list".into()));
}

#[test]
fn smp_conditions_merge_by_type_and_ports() {
    let pod = json!({"status": {"conditions": [
        {"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}
    ]}, "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}});
    let out = strategic_merge_patch(
        "Pod",
        &pod,
        &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]}}),
    )
    .unwrap();
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}
        ])
    );
    assert_eq!(out["spec"]["containers"][0]["ports"], json!([{"containerPort": 80, "name": "http"}]));
}

#[test]
fn smp_errors() {
    let dep = deployment();
    let err = strategic_merge_patch(
        "Deployment",
        &dep,
        &json!({"spec": {"template": {"spec": {"containers": [
            {"image": "x"}
        ]}}}}),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "map: map[image:x] does not contain declared merge key: name");
    assert_eq!(err.status_code(), 500);
    let err =
        strategic_merge_patch("Deployment", &dep, &json!({"metadata": {"labels": {"$patch": "bogus"}}})).unwrap_err();
    assert_eq!(err.to_string(), "unknown patch type: bogus in map: map[$patch:bogus]");
    let err = strategic_merge_patch(
        "Deployment",
        &dep,
        &json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "$patch": "merge"}
        ]}}}}),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "merging lists cannot yet be specified in the patch");
    let err = strategic_merge_patch("Deployment", &dep, &json!([1])).unwrap_err();
    assert_eq!(
        err,
        PatchError::BadRequest("json: cannot unmarshal array into Go value of type map[string]interface {}".into())
    );
}

#[test]
fn smp_new_list_drops_directives() {
    let out = smp(
        &json!({"metadata": {"name": "x"}}),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "i", "env": [{"name": "E", "value": null}]},
            {"name": "gone", "$patch": "delete"}
        ]}}}}),
    );
    assert_eq!(containers(&out), &vec![json!({"name": "a", "image": "i", "env": [{"name": "E"}]})]);
}

#[test]
fn json_patch_add_replace_remove() {
    let mut obj = deployment();
    let patch = json!([
        {"op": "add", "path": "/metadata/labels/env", "value": "prod"},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "x"}},
        {"op": "test", "path": "/spec/replicas", "value": 5}
    ]);
    json_patch(&mut obj, &patch).unwrap();
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web", "env": "prod"}));
    assert_eq!(obj["spec"]["replicas"], 5);
    assert_eq!(names(containers(&obj)), ["app", "sidecar", "x"]);
}

#[test]
fn json_patch_errors_leave_target_untouched() {
    let mut obj = deployment();
    let before = obj.clone();
    let err = json_patch(
        &mut obj,
        &json!([
            {"op": "replace", "path": "/spec/replicas", "value": 9},
            {"op": "test", "path": "/spec/replicas", "value": 3}
        ]),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "testing value /spec/replicas failed: test failed");
    assert_eq!(err.status_code(), 422);
    assert_eq!(obj, before);
    let err = |p: Value| json_patch(&mut deployment(), &p).unwrap_err().to_string();
    assert_eq!(
        err(json!([{"op": "remove", "path": "/metadata/nope"}])),
        "error in remove for path: '/metadata/nope': unable to remove nonexistent key: nope: missing value"
    );
    assert_eq!(
        err(json!([{"op": "replace", "path": "/nope", "value": 1}])),
        "replace operation does not apply: doc is missing key: /nope: missing value"
    );
    assert_eq!(
        err(json!([{"op": "add", "path": "/a/b", "value": 1}])),
        "add operation does not apply: doc is missing path: \"/a/b\": missing value"
    );
    assert_eq!(err(json!([{"op": "frob", "path": "/a"}])), "Unexpected kind: frob: unknown object type");
    assert_eq!(
        json_patch(&mut deployment(), &json!({"op": "add"})).unwrap_err(),
        PatchError::BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into())
    );
}

#[test]
fn merge_patch_null_deletes() {
    let mut obj = deployment();
    merge_patch(&mut obj, &json!({"metadata": {"labels": {"tier": null, "x": "y"}}, "spec": {"replicas": null}}));
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web", "x": "y"}));
    assert!(obj["spec"].get("replicas").is_none());
    // lists are replaced wholesale
    merge_patch(&mut obj, &json!({"metadata": {"finalizers": ["z"]}}));
    assert_eq!(obj["metadata"]["finalizers"], json!(["z"]));
    let mut scalar = json!({"a": 1});
    merge_patch(&mut scalar, &json!("s"));
    assert_eq!(scalar, json!("s"));
}

#[test]
fn smp_cronjob_and_service_paths() {
    let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
        {"name": "job", "image": "a", "volumeMounts": [{"mountPath": "/d", "name": "v"}]}
    ]}}}}}});
    let out = strategic_merge_patch(
        "CronJob",
        &cron,
        &json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
            {"name": "job", "volumeMounts": [{"mountPath": "/d", "readOnly": true}]}
        ]}}}}}}),
    )
    .unwrap();
    let mounts = out.pointer("/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts").unwrap();
    assert_eq!(mounts, &json!([{"mountPath": "/d", "name": "v", "readOnly": true}]));
    let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let out =
        strategic_merge_patch("Service", &svc, &json!({"spec": {"ports": [{"port": 443, "name": "https"}]}})).unwrap();
    assert_eq!(out["spec"]["ports"], json!([{"port": 80, "targetPort": 8080}, {"port": 443, "name": "https"}]));
}

#[test]
fn smp_set_element_order_mismatch_is_rejected() {
    let err = strategic_merge_patch(
        "Deployment",
        &deployment(),
        &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "sidecar", "image": "x"}]
        }}}}),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("The order in patch list:"), "{err}");
}

#[test]
fn json_patch_move_copy_errors() {
    let err = |p: Value| json_patch(&mut deployment(), &p).unwrap_err().to_string();
    assert_eq!(
        err(json!([{"op": "move", "from": "/nope", "path": "/x"}])),
        "move operation does not apply: doc is missing from path: /nope: missing value"
    );
    assert_eq!(
        err(json!([{"op": "copy", "from": "/nope", "path": "/x"}])),
        "copy operation does not apply: doc is missing from path: /nope: missing value"
    );
    let mut obj = deployment();
    json_patch(&mut obj, &json!([{"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/n"}])).unwrap();
    assert_eq!(obj["metadata"]["labels"]["n"], "web");
}
