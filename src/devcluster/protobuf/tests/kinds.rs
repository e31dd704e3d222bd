//! One round trip per commonly sent kind, compared with the JSON kubectl would send.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::authentication::v1 as authn;
use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::coordination::v1::{Lease, LeaseSpec};
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, ObjectMeta, Time};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::{meta, round_trip, strings};

fn map<V: Clone>(pairs: &[(&str, V)]) -> BTreeMap<String, V> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect()
}

fn quantity(text: &str) -> Quantity {
    Quantity { string: Some(text.to_owned()) }
}

#[test]
fn namespace_with_labels() {
    let namespace = core::Namespace {
        metadata: Some(ObjectMeta {
            name: Some("team-a".to_owned()),
            labels: map(&[("team", "a".to_owned()), ("tier", "dev".to_owned())]),
            ..ObjectMeta::default()
        }),
        spec: Some(core::NamespaceSpec { finalizers: strings(&["kubernetes"]) }),
        status: None,
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"team": "a", "tier": "dev"}},
        "spec": {"finalizers": ["kubernetes"]}
    });
    let json = round_trip("v1", "Namespace", &namespace);
    let keys: Vec<&str> =
        json.as_object().map(|object| object.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
    assert_eq!(json, expected);
}

#[test]
fn go_zero_values_follow_go_json_rules() {
    // gogo-protobuf writes every value field; Go's JSON encoder then drops the empty ones.
    let namespace = core::Namespace {
        metadata: Some(ObjectMeta {
            name: Some("zero".to_owned()),
            generate_name: Some(String::new()),
            namespace: Some(String::new()),
            generation: Some(0),
            creation_timestamp: Some(Time::default()),
            ..ObjectMeta::default()
        }),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus::default()),
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "zero", "creationTimestamp": null},
        "spec": {}, "status": {}
    });
    assert_eq!(round_trip("v1", "Namespace", &namespace), expected);
}

#[test]
fn config_map_with_data() {
    let config_map = core::ConfigMap {
        metadata: meta("settings", Some("default")),
        data: map(&[("mode", "fast".to_owned()), ("empty", String::new())]),
        binary_data: map(&[("blob", vec![0u8, 1, 2, 255])]),
        immutable: Some(false),
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"},
        "immutable": false,
        "data": {"empty": "", "mode": "fast"},
        "binaryData": {"blob": "AAEC/w=="}
    });
    assert_eq!(round_trip("v1", "ConfigMap", &config_map), expected);
}

#[test]
fn secret_with_bytes() {
    let secret = core::Secret {
        metadata: meta("creds", Some("default")),
        immutable: None,
        data: map(&[("password", b"s3cr3t\n".to_vec()), ("raw", vec![0xde, 0xad, 0xbe, 0xef])]),
        string_data: map(&[("user", "admin".to_owned())]),
        r#type: Some("Opaque".to_owned()),
    };
    let expected = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "default"},
        "data": {"password": "czNjcjN0Cg==", "raw": "3q2+7w=="},
        "type": "Opaque",
        "stringData": {"user": "admin"}
    });
    assert_eq!(round_trip("v1", "Secret", &secret), expected);
}

fn container() -> core::Container {
    core::Container {
        name: Some("web".to_owned()),
        image: Some("nginx:1.27".to_owned()),
        command: strings(&["nginx"]),
        args: strings(&["-g", "daemon off;"]),
        ports: vec![core::ContainerPort {
            name: Some("http".to_owned()),
            container_port: Some(80),
            protocol: Some("TCP".to_owned()),
            ..core::ContainerPort::default()
        }],
        env: vec![
            core::EnvVar { name: Some("MODE".to_owned()), value: Some("prod".to_owned()), value_from: None },
            core::EnvVar {
                name: Some("PASSWORD".to_owned()),
                value: None,
                value_from: Some(core::EnvVarSource {
                    secret_key_ref: Some(core::SecretKeySelector {
                        local_object_reference: Some(core::LocalObjectReference { name: Some("creds".to_owned()) }),
                        key: Some("password".to_owned()),
                        optional: Some(false),
                    }),
                    ..core::EnvVarSource::default()
                }),
            },
            core::EnvVar {
                name: Some("POD_IP".to_owned()),
                value: None,
                value_from: Some(core::EnvVarSource {
                    field_ref: Some(core::ObjectFieldSelector {
                        api_version: Some("v1".to_owned()),
                        field_path: Some("status.podIP".to_owned()),
                    }),
                    ..core::EnvVarSource::default()
                }),
            },
        ],
        resources: Some(core::ResourceRequirements {
            limits: map(&[("cpu", quantity("500m")), ("memory", quantity("128Mi"))]),
            requests: map(&[("cpu", quantity("250m"))]),
            claims: Vec::new(),
        }),
        volume_mounts: vec![core::VolumeMount {
            name: Some("cache".to_owned()),
            mount_path: Some("/cache".to_owned()),
            ..core::VolumeMount::default()
        }],
        image_pull_policy: Some("IfNotPresent".to_owned()),
        ..core::Container::default()
    }
}

