//! The bootstrap RBAC policy a fresh kube-apiserver creates
//! (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`), limited to the
//! roles a development cluster's clients use.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{AggregationRule, ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const BOOTSTRAPPING_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");
const AUTOUPDATE_ANNOTATION: (&str, &str) = ("rbac.authorization.kubernetes.io/autoupdate", "true");
const AGGREGATE_TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const AGGREGATE_TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const AGGREGATE_TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

/// Bootstrap policy objects a fresh kube-apiserver creates: names, labels
/// (`kubernetes.io/bootstrapping: rbac-defaults` and the aggregation labels),
/// the `rbac.authorization.kubernetes.io/autoupdate` annotation, and the
/// aggregationRules of admin, edit and view.  As in kube-apiserver, the
/// aggregated roles are created without rules: run [`super::aggregate`] to
/// fill them in, as the clusterrole-aggregation controller does.
pub fn bootstrap_policy() -> (Vec<ClusterRole>, Vec<ClusterRoleBinding>) {
    let mut roles = vec![
        plain_role("cluster-admin", cluster_admin_rules()),
        plain_role("system:discovery", vec![url_rule(&["get"], DISCOVERY_URLS)]),
        plain_role("system:monitoring", vec![url_rule(&["get"], MONITORING_URLS)]),
        plain_role("system:basic-user", basic_user_rules()),
        plain_role("system:public-info-viewer", vec![url_rule(&["get"], PUBLIC_INFO_URLS)]),
        aggregated_role("admin", AGGREGATE_TO_ADMIN, None),
        aggregated_role("edit", AGGREGATE_TO_EDIT, Some(AGGREGATE_TO_ADMIN)),
        aggregated_role("view", AGGREGATE_TO_VIEW, Some(AGGREGATE_TO_EDIT)),
        labelled_role("system:aggregate-to-admin", AGGREGATE_TO_ADMIN, aggregate_to_admin_rules()),
        labelled_role("system:aggregate-to-edit", AGGREGATE_TO_EDIT, aggregate_to_edit_rules()),
        labelled_role("system:aggregate-to-view", AGGREGATE_TO_VIEW, aggregate_to_view_rules()),
        plain_role("system:auth-delegator", auth_delegator_rules()),
        plain_role("system:kube-aggregator", vec![rule(READ, &[""], &["services", "endpoints"])]),
        plain_role("system:service-account-issuer-discovery", vec![url_rule(&["get"], ISSUER_DISCOVERY_URLS)]),
        plain_role(HPA_CONTROLLER_ROLE, hpa_controller_rules()),
    ];
    roles.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    (roles, bootstrap_bindings())
}

const DISCOVERY_URLS: &[&str] = &[
    "/livez",
    "/readyz",
    "/healthz",
    "/version",
    "/version/",
    "/openapi",
    "/openapi/*",
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
];
const MONITORING_URLS: &[&str] =
    &["/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*"];
const PUBLIC_INFO_URLS: &[&str] = &["/livez", "/readyz", "/healthz", "/version", "/version/"];
const ISSUER_DISCOVERY_URLS: &[&str] =
    &["/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"];

fn bootstrap_bindings() -> Vec<ClusterRoleBinding> {
    vec![
        group_binding("cluster-admin", &["system:masters"]),
        group_binding("system:monitoring", &["system:monitoring"]),
        group_binding("system:discovery", &["system:authenticated"]),
        group_binding("system:basic-user", &["system:authenticated"]),
        group_binding("system:public-info-viewer", &["system:authenticated", "system:unauthenticated"]),
        group_binding("system:service-account-issuer-discovery", &["system:serviceaccounts"]),
        service_account_binding(HPA_CONTROLLER_ROLE, "kube-system", "horizontal-pod-autoscaler"),
    ]
}

const HPA_CONTROLLER_ROLE: &str = "system:controller:horizontal-pod-autoscaler";

/// `controller_policy.go`'s horizontal-pod-autoscaler role.
fn hpa_controller_rules() -> Vec<PolicyRule> {
    vec![
        rule(READ, &["autoscaling"], &["horizontalpodautoscalers"]),
        rule(&["update"], &["autoscaling"], &["horizontalpodautoscalers/status"]),
        rule(&["get", "update"], &["*"], &["*/scale"]),
        rule(&["list"], &[""], &["pods"]),
        rule(&["list"], &["metrics.k8s.io"], &["pods"]),
        rule(&["get", "list"], &["custom.metrics.k8s.io"], &["*"]),
        rule(&["get", "list"], &["external.metrics.k8s.io"], &["*"]),
        rule(&["create", "update", "patch"], &["", "events.k8s.io"], &["events"]),
    ]
}

fn cluster_admin_rules() -> Vec<PolicyRule> {
    vec![rule(&["*"], &["*"], &["*"]), url_rule(&["*"], &["*"])]
}

fn basic_user_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        rule(&["create"], &["authentication.k8s.io"], &["selfsubjectreviews"]),
    ]
}

fn auth_delegator_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        rule(&["create"], &["authorization.k8s.io"], &["subjectaccessreviews"]),
    ]
}

fn aggregate_to_admin_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &["authorization.k8s.io"], &["localsubjectaccessreviews"]),
        rule(READ_WRITE, &[RBAC_GROUP], &["roles", "rolebindings"]),
    ]
}

