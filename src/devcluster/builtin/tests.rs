use serde_json::{Value, json};

use super::*;

fn res(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    find_resource(group, version, plural).expect("resource in table")
}

#[test]
fn every_entry_normalizes_a_minimal_object() {
    for r in builtin_resources() {
        let mut meta = json!({"name": "x"});
        if r.namespaced {
            meta["namespace"] = json!("default");
        }
        let out = normalize(r.group, r.version, r.kind, json!({"metadata": meta}))
            .unwrap_or_else(|e| panic!("{}/{} {}: {e}", r.group, r.version, r.kind));
        assert_eq!(out["kind"], r.kind);
        assert_eq!(out["apiVersion"], api_version(r.group, r.version));
        assert_eq!(out["metadata"]["name"], "x");
        let keys: Vec<&String> = out.as_object().unwrap().keys().take(2).collect();
        assert_eq!(keys, ["kind", "apiVersion"]);
    }
}

#[test]
fn subresource_kinds_normalize() {
    for r in builtin_resources() {
        for s in r.subresources {
            let out = normalize(s.group, s.version, s.kind, json!({"metadata": {"name": "x"}}));
            assert!(out.is_ok(), "{}/{}: {out:?}", r.plural, s.name);
        }
    }
}

#[test]
fn table_is_consistent() {
    let all = builtin_resources();
    assert_eq!(all.len(), 32);
    for r in all {
        assert!(r.list_kind == format!("{}List", r.kind), "{}", r.plural);
        assert!(!r.verbs.is_empty());
        let mut sorted = r.verbs.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, r.verbs, "{} verbs sorted", r.plural);
        let twins = all.iter().filter(|o| o.plural == r.plural && o.kind == r.kind && o.storage);
        assert_eq!(twins.count(), 1, "{} has one storage version", r.plural);
    }
}

#[test]
fn discovery_spot_checks() {
    let pods = res("", "v1", "pods");
    assert_eq!(pods.short_names, ["po"]);
    assert_eq!(pods.categories, ["all"]);
    assert!(pods.namespaced);
    let eviction = pods.subresources.iter().find(|s| s.name == "eviction").unwrap();
    assert_eq!((eviction.kind, eviction.group, eviction.version), ("Eviction", "policy", "v1"));
    assert_eq!(eviction.verbs, ["create"]);

    assert_eq!(res("apps", "v1", "deployments").short_names, ["deploy"]);
    let scale = res("apps", "v1", "statefulsets").subresources.iter().find(|s| s.name == "scale");
    let scale = scale.unwrap();
    assert_eq!((scale.kind, scale.group, scale.version), ("Scale", "autoscaling", "v1"));
    assert_eq!(scale.verbs, ["get", "patch", "update"]);

    for v in ["v1", "v2"] {
        let hpa = res("autoscaling", v, "horizontalpodautoscalers");
        assert_eq!(hpa.short_names, ["hpa"]);
        assert_eq!(hpa.categories, ["all"]);
    }
    assert!(res("autoscaling", "v2", "horizontalpodautoscalers").storage);
    assert!(!res("autoscaling", "v1", "horizontalpodautoscalers").storage);
    assert_eq!(res("", "v1", "events").short_names, ["ev"]);
    assert_eq!(res("events.k8s.io", "v1", "events").short_names, ["ev"]);
    assert!(res("", "v1", "events").storage);

    let ns = res("", "v1", "namespaces");
    assert_eq!(ns.short_names, ["ns"]);
    assert!(!ns.namespaced);
    assert!(!ns.verbs.contains(&"deletecollection"));
    assert_eq!(res("", "v1", "services").short_names, ["svc"]);
    assert_eq!(res("", "v1", "services").categories, ["all"]);
    assert_eq!(res("", "v1", "serviceaccounts").short_names, ["sa"]);
    assert_eq!(res("", "v1", "configmaps").short_names, ["cm"]);
    assert_eq!(res("", "v1", "endpoints").short_names, ["ep"]);
    let crd = res("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    assert_eq!(crd.short_names, ["crd", "crds"]);
    assert!(!crd.namespaced);
    assert_eq!(res("policy", "v1", "poddisruptionbudgets").short_names, ["pdb"]);
    assert!(res("coordination.k8s.io", "v1", "leases").short_names.is_empty());

    let token = &res("", "v1", "serviceaccounts").subresources[0];
    assert_eq!((token.name, token.kind), ("token", "TokenRequest"));
    assert_eq!(token.group, "authentication.k8s.io");
    assert_eq!(res("authorization.k8s.io", "v1", "subjectaccessreviews").verbs, ["create"]);
    assert!(res("authorization.k8s.io", "v1", "localsubjectaccessreviews").namespaced);
    assert!(!res("authentication.k8s.io", "v1", "tokenreviews").namespaced);
}

#[test]
fn unknown_fields_are_dropped() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "bogusMeta": 1},
        "spec": {"containers": [{"name": "c", "image": "nginx", "colour": "blue"}], "nope": true},
        "extra": {"a": 1}
    });
    let out = normalize("", "v1", "Pod", pod).unwrap();
    assert!(out.get("extra").is_none());
    assert!(out["metadata"].get("bogusMeta").is_none());
    assert!(out["spec"].get("nope").is_none());
    assert!(out["spec"]["containers"][0].get("colour").is_none());
    assert_eq!(out["spec"]["containers"][0]["image"], "nginx");

    let deploy = json!({
        "metadata": {"name": "d"},
        "spec": {"replicas": 2, "unknownField": "x",
                 "selector": {"matchLabels": {"app": "a"}},
                 "template": {"metadata": {"labels": {"app": "a"}},
                              "spec": {"containers": [{"name": "c", "image": "i", "x": 1}]}}}
    });
    let out = normalize("apps", "v1", "Deployment", deploy).unwrap();
    assert_eq!(out["apiVersion"], "apps/v1");
    assert_eq!(out["spec"]["replicas"], 2);
    assert!(out["spec"].get("unknownField").is_none());
    assert!(out["spec"]["template"]["spec"]["containers"][0].get("x").is_none());
}