fn deployment() -> apps::Deployment {
    let labels = map(&[("app", "web".to_owned())]);
    apps::Deployment {
        metadata: meta("web", Some("default")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(LabelSelector { match_labels: labels.clone(), match_expressions: Vec::new() }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(ObjectMeta { labels, ..ObjectMeta::default() }),
                spec: Some(core::PodSpec {
                    containers: vec![container()],
                    volumes: vec![core::Volume {
                        name: Some("cache".to_owned()),
                        volume_source: Some(core::VolumeSource {
                            empty_dir: Some(core::EmptyDirVolumeSource::default()),
                            ..core::VolumeSource::default()
                        }),
                    }],
                    restart_policy: Some("Always".to_owned()),
                    termination_grace_period_seconds: Some(30),
                    ..core::PodSpec::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: Some("RollingUpdate".to_owned()),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString { r#type: Some(0), int_val: Some(1), str_val: None }),
                    max_surge: Some(IntOrString { r#type: Some(1), int_val: None, str_val: Some("25%".to_owned()) }),
                }),
            }),
            revision_history_limit: Some(10),
            ..apps::DeploymentSpec::default()
        }),
        status: None,
    }
}

#[test]
fn deployment_with_container_resources_ports_and_env() {
    let expected = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "command": ["nginx"],
                        "args": ["-g", "daemon off;"],
                        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                        "env": [
                            {"name": "MODE", "value": "prod"},
                            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password", "optional": false}}},
                            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}
                        ],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
                        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        "imagePullPolicy": "IfNotPresent"
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30
                }
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "revisionHistoryLimit": 10
        }
    });
    assert_eq!(round_trip("apps/v1", "Deployment", &deployment()), expected);
}

#[test]
fn role_binding() {
    let binding = rbac::RoleBinding {
        metadata: meta("read-pods", Some("dev")),
        subjects: vec![
            rbac::Subject {
                kind: Some("User".to_owned()),
                api_group: Some("rbac.authorization.k8s.io".to_owned()),
                name: Some("jane".to_owned()),
                namespace: None,
            },
            rbac::Subject {
                kind: Some("ServiceAccount".to_owned()),
                api_group: Some(String::new()),
                name: Some("builder".to_owned()),
                namespace: Some("ci".to_owned()),
            },
        ],
        role_ref: Some(rbac::RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: Some("Role".to_owned()),
            name: Some("pod-reader".to_owned()),
        }),
    };
    let expected = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "read-pods", "namespace": "dev"},
        "subjects": [
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"},
            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}
        ],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}
    });
    assert_eq!(round_trip("rbac.authorization.k8s.io/v1", "RoleBinding", &binding), expected);
}

#[test]
fn self_subject_access_review_with_resource_attributes() {
    let review = authz::SelfSubjectAccessReview {
        metadata: Some(ObjectMeta::default()),
        spec: Some(authz::SelfSubjectAccessReviewSpec {
            resource_attributes: Some(authz::ResourceAttributes {
                namespace: Some("dev".to_owned()),
                verb: Some("create".to_owned()),
                group: Some("apps".to_owned()),
                version: Some(String::new()),
                resource: Some("deployments".to_owned()),
                subresource: Some("scale".to_owned()),
                name: Some("web".to_owned()),
                ..authz::ResourceAttributes::default()
            }),
            non_resource_attributes: None,
        }),
        status: Some(authz::SubjectAccessReviewStatus::default()),
    };
    let expected = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {
            "namespace": "dev", "verb": "create", "group": "apps",
            "resource": "deployments", "subresource": "scale", "name": "web"
        }},
        "status": {}
    });
    assert_eq!(round_trip("authorization.k8s.io/v1", "SelfSubjectAccessReview", &review), expected);
}

#[test]
fn subject_access_review_with_extra() {
    let review = authz::SubjectAccessReview {
        spec: Some(authz::SubjectAccessReviewSpec {
            non_resource_attributes: Some(authz::NonResourceAttributes {
                path: Some("/healthz".to_owned()),
                verb: Some("get".to_owned()),
            }),
            user: Some("jane".to_owned()),
            groups: strings(&["dev", "system:authenticated"]),
            extra: map(&[("scopes", authz::ExtraValue { items: strings(&["a", "b"]) })]),
            uid: Some("42".to_owned()),
            ..authz::SubjectAccessReviewSpec::default()
        }),
        ..authz::SubjectAccessReview::default()
    };
    let expected = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {
            "nonResourceAttributes": {"path": "/healthz", "verb": "get"},
            "user": "jane",
            "groups": ["dev", "system:authenticated"],
            "extra": {"scopes": ["a", "b"]},
            "uid": "42"
        }
    });
    assert_eq!(round_trip("authorization.k8s.io/v1", "SubjectAccessReview", &review), expected);
}

#[test]
fn token_request() {
    let request = authn::TokenRequest {
        metadata: meta("builder", Some("ci")),
        spec: Some(authn::TokenRequestSpec {
            audiences: strings(&["https://kubernetes.default.svc"]),
            expiration_seconds: Some(3600),
            bound_object_ref: Some(authn::BoundObjectReference {
                kind: Some("Pod".to_owned()),
                api_version: Some("v1".to_owned()),
                name: Some("web-0".to_owned()),
                u_id: Some("1234-abcd".to_owned()),
            }),
        }),
        status: None,
    };
    let expected = json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "metadata": {"name": "builder", "namespace": "ci"},
        "spec": {
            "audiences": ["https://kubernetes.default.svc"],
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-0", "uid": "1234-abcd"},
            "expirationSeconds": 3600
        }
    });
    assert_eq!(round_trip("authentication.k8s.io/v1", "TokenRequest", &request), expected);
}

#[test]
fn lease_with_micro_times() {
    let lease = Lease {
        metadata: meta("controller", Some("kube-system")),
        spec: Some(LeaseSpec {
            holder_identity: Some("node-1".to_owned()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime { seconds: Some(1_700_000_000), nanos: Some(0) }),
            renew_time: Some(MicroTime { seconds: Some(1_700_000_010), nanos: Some(123_456_789) }),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    };
    let expected = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "controller", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 15,
            "acquireTime": "2023-11-14T22:13:20.000000Z",
            "renewTime": "2023-11-14T22:13:30.123456Z",
            "leaseTransitions": 0
        }
    });
    assert_eq!(round_trip("coordination.k8s.io/v1", "Lease", &lease), expected);
}
