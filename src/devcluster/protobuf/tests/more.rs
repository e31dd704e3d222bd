//! Further kinds: Service, Pod volumes, ClusterRole, policy, DeleteOptions and wire details.

use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{
    DeleteOptions, LabelSelector, LabelSelectorRequirement, ObjectMeta, Preconditions, Time,
};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde_json::json;

use super::super::decode;
use super::{envelope, meta, round_trip, strings};

fn int(value: i32) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(0), int_val: Some(value), str_val: Some(String::new()) })
}

fn text(value: &str) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(1), int_val: Some(0), str_val: Some(value.to_owned()) })
}

#[test]
fn service_ports_and_int_or_string() {
    let service = core::Service {
        metadata: meta("web", Some("default")),
        spec: Some(core::ServiceSpec {
            ports: vec![
                core::ServicePort {
                    name: Some("http".to_owned()),
                    protocol: Some("TCP".to_owned()),
                    port: Some(80),
                    target_port: text("http"),
                    node_port: Some(0),
                    ..core::ServicePort::default()
                },
                core::ServicePort {
                    port: Some(443),
                    target_port: int(8443),
                    node_port: Some(30443),
                    ..Default::default()
                },
            ],
            selector: [("app".to_owned(), "web".to_owned())].into(),
            cluster_ip: Some("10.96.0.10".to_owned()),
            cluster_ips: strings(&["10.96.0.10"]),
            r#type: Some("NodePort".to_owned()),
            external_name: Some(String::new()),
            ..core::ServiceSpec::default()
        }),
        status: Some(core::ServiceStatus::default()),
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
                {"port": 443, "targetPort": 8443, "nodePort": 30443}
            ],
            "selector": {"app": "web"},
            "clusterIP": "10.96.0.10",
            "type": "NodePort",
            "clusterIPs": ["10.96.0.10"]
        },
        "status": {}
    });
    assert_eq!(round_trip("v1", "Service", &service), expected);
}

fn pod_spec() -> core::PodSpec {
    let volume = |name: &str, source: core::VolumeSource| core::Volume {
        name: Some(name.to_owned()),
        volume_source: Some(source),
    };
    core::PodSpec {
        volumes: vec![
            volume(
                "conf",
                core::VolumeSource {
                    config_map: Some(core::ConfigMapVolumeSource {
                        local_object_reference: Some(core::LocalObjectReference { name: Some("settings".to_owned()) }),
                        items: vec![core::KeyToPath {
                            key: Some("a".to_owned()),
                            path: Some("a.txt".to_owned()),
                            mode: None,
                        }],
                        default_mode: Some(0o644),
                        optional: None,
                    }),
                    ..core::VolumeSource::default()
                },
            ),
            volume(
                "creds",
                core::VolumeSource {
                    secret: Some(core::SecretVolumeSource {
                        secret_name: Some("creds".to_owned()),
                        ..Default::default()
                    }),
                    ..core::VolumeSource::default()
                },
            ),
        ],
        init_containers: vec![core::Container {
            name: Some("init".to_owned()),
            image: Some("busybox".to_owned()),
            working_dir: Some("/work".to_owned()),
            ..core::Container::default()
        }],
        containers: vec![core::Container { name: Some("app".to_owned()), ..core::Container::default() }],
        service_account_name: Some("builder".to_owned()),
        node_name: Some("node-1".to_owned()),
        node_selector: [("disk".to_owned(), "ssd".to_owned())].into(),
        tolerations: vec![core::Toleration {
            key: Some("dedicated".to_owned()),
            operator: Some("Exists".to_owned()),
            effect: Some("NoSchedule".to_owned()),
            toleration_seconds: Some(0),
            ..core::Toleration::default()
        }],
        security_context: Some(core::PodSecurityContext {
            run_as_user: Some(0),
            supplemental_groups: vec![1000, -1],
            ..core::PodSecurityContext::default()
        }),
        host_network: Some(false),
        ..core::PodSpec::default()
    }
}

#[test]
fn pod_volumes_tolerations_and_inline_fields() {
    let created = Time { seconds: Some(1_700_000_000), nanos: Some(999) };
    let pod = core::Pod {
        metadata: Some(ObjectMeta { creation_timestamp: Some(created), ..meta("p", Some("dev")).unwrap_or_default() }),
        spec: Some(pod_spec()),
        status: Some(core::PodStatus { phase: Some("Pending".to_owned()), ..core::PodStatus::default() }),
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "dev", "creationTimestamp": "2023-11-14T22:13:20Z"},
        "spec": {
            "volumes": [
                {"name": "conf", "configMap": {"name": "settings", "items": [{"key": "a", "path": "a.txt"}], "defaultMode": 420}},
                {"name": "creds", "secret": {"secretName": "creds"}}
            ],
            "containers": [{"name": "app"}],
            "nodeSelector": {"disk": "ssd"},
            "serviceAccountName": "builder",
            "nodeName": "node-1",
            "securityContext": {"runAsUser": 0, "supplementalGroups": [1000, -1]},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 0}],
            "initContainers": [{"name": "init", "image": "busybox", "workingDir": "/work"}]
        },
        "status": {"phase": "Pending"}
    });
    assert_eq!(round_trip("v1", "Pod", &pod), expected);
}