#[test]
fn wrong_type_is_a_decode_error() {
    let bad = json!({"metadata": {"name": "p"}, "spec": {"containers": "nginx"}});
    let err = normalize("", "v1", "Pod", bad).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("Pod in version \"v1\" cannot be handled as a Pod: "), "{msg}");
    let bad = json!({"spec": {"replicas": "three"}});
    let msg = normalize("apps", "v1", "Deployment", bad).unwrap_err().to_string();
    assert!(msg.starts_with("Deployment in version \"v1\" cannot be handled as a Deployment: "));
    let msg = normalize("", "v1", "Pod", json!([1])).unwrap_err().to_string();
    assert!(msg.starts_with("Pod in version \"v1\" cannot be handled as a Pod: "));
}

#[test]
fn api_version_and_kind_checks() {
    let err = normalize("apps", "v1", "Deployment", json!({"apiVersion": "v1"})).unwrap_err();
    assert_eq!(err.to_string(), "the API version in the data (v1) does not match the expected API version (apps/v1)");
    let err = normalize("", "v1", "Pod", json!({"kind": "Service"})).unwrap_err();
    assert!(matches!(err, NormalizeError::Decode { .. }), "{err}");
    let err = normalize("apps", "v1", "Nope", json!({})).unwrap_err();
    assert!(matches!(err, NormalizeError::UnknownKind { .. }));
    assert!(err.to_string().starts_with("no kind \"Nope\" is registered for version \"apps/v1\""));
}

#[test]
fn secret_data_is_base64_checked() {
    let ok = json!({"metadata": {"name": "s"}, "data": {"k": "dmFsdWU="}, "type": "Opaque"});
    let out = normalize("", "v1", "Secret", ok).unwrap();
    assert_eq!(out["data"]["k"], "dmFsdWU=");
    let bad = json!({"metadata": {"name": "s"}, "data": {"k": "!!!"}});
    assert!(normalize("", "v1", "Secret", bad).is_err());
}

#[test]
fn field_label_tables() {
    let pods = field_labels("", "Pod");
    for l in ["spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName"] {
        assert!(pods.contains(&l), "{l}");
    }
    for l in ["spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"] {
        assert!(pods.contains(&l), "{l}");
    }
    assert!(field_labels("", "Event").contains(&"involvedObject.name"));
    assert!(field_labels("", "Event").contains(&"source"));
    assert_eq!(field_labels("", "Secret"), ["type"]);
    assert!(field_labels("", "ConfigMap").is_empty());
    assert_eq!(field_label_to_storage("events.k8s.io", "Event", "regarding.name"), Some("involvedObject.name"));
    assert_eq!(field_label_to_storage("events.k8s.io", "Event", "reportingController"), Some("reportingComponent"));
    assert_eq!(field_label_to_storage("", "Pod", "metadata.name"), Some("metadata.name"));
    assert_eq!(field_label_to_storage("", "Pod", "spec.bogus"), None);
}