fn aggregate_to_edit_rules() -> Vec<PolicyRule> {
    let pod_access = &["pods/attach", "pods/proxy", "pods/exec", "pods/portforward"];
    let mut escalating_reads = pod_access.to_vec();
    escalating_reads.extend(["secrets", "services/proxy"]);
    let mut pod_writes = vec!["pods"];
    pod_writes.extend(pod_access);
    vec![
        rule(READ, &[""], &escalating_reads),
        rule(&["impersonate"], &[""], &["serviceaccounts"]),
        rule(WRITE, &[""], &pod_writes),
        rule(&["create"], &[""], &["pods/eviction"]),
        rule(
            WRITE,
            &[""],
            &[
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/proxy",
                "persistentvolumeclaims",
                "configmaps",
                "secrets",
                "events",
            ],
        ),
        rule(&["create"], &[""], &["serviceaccounts/token"]),
        rule(
            WRITE,
            &["apps"],
            &[
                "statefulsets",
                "statefulsets/scale",
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "replicasets",
                "replicasets/scale",
            ],
        ),
        rule(WRITE, &["autoscaling"], &["horizontalpodautoscalers"]),
        rule(WRITE, &["batch"], &["jobs", "cronjobs"]),
        rule(
            WRITE,
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "ingresses",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        rule(WRITE, &["policy"], &["poddisruptionbudgets"]),
        rule(WRITE, &["networking.k8s.io"], &["networkpolicies", "ingresses"]),
        rule(READ_WRITE, &["coordination.k8s.io"], &["leases"]),
    ]
}

fn aggregate_to_view_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            READ,
            &[""],
            &[
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "configmaps",
            ],
        ),
        rule(
            READ,
            &[""],
            &[
                "limitranges",
                "resourcequotas",
                "bindings",
                "events",
                "pods/status",
                "resourcequotas/status",
                "namespaces/status",
                "replicationcontrollers/status",
                "pods/log",
            ],
        ),
        rule(READ, &[""], &["namespaces"]),
        rule(READ, &["discovery.k8s.io"], &["endpointslices"]),
        rule(
            READ,
            &["apps"],
            &[
                "controllerrevisions",
                "statefulsets",
                "statefulsets/status",
                "statefulsets/scale",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/status",
                "deployments/scale",
                "replicasets",
                "replicasets/status",
                "replicasets/scale",
            ],
        ),
        rule(READ, &["autoscaling"], &["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, &["batch"], &["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
        rule(
            READ,
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        rule(READ, &["policy"], &["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, &["networking.k8s.io"], &["networkpolicies", "ingresses", "ingresses/status"]),
    ]
}

/// A resource rule; like Go's `PolicyRuleBuilder.Rule()`, every list is sorted.
fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: sorted(verbs),
        api_groups: Some(sorted(groups)),
        resources: Some(sorted(resources)),
        ..PolicyRule::default()
    }
}

fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule { verbs: sorted(verbs), non_resource_urls: Some(sorted(urls)), ..PolicyRule::default() }
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    out.sort();
    out
}

/// Metadata with the bootstrap label and autoupdate annotation, plus `extra_label=true`.
fn bootstrap_meta(name: &str, extra_label: Option<&str>) -> ObjectMeta {
    let mut labels = BTreeMap::from([(BOOTSTRAPPING_LABEL.0.to_string(), BOOTSTRAPPING_LABEL.1.to_string())]);
    if let Some(key) = extra_label {
        labels.insert(key.to_string(), "true".to_string());
    }
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(labels),
        annotations: Some(BTreeMap::from([(AUTOUPDATE_ANNOTATION.0.to_string(), AUTOUPDATE_ANNOTATION.1.to_string())])),
        ..ObjectMeta::default()
    }
}

fn plain_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole { metadata: bootstrap_meta(name, None), rules: Some(rules), aggregation_rule: None }
}

fn labelled_role(name: &str, label: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole { metadata: bootstrap_meta(name, Some(label)), rules: Some(rules), aggregation_rule: None }
}

/// A role aggregating every ClusterRole labelled `aggregates_label=true`,
/// itself labelled `aggregated_into=true` when it feeds a broader role.
fn aggregated_role(name: &str, aggregates_label: &str, aggregated_into: Option<&str>) -> ClusterRole {
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([(aggregates_label.to_string(), "true".to_string())])),
        match_expressions: None,
    };
    ClusterRole {
        metadata: bootstrap_meta(name, aggregated_into),
        rules: None,
        aggregation_rule: Some(AggregationRule { cluster_role_selectors: Some(vec![selector]) }),
    }
}

/// A controller role's binding to its ServiceAccount (`system:controller:<name>` → `kube-system/<name>`).
fn service_account_binding(role: &str, namespace: &str, name: &str) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: bootstrap_meta(role, None),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: "ClusterRole".to_string(),
            name: role.to_string(),
        },
        subjects: Some(vec![Subject {
            api_group: None,
            kind: "ServiceAccount".to_string(),
            name: name.to_string(),
            namespace: Some(namespace.to_string()),
        }]),
    }
}

fn group_binding(role: &str, groups: &[&str]) -> ClusterRoleBinding {
    let subjects = groups
        .iter()
        .map(|group| Subject {
            api_group: Some(RBAC_GROUP.to_string()),
            kind: "Group".to_string(),
            name: group.to_string(),
            namespace: None,
        })
        .collect();
    ClusterRoleBinding {
        metadata: bootstrap_meta(role, None),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: "ClusterRole".to_string(),
            name: role.to_string(),
        },
        subjects: Some(subjects),
    }
}
