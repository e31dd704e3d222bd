//! The validation texts and reasons of spec §10.5.

use serde_json::{Value, json};

use super::*;

fn spec(extra: Value) -> DatadogPodAutoscalerSpec {
    let mut spec =
        json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(spec).unwrap()
}

fn error(extra: Value) -> (Reason, String) {
    let e = validate_spec(&spec(extra)).expect_err("invalid");
    (e.reason, e.message)
}

#[test]
fn a_complete_spec_is_valid() {
    let ok = json!({
        "constraints": {"minReplicas": 2, "maxReplicas": 2, "containers": [
            {"name": "*", "minAllowed": {"cpu": "100m"}, "maxAllowed": {"cpu": "1"}},
            {"name": "app", "requests": {"minAllowed": {"memory": "1Gi"}, "maxAllowed": {"memory": "1024Mi"}}}]},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}],
        "fallback": {"horizontal": {"objectives": [{"type": "ContainerResource",
            "containerResource": {"name": "cpu", "container": "app", "value": {"type": "Utilization", "utilization": 70}}}]}}
    });
    assert_eq!(validate_spec(&spec(ok)), Ok(()));
}

#[test]
fn spec_errors_name_what_is_wrong() {
    let cases = [
        (
            json!({"constraints": {"minReplicas": 5, "maxReplicas": 2}}),
            "constraints.maxReplicas (2) must be greater than or equal to constraints.minReplicas (5)",
        ),
        (
            json!({"constraints": {"containers": [{"name": "app"}, {"name": "app"}]}}),
            "duplicate container name \"app\" in constraints",
        ),
        (
            json!({"constraints": {"containers": [{"name": "*"}, {"name": "*"}]}}),
            "duplicate container name \"*\" in constraints",
        ),
        (
            json!({"constraints": {"containers": [{"name": "app", "minAllowed": {"cpu": "2"}, "maxAllowed": {"cpu": "1500m"}}]}}),
            "container \"app\": minAllowed cpu (2) must be less than or equal to maxAllowed (1500m)",
        ),
        (
            json!({"constraints": {"containers": [{"name": "db",
                "requests": {"minAllowed": {"memory": "2Gi"}, "maxAllowed": {"memory": "1Gi"}}}]}}),
            "container \"db\": minAllowed memory (2Gi) must be less than or equal to maxAllowed (1Gi)",
        ),
        (
            json!({"constraints": {"containers": [{"name": "app", "minAllowed": {"cpu": "lots"}, "maxAllowed": {"cpu": "1"}}]}}),
            "container \"app\": minAllowed cpu (lots) is not a quantity: quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            json!({"objectives": [{"type": "PodResource"}]}),
            "autoscaler objective type is PodResource but podResource is nil",
        ),
        (
            json!({"objectives": [{"type": "ContainerResource"}]}),
            "autoscaler objective type is ContainerResource but containerResource is nil",
        ),
        (
            json!({"objectives": [{"type": "CustomQuery"}]}),
            "Autoscaler objective type is custom query but customQueryObjective is nil",
        ),
        (
            json!({"fallback": {"horizontal": {"objectives": [{"type": "CustomQuery"}]}}}),
            "Autoscaler fallback cannot be based on custom query objective",
        ),
        (
            json!({"fallback": {"horizontal": {"objectives": [{"type": "PodResource"}]}}}),
            "fallback: autoscaler objective type is PodResource but podResource is nil",
        ),
    ];
    for (extra, message) in cases {
        assert_eq!(error(extra), (Reason::InvalidSpec, message.to_string()));
    }
}

#[test]
fn target_refs_need_a_group_and_a_version() {
    let gvk = target_gvk(&spec(json!({}))).unwrap();
    assert_eq!((gvk.group.as_str(), gvk.version.as_str(), gvk.kind.as_str()), ("apps", "v1", "Deployment"));
    for (api_version, detail) in [
        ("v1", "a group and a version are required, e.g. apps/v1"),
        ("", "a group and a version are required, e.g. apps/v1"),
        ("apps/", "a group and a version are required, e.g. apps/v1"),
        ("a/b/c", "unexpected GroupVersion string: a/b/c"),
    ] {
        let s = spec(json!({"targetRef": {"apiVersion": api_version, "kind": "Deployment", "name": "web"}}));
        let e = target_gvk(&s).expect_err(api_version);
        assert_eq!(e.reason, Reason::InvalidTargetRef);
        assert_eq!(e.message, format!("failed to parse API version '{api_version}', err: {detail}"));
    }
}

#[test]
fn the_limit_error_names_the_limit() {
    let e = limit_error(100);
    assert_eq!(e.reason, Reason::ClusterAutoscalerLimitReached);
    assert_eq!(e.message, "Autoscaler disabled as maximum number per cluster reached (100)");
}

#[test]
fn the_cluster_agent_cannot_target_itself() {
    let settings = WorkloadSettings {
        own_namespace: Some("datadog".into()),
        own_pod_name: Some("dca-85cb8d69c5-x7k2p".into()),
        ..Default::default()
    };
    let dpa = |ns: &str, kind: &str, name: &str| {
        let s = spec(json!({"targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name}}));
        PodAutoscalerInternal::new(ns, "dpa", s, k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    };
    for (ns, kind, name) in [("datadog", "Deployment", "dca"), ("datadog", "ReplicaSet", "dca-85cb8d69c5")] {
        let e = check_self_target(&dpa(ns, kind, name), &settings).expect_err(name);
        assert_eq!(
            (e.reason, e.message.as_str()),
            (Reason::InvalidTarget, "Autoscaling target cannot be set to the cluster agent")
        );
    }
    for (ns, kind, name) in
        [("prod", "Deployment", "dca"), ("datadog", "Deployment", "web"), ("datadog", "StatefulSet", "dca")]
    {
        assert_eq!(check_self_target(&dpa(ns, kind, name), &settings), Ok(()), "{ns} {kind} {name}");
    }
    let unknown = WorkloadSettings { own_pod_name: None, ..settings };
    assert_eq!(check_self_target(&dpa("datadog", "Deployment", "dca"), &unknown), Ok(()));
}
