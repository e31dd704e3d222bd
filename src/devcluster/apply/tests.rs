use serde_json::{Value, json};

use super::fieldset::FieldSet;
use super::*;

struct Lists;

impl ListKinds for Lists {
    fn list_kind(&self, path: &[&str]) -> ListKind {
        match path {
            [.., "containers"] => ListKind::Map(vec!["name".into()]),
            [.., "containers", "ports"] => ListKind::Map(vec!["containerPort".into(), "protocol".into()]),
            ["metadata", "finalizers"] => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }

    fn key_default(&self, path: &[&str], field: &str) -> Option<Value> {
        (path.last() == Some(&"ports") && field == "protocol").then(|| json!("TCP"))
    }
}

const NOW: &str = "2026-01-01T00:00:00Z";
const LATER: &str = "2026-01-01T00:05:00Z";

fn req(manager: &str, force: bool) -> ApplyRequest<'_> {
    ApplyRequest { manager, force, api_version: "apps/v1", now: NOW }
}

fn deployment(replicas: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

fn entry(obj: &Value, manager: &str) -> Value {
    entries(obj).into_iter().find(|e| e["manager"] == manager).unwrap_or(Value::Null)
}

fn created_by_update(obj: Value, manager: &str) -> Value {
    let mut obj = obj;
    record_update(None, &mut obj, manager, "apps/v1", NOW, &Lists);
    obj
}

fn apply_ok(live: Option<&Value>, applied: &Value, manager: &str, force: bool) -> Value {
    match apply(live, applied, &Lists, &req(manager, force)) {
        Ok(v) => v,
        Err(e) => panic!("apply failed: {e}"),
    }
}

#[test]
fn apply_creates_object_with_apply_entry() {
    let out = apply_ok(None, &deployment(2, json!({"app": "web"})), "kubectl", false);
    assert_eq!(out["metadata"]["name"], "web");
    assert_eq!(out["spec"]["replicas"], 2);
    let list = entries(&out);
    assert_eq!(list.len(), 1);
    let keys: Vec<&String> = list[0].as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(keys, ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]);
    assert_eq!(list[0]["operation"], "Apply");
    assert_eq!(list[0]["time"], NOW);
}

#[test]
fn apply_fields_v1_snapshot() {
    let out = apply_ok(None, &deployment(2, json!({"app": "web"})), "kubectl", false);
    let expected = concat!(
        r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"#,
        r#""f:selector":{"f:matchLabels":{"f:app":{}}},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"#,
        r#""f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:image":{},"f:name":{},"#,
        r#""f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{"f:containerPort":{},".":{}}},".":{}}}}}}}"#
    );
    assert_eq!(entry(&out, "kubectl")["fieldsV1"].to_string(), expected);
}

#[test]
fn update_fields_v1_marks_created_maps() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 1}});
    let out = created_by_update(obj, "kubectl-create");
    let e = entry(&out, "kubectl-create");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    let expected = r#"{"f:metadata":{"f:labels":{"f:app":{},".":{}}},"f:spec":{"f:replicas":{},".":{}}}"#;
    assert_eq!(e["fieldsV1"].to_string(), expected);
}

#[test]
fn fields_v1_round_trips() {
    let encoded = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}, "f:finalizers": {"v:\"x\"": {}}}});
    let set = FieldSet::from_fields_v1(&encoded);
    assert_eq!(FieldSet::from_fields_v1(&set.to_fields_v1()), set);
    assert_eq!(set.paths().len(), 5);
}

#[test]
fn reapply_without_label_removes_it() {
    let first = apply_ok(None, &deployment(2, json!({"app": "web", "tier": "fe"})), "kubectl", false);
    let second = apply_ok(Some(&first), &deployment(2, json!({"app": "web"})), "kubectl", false);
    assert_eq!(second["metadata"]["labels"], json!({"app": "web"}));
    let third_config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2}});
    let third = apply_ok(Some(&second), &third_config, "kubectl", false);
    assert!(third["metadata"].get("labels").is_none(), "emptied labels map is removed");
    assert!(third["spec"].get("template").is_none());
    assert_eq!(third["metadata"]["name"], "web");
}