#[test]
fn packed_repeated_ints_are_accepted() {
    // PodSecurityContext.supplementalGroups (4) packed: [1, 300, -2].
    let mut groups = vec![0x22, 0x0d, 0x01, 0xac, 0x02];
    groups.extend([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    let mut spec = vec![0x72, groups.len() as u8]; // PodSpec.securityContext (14)
    spec.extend(groups);
    let mut pod = vec![0x12, spec.len() as u8]; // Pod.spec (2)
    pod.extend(spec);
    let json = decode(&envelope("v1", "Pod", pod)).expect("decodes");
    assert_eq!(json["spec"]["securityContext"], json!({"supplementalGroups": [1, 300, -2]}));
}

#[test]
fn cluster_role_with_rules_and_aggregation() {
    let role = rbac::ClusterRole {
        metadata: meta("viewer", None),
        rules: vec![
            rbac::PolicyRule {
                verbs: strings(&["get", "list"]),
                api_groups: strings(&["", "apps"]),
                resources: strings(&["pods", "deployments"]),
                resource_names: strings(&["web"]),
                non_resource_ur_ls: Vec::new(),
            },
            rbac::PolicyRule {
                verbs: strings(&["get"]),
                non_resource_ur_ls: strings(&["/healthz"]),
                ..Default::default()
            },
        ],
        aggregation_rule: Some(rbac::AggregationRule {
            cluster_role_selectors: vec![LabelSelector {
                match_labels: [("agg".to_owned(), "true".to_owned())].into(),
                match_expressions: vec![LabelSelectorRequirement {
                    key: Some("tier".to_owned()),
                    operator: Some("In".to_owned()),
                    values: strings(&["a", "b"]),
                }],
            }],
        }),
    };
    let expected = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "viewer"},
        "rules": [
            {"verbs": ["get", "list"], "apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "resourceNames": ["web"]},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}
        ],
        "aggregationRule": {"clusterRoleSelectors": [{
            "matchLabels": {"agg": "true"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]
        }]}
    });
    assert_eq!(round_trip("rbac.authorization.k8s.io/v1", "ClusterRole", &role), expected);
}

fn delete_options() -> DeleteOptions {
    DeleteOptions {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: Some("u-1".to_owned()), resource_version: Some("7".to_owned()) }),
        orphan_dependents: None,
        propagation_policy: Some("Foreground".to_owned()),
        dry_run: strings(&["All"]),
        ..DeleteOptions::default()
    }
}

#[test]
fn eviction_and_delete_options() {
    let eviction = policy::Eviction { metadata: meta("web-0", Some("dev")), delete_options: Some(delete_options()) };
    let options = json!({
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u-1", "resourceVersion": "7"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"]
    });
    let expected = json!({
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "web-0", "namespace": "dev"},
        "deleteOptions": options
    });
    assert_eq!(round_trip("policy/v1", "Eviction", &eviction), expected);
    let mut direct = json!({"apiVersion": "apps/v1", "kind": "DeleteOptions"});
    if let (Some(object), Some(fields)) = (direct.as_object_mut(), options.as_object()) {
        object.extend(fields.clone());
    }
    assert_eq!(round_trip("apps/v1", "DeleteOptions", &delete_options()), direct);
}

#[test]
fn pod_disruption_budget_and_rules_review() {
    let budget = policy::PodDisruptionBudget {
        metadata: meta("web", Some("dev")),
        spec: Some(policy::PodDisruptionBudgetSpec {
            min_available: text("50%"),
            max_unavailable: None,
            selector: Some(LabelSelector {
                match_labels: [("app".to_owned(), "web".to_owned())].into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    };
    let expected = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "dev"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    });
    assert_eq!(round_trip("policy/v1", "PodDisruptionBudget", &budget), expected);

    let review = authz::SelfSubjectRulesReview {
        spec: Some(authz::SelfSubjectRulesReviewSpec { namespace: Some("dev".to_owned()) }),
        ..Default::default()
    };
    let body = envelope("authorization.k8s.io/v1", "SelfSubjectRulesReview", review.encode_to_vec());
    let expected = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "dev"}});
    assert_eq!(decode(&body).expect("decodes"), expected);
}

#[test]
fn status_value_fields_with_zero_are_omitted() {
    let status = k8s_pb::api::apps::v1::DeploymentStatus {
        observed_generation: Some(0),
        replicas: Some(0),
        updated_replicas: Some(0),
        collision_count: None,
        ..Default::default()
    };
    let deployment = k8s_pb::api::apps::v1::Deployment { status: Some(status), ..Default::default() };
    let expected = json!({"apiVersion": "apps/v1", "kind": "Deployment", "status": {}});
    assert_eq!(round_trip("apps/v1", "Deployment", &deployment), expected);
}