#[test]
fn generation_rules() {
    assert!(generation_tracks_annotations("apps", "Deployment"));
    assert!(!generation_tracks_annotations("apps", "StatefulSet"));
    assert!(!generation_tracks_annotations("", "Pod"));
    assert!(generation_tracks_spec("apps", "ReplicaSet"));
    assert!(generation_tracks_spec("admissionregistration.k8s.io", "MutatingWebhookConfiguration"));
    assert!(!generation_tracks_spec("", "ConfigMap"));
}

#[test]
fn nulls_are_accepted_and_dropped() {
    let v: Value = json!({"metadata": {"name": "c", "labels": null}, "data": null});
    let out = normalize("", "v1", "ConfigMap", v).unwrap();
    assert!(out.get("data").is_none());
    assert!(out["metadata"].get("labels").is_none());
}

#[test]
fn serde_errors_are_reworded_like_go() {
    use super::normalize::go_style;
    assert_eq!(
        go_style("invalid type: string \"x\", expected i32"),
        "json: cannot unmarshal string into Go value of type int32"
    );
    assert_eq!(
        go_style("invalid value: integer `4294967296`, expected i32"),
        "json: cannot unmarshal number 4294967296 into Go value of type int32"
    );
    assert_eq!(
        go_style("invalid type: integer `1`, expected a string"),
        "json: cannot unmarshal number into Go value of type string"
    );
    assert_eq!(go_style("Invalid symbol 33, offset 2."), "illegal base64 data at input byte 2");
    assert_eq!(go_style("something else"), "something else");
    let bad = json!({"spec": {"replicas": 4294967296_i64}});
    let msg = normalize("apps", "v1", "Deployment", bad).unwrap_err().to_string();
    assert!(msg.ends_with("json: cannot unmarshal number 4294967296 into Go value of type int32"), "{msg}");
}

#[test]
fn groups_and_storage_lookup() {
    let groups = builtin_groups();
    assert_eq!(groups[0].0, "apiregistration.k8s.io");
    for r in builtin_resources() {
        if r.group.is_empty() {
            continue;
        }
        let versions = groups.iter().find(|(g, _)| *g == r.group).map(|(_, v)| *v);
        assert!(versions.unwrap_or_default().contains(&r.version), "{}", r.plural);
    }
    let order: Vec<&str> = builtin_resources().iter().map(|r| r.group).collect();
    let mut last = 0;
    for g in order.iter().filter(|g| !g.is_empty()) {
        let pos = groups.iter().position(|(n, _)| n == g).unwrap();
        assert!(pos >= last, "table order follows group order at {g}");
        last = pos;
    }
    let hpa = storage_resource("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
    assert_eq!(hpa.api_version(), "autoscaling/v2");
    let ev = storage_resource("events.k8s.io", "v1", "events").unwrap();
    assert_eq!(ev.api_version(), "v1");
    let pods = storage_resource("", "v1", "pods").unwrap();
    assert_eq!(pods.subresource("eviction").unwrap().kind, "Eviction");
    let nodes = storage_resource("", "v1", "nodes").unwrap();
    assert!(!nodes.namespaced, "nodes are cluster-scoped");
    assert!(storage_resource("", "v1", "persistentvolumes").is_none());
}

#[test]
fn field_values_follow_kube() {
    let pod = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Running",
                     "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}});
    assert_eq!(field_value("", "Pod", "spec.nodeName", &pod).as_deref(), Some("n1"));
    assert_eq!(field_value("", "Pod", "spec.hostNetwork", &pod).as_deref(), Some("false"));
    assert_eq!(field_value("", "Pod", "status.podIP", &pod).as_deref(), Some("10.0.0.1"));
    assert_eq!(field_value("", "Pod", "spec.schedulerName", &pod).as_deref(), Some(""));
    assert_eq!(field_value("", "Pod", "spec.bogus", &pod), None);
    let ev = json!({"involvedObject": {"name": "p"}, "reportingComponent": "kubelet"});
    assert_eq!(field_value("", "Event", "source", &ev).as_deref(), Some("kubelet"));
    let via_v1 = field_value("events.k8s.io", "Event", "regarding.name", &ev);
    assert_eq!(via_v1.as_deref(), Some("p"));
    let rs = json!({"status": {}});
    assert_eq!(field_value("apps", "ReplicaSet", "status.replicas", &rs).as_deref(), Some("0"));
}