#[test]
fn changed_value_owned_by_other_manager_conflicts() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "kubectl-client-side-apply");
    let err = apply(Some(&live), &deployment(3, json!({"app": "web"})), &Lists, &req("kubectl", false));
    let Err(ApplyError::Conflict { conflicts }) = err else {
        panic!("expected conflict, got {err:?}");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, ".spec.replicas");
    assert_eq!(conflicts[0].manager, "kubectl-client-side-apply");
    assert_eq!(conflicts[0].message, r#"conflict with "kubectl-client-side-apply" using apps/v1"#);
    let text = ApplyError::Conflict { conflicts }.to_string();
    assert_eq!(
        text,
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "m");
    let mut config = deployment(3, json!({"app": "web"}));
    config["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let err = apply(Some(&live), &config, &Lists, &req("kubectl", false)).map(|_| ());
    let text = err.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert_eq!(
        text,
        "Apply failed with 2 conflicts: conflicts with \"m\" using apps/v1:\n- .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn conflict_with_applier_names_only_the_manager() {
    let live = apply_ok(None, &deployment(1, json!({"app": "web"})), "flux", false);
    let err = apply(Some(&live), &deployment(5, json!({"app": "web"})), &Lists, &req("kubectl", false));
    let text = err.map(|_| ()).map_err(|e| e.to_string()).err().unwrap_or_default();
    assert_eq!(text, r#"Apply failed with 1 conflict: conflict with "flux": .spec.replicas"#);
}

#[test]
fn same_value_is_shared_without_conflict() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "kubectl-create");
    let out = apply_ok(Some(&live), &deployment(1, json!({"app": "web"})), "kubectl", false);
    let owns_replicas = |m: &str| entry(&out, m)["fieldsV1"]["f:spec"].get("f:replicas").is_some();
    assert!(owns_replicas("kubectl"));
    assert!(owns_replicas("kubectl-create"));
    assert_eq!(entries(&out)[0]["operation"], "Apply", "Apply entries sort first");
}

#[test]
fn force_takes_ownership() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "kubectl-create");
    let out = apply_ok(Some(&live), &deployment(4, json!({"app": "web"})), "kubectl", true);
    assert_eq!(out["spec"]["replicas"], 4);
    assert!(entry(&out, "kubectl")["fieldsV1"]["f:spec"].get("f:replicas").is_some());
    let create = entry(&out, "kubectl-create");
    assert!(create["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    assert!(create["fieldsV1"]["f:spec"].get("f:selector").is_some());
}

#[test]
fn update_takes_fields_from_applier_then_apply_conflicts() {
    let live = apply_ok(None, &deployment(1, json!({"app": "web"})), "kubectl", false);
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    record_update(Some(&live), &mut scaled, "hpa", "apps/v1", LATER, &Lists);
    let hpa = entry(&scaled, "hpa");
    assert_eq!(hpa["fieldsV1"].to_string(), r#"{"f:spec":{"f:replicas":{}}}"#);
    assert_eq!(hpa["time"], LATER);
    assert!(entry(&scaled, "kubectl")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    let err = apply(Some(&scaled), &deployment(1, json!({"app": "web"})), &Lists, &req("kubectl", false));
    assert!(matches!(err, Err(ApplyError::Conflict { .. })));
}

#[test]
fn unchanged_update_keeps_entry_time() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "ctl");
    let mut same = live.clone();
    record_update(Some(&live), &mut same, "ctl", "apps/v1", LATER, &Lists);
    assert_eq!(entry(&same, "ctl")["time"], NOW);
    let mut other = live.clone();
    record_update(Some(&live), &mut other, "noop", "apps/v1", LATER, &Lists);
    assert!(entry(&other, "noop").is_null(), "a manager that changed nothing gets no entry");
}

fn containers(names_images: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = names_images.iter().map(|(n, i)| json!({"name": n, "image": i})).collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": list}}}})
}

#[test]
fn map_list_merges_across_managers() {
    let a = apply_ok(None, &containers(&[("app", "app:1")]), "team-a", false);
    let b = apply_ok(Some(&a), &containers(&[("sidecar", "envoy:1")]), "team-b", false);
    let names: Vec<&Value> = b["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|l| l.iter().map(|c| &c["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("app"), &json!("sidecar")]);
    let a2 = apply_ok(Some(&b), &containers(&[("app", "app:2")]), "team-a", false);
    let list = &a2["spec"]["template"]["spec"]["containers"];
    assert_eq!(list[0], json!({"name": "app", "image": "app:2"}));
    assert_eq!(list[1], json!({"name": "sidecar", "image": "envoy:1"}));
    let b_fields = entry(&a2, "team-b")["fieldsV1"].to_string();
    assert!(b_fields.contains(r#"k:{\"name\":\"sidecar\"}"#), "{b_fields}");
    let err = apply(Some(&a2), &containers(&[("sidecar", "envoy:2")]), &Lists, &req("team-a", false));
    let Err(ApplyError::Conflict { conflicts }) = err else {
        panic!("expected conflict, got {err:?}");
    };
    assert_eq!(conflicts[0].field, r#".spec.template.spec.containers[name="sidecar"].image"#);
}

#[test]
fn dropping_an_element_removes_only_unowned_ones() {
    let a = apply_ok(None, &containers(&[("app", "app:1"), ("debug", "busybox")]), "team-a", false);
    let b = apply_ok(Some(&a), &containers(&[("app", "app:1")]), "team-b", false);
    let c = apply_ok(Some(&b), &containers(&[]), "team-a", false);
    let list = &c["spec"]["template"]["spec"]["containers"];
    assert_eq!(list, &json!([{"name": "app", "image": "app:1"}]), "debug pruned, app kept by team-b");
}

fn finalizers(list: &[&str]) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": list}})
}

#[test]
fn set_list_is_a_union() {
    let a = apply_ok(None, &finalizers(&["a.io/x"]), "m1", false);
    let b = apply_ok(Some(&a), &finalizers(&["b.io/y"]), "m2", false);
    assert_eq!(b["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
    assert_eq!(entry(&b, "m2")["fieldsV1"].to_string(), r#"{"f:metadata":{"f:finalizers":{"v:\"b.io/y\"":{}}}}"#);
    let c = apply_ok(Some(&b), &finalizers(&[]), "m1", false);
    assert_eq!(c["metadata"]["finalizers"], json!(["b.io/y"]));
}

#[test]
fn status_in_config_is_ignored_and_live_status_kept() {
    let mut live = apply_ok(None, &deployment(1, json!({"app": "web"})), "kubectl", false);
    live["status"] = json!({"replicas": 1});
    let mut config = deployment(1, json!({"app": "web"}));
    config["status"] = json!({"replicas": 9});
    let out = apply_ok(Some(&live), &config, "kubectl", false);
    assert_eq!(out["status"], json!({"replicas": 1}));
    assert!(entry(&out, "kubectl")["fieldsV1"].get("f:status").is_none());
}

#[test]
fn status_subresource_update_owns_only_status() {
    let live = apply_ok(None, &deployment(1, json!({"app": "web"})), "kubectl", false);
    let mut new = live.clone();
    new["status"] = json!({"readyReplicas": 1});
    record_update_subresource(Some(&live), &mut new, "ctrl", "apps/v1", LATER, &Lists, Some("status"));
    let e = entry(&new, "ctrl");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"].to_string(), r#"{"f:status":{"f:readyReplicas":{},".":{}}}"#);
}

#[test]
fn bad_requests() {
    let mut with_managed = deployment(1, json!({}));
    with_managed["metadata"]["managedFields"] = json!([]);
    let err = apply(None, &with_managed, &Lists, &req("k", false)).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("metadata.managedFields must be nil"));
    let mut wrong = deployment(1, json!({}));
    wrong["apiVersion"] = json!("apps/v1beta1");
    let err = apply(None, &wrong, &Lists, &req("k", false));
    assert!(matches!(err, Err(ApplyError::BadRequest(m)) if m.contains("Specified patch version: apps/v1beta1")));
    assert!(matches!(apply(None, &json!([1]), &Lists, &req("k", false)), Err(ApplyError::BadRequest(_))));
}

#[test]
fn invalid_map_list_elements() {
    let missing = containers(&[]);
    let mut missing = missing;
    missing["spec"]["template"]["spec"]["containers"] = json!([{"image": "x"}]);
    let err = apply(None, &missing, &Lists, &req("k", false)).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.containers: \
             element 0: associative list with keys has an element that omits key field \"name\" \
             (and doesn't have default value)"
        )
    );
    let dup = containers(&[("a", "x"), ("a", "y")]);
    let err = apply(None, &dup, &Lists, &req("k", false)).err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.ends_with(r#"duplicate entries for key [name="a"]"#)));
}

#[test]
fn sent_managed_fields_reset_on_update() {
    let live = created_by_update(deployment(1, json!({"app": "web"})), "kubectl-create");
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{}]);
    record_update(Some(&live), &mut new, "kubectl-edit", "apps/v1", LATER, &Lists);
    assert!(new["metadata"].get("managedFields").is_none());
}

#[test]
fn first_apply_to_untracked_object_adopts_existing_fields() {
    let mut live = deployment(1, json!({"app": "web"}));
    live["metadata"]["uid"] = json!("u-1");
    let mut updated = live.clone();
    updated["spec"]["replicas"] = json!(2);
    record_update(Some(&live), &mut updated, "kubectl-edit", "apps/v1", LATER, &Lists);
    assert!(updated["metadata"].get("managedFields").is_none(), "untracked objects stay untracked");
    let err = apply(Some(&updated), &deployment(3, json!({"app": "web"})), &Lists, &req("kubectl", false));
    let text = err.map(|_| ()).map_err(|e| e.to_string()).err().unwrap_or_default();
    assert_eq!(
        text,
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    let out = apply_ok(Some(&updated), &deployment(2, json!({"app": "web"})), "kubectl", false);
    assert_eq!(entries(&out).len(), 2);
    assert_eq!(entry(&out, "before-first-apply")["operation"], "Update");
}

#[test]
fn update_managers_are_capped_at_ten() {
    let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}});
    for i in 0..12 {
        let old = obj.clone();
        obj["spec"][format!("f{i}")] = json!(i);
        let now = format!("2026-01-01T00:00:{i:02}Z");
        record_update(Some(&old), &mut obj, &format!("m{i:02}"), "apps/v1", &now, &Lists);
    }
    let list = entries(&obj);
    assert_eq!(list.len(), 10);
    let bucket = entry(&obj, "ancient-changes");
    assert_eq!(bucket["fieldsV1"]["f:spec"].as_object().map(|m| m.len()), Some(3));
    assert_eq!(bucket["time"], "2026-01-01T00:00:02Z");
}
