use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::*;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        ..PolicyRule::default()
    }
}

fn named_rule(verbs: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule { resource_names: Some(strings(names)), ..rule(verbs, &[""], resources) }
}

fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule { verbs: strings(verbs), non_resource_urls: Some(strings(urls)), ..PolicyRule::default() }
}

fn meta(namespace: Option<&str>, name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_string()), namespace: namespace.map(str::to_string), ..ObjectMeta::default() }
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole { metadata: meta(None, name), rules: Some(rules), aggregation_rule: None }
}

fn role(namespace: &str, name: &str, rules: Vec<PolicyRule>) -> Role {
    Role { metadata: meta(Some(namespace), name), rules: Some(rules) }
}

fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Subject {
    Subject {
        api_group: None,
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: namespace.map(str::to_string),
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: "rbac.authorization.k8s.io".to_string(), kind: kind.to_string(), name: name.to_string() }
}

fn crb(name: &str, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
    ClusterRoleBinding { metadata: meta(None, name), role_ref: role_ref("ClusterRole", role), subjects: Some(subjects) }
}

fn rb(namespace: &str, name: &str, kind: &str, role: &str, subjects: Vec<Subject>) -> RoleBinding {
    RoleBinding { metadata: meta(Some(namespace), name), role_ref: role_ref(kind, role), subjects: Some(subjects) }
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo { name: name.to_string(), groups: strings(groups), ..UserInfo::default() }
}

fn request(user: UserInfo, verb: &str, group: &str, resource: &str, namespace: &str) -> Attributes {
    Attributes {
        user,
        verb: verb.to_string(),
        resource_request: true,
        api_group: group.to_string(),
        api_version: "v1".to_string(),
        resource: resource.to_string(),
        namespace: namespace.to_string(),
        ..Attributes::default()
    }
}

fn non_resource(user: UserInfo, verb: &str, path: &str) -> Attributes {
    Attributes { user, verb: verb.to_string(), path: path.to_string(), ..Attributes::default() }
}

fn allows(authz: &RbacAuthorizer, attrs: &Attributes) -> bool {
    matches!(authz.authorize(attrs), Decision::Allow { .. })
}

/// One ClusterRole with `rules` bound cluster-wide to user alice.
fn alice_with(rules: Vec<PolicyRule>) -> RbacAuthorizer {
    RbacAuthorizer::new(
        vec![],
        vec![cluster_role("r", rules)],
        vec![],
        vec![crb("b", "r", vec![subject("User", "alice", None)])],
    )
}

fn alice() -> UserInfo {
    user("alice", &["system:authenticated"])
}

#[test]
fn allow_reason_names_binding_role_and_subject() {
    let authz = alice_with(vec![rule(&["get"], &[""], &["pods"])]);
    let decision = authz.authorize(&request(alice(), "get", "", "pods", "ns"));
    assert_eq!(
        decision,
        Decision::Allow {
            reason: "RBAC: allowed by ClusterRoleBinding \"b\" of ClusterRole \"r\" to User \"alice\"".to_string()
        }
    );
}

#[test]
fn verbs_and_groups_match_exactly_or_by_wildcard() {
    let authz = alice_with(vec![rule(&["get", "list"], &["apps"], &["deployments"])]);
    assert!(allows(&authz, &request(alice(), "list", "apps", "deployments", "")));
    assert!(!allows(&authz, &request(alice(), "delete", "apps", "deployments", "")));
    assert!(!allows(&authz, &request(alice(), "get", "", "deployments", "")));

    let wild = alice_with(vec![rule(&["*"], &["*"], &["deployments"])]);
    assert!(allows(&wild, &request(alice(), "patch", "extensions", "deployments", "")));
    assert!(!allows(&wild, &request(alice(), "patch", "apps", "pods", "")));
}

#[test]
fn resources_match_subresources_exactly_or_by_star_slash() {
    let mut attrs = request(alice(), "get", "", "pods", "ns");
    attrs.subresource = "log".to_string();

    let plain = alice_with(vec![rule(&["get"], &[""], &["pods"])]);
    assert!(!allows(&plain, &attrs), "pods does not grant pods/log");

    let exact = alice_with(vec![rule(&["get"], &[""], &["pods/log"])]);
    assert!(allows(&exact, &attrs));

    let any_parent = alice_with(vec![rule(&["get"], &[""], &["*/log"])]);
    assert!(allows(&any_parent, &attrs));
    attrs.subresource = "status".to_string();
    assert!(!allows(&any_parent, &attrs));

    let everything = alice_with(vec![rule(&["get"], &[""], &["*"])]);
    assert!(allows(&everything, &attrs));

    // As in Go, `pods/*` is not a wildcard: it only matches a subresource named `*`.
    let parent_star = alice_with(vec![rule(&["get"], &[""], &["pods/*"])]);
    assert!(!allows(&parent_star, &attrs));
}

#[test]
fn resource_names_restrict_to_listed_names() {
    let authz = alice_with(vec![named_rule(&["get", "list", "create"], &["configmaps"], &["cm1"])]);
    let mut attrs = request(alice(), "get", "", "configmaps", "ns");
    attrs.name = "cm1".to_string();
    assert!(allows(&authz, &attrs));
    attrs.name = "cm2".to_string();
    assert!(!allows(&authz, &attrs));
    // list and create carry no name, so a named rule never grants them.
    assert!(!allows(&authz, &request(alice(), "list", "", "configmaps", "ns")));
    assert!(!allows(&authz, &request(alice(), "create", "", "configmaps", "ns")));
}

#[test]
fn non_resource_urls_match_exactly_or_by_prefix_star() {
    let authz = alice_with(vec![url_rule(&["get"], &["/healthz", "/apis/*"])]);
    assert!(allows(&authz, &non_resource(alice(), "get", "/healthz")));
    assert!(!allows(&authz, &non_resource(alice(), "get", "/healthz/etcd")));
    assert!(allows(&authz, &non_resource(alice(), "get", "/apis/apps/v1")));
    assert!(!allows(&authz, &non_resource(alice(), "post", "/apis/apps")));
    assert!(!allows(&authz, &non_resource(alice(), "get", "/api")));

    // A resource rule never grants a non-resource request, nor the reverse.
    let resources = alice_with(vec![rule(&["*"], &["*"], &["*"])]);
    assert!(!allows(&resources, &non_resource(alice(), "get", "/healthz")));
    let urls = alice_with(vec![url_rule(&["*"], &["*"])]);
    assert!(!allows(&urls, &request(alice(), "get", "", "pods", "")));
}

#[test]
fn group_subjects_match_user_groups() {
    let authz = RbacAuthorizer::new(
        vec![],
        vec![cluster_role("reader", vec![rule(&["get"], &[""], &["nodes"])])],
        vec![],
        vec![crb("b", "reader", vec![subject("Group", "devs", None)])],
    );
    let dev = user("bob", &["devs"]);
    let decision = authz.authorize(&request(dev, "get", "", "nodes", ""));
    assert_eq!(
        decision,
        Decision::Allow {
            reason: "RBAC: allowed by ClusterRoleBinding \"b\" of ClusterRole \"reader\" to Group \"devs\"".to_string()
        }
    );
    assert!(!allows(&authz, &request(alice(), "get", "", "nodes", "")));
}

#[test]
fn service_account_subjects_default_to_the_binding_namespace() {
    let sa = user("system:serviceaccount:team:builder", &["system:serviceaccounts"]);
    let authz = RbacAuthorizer::new(
        vec![role("team", "cm-reader", vec![rule(&["get"], &[""], &["configmaps"])])],
        vec![],
        vec![rb("team", "rb", "Role", "cm-reader", vec![subject("ServiceAccount", "builder", None)])],
        vec![],
    );
    let decision = authz.authorize(&request(sa.clone(), "get", "", "configmaps", "team"));
    assert_eq!(
        decision,
        Decision::Allow {
            reason: "RBAC: allowed by RoleBinding \"rb/team\" of Role \"cm-reader\" to ServiceAccount \"builder/team\""
                .to_string()
        }
    );
    let other = user("system:serviceaccount:other:builder", &[]);
    assert!(!allows(&authz, &request(other, "get", "", "configmaps", "team")));
}

#[test]
fn service_account_subject_without_namespace_never_matches_cluster_wide() {
    let sa = user("system:serviceaccount:team:builder", &[]);
    let authz = RbacAuthorizer::new(
        vec![],
        vec![cluster_role("r", vec![rule(&["*"], &["*"], &["*"])])],
        vec![],
        vec![
            crb("no-ns", "r", vec![subject("ServiceAccount", "builder", None)]),
            crb("with-ns", "r", vec![subject("ServiceAccount", "builder", Some("team"))]),
        ],
    );
    let decision = authz.authorize(&request(sa, "get", "", "pods", ""));
    assert_eq!(
        decision,
        Decision::Allow {
            reason: "RBAC: allowed by ClusterRoleBinding \"with-ns\" of ClusterRole \"r\" to ServiceAccount \"builder/team\""
                .to_string()
        }
    );
}

#[test]
fn role_binding_to_cluster_role_grants_only_in_its_namespace() {
    let authz = RbacAuthorizer::new(
        vec![],
        vec![cluster_role("pod-reader", vec![rule(&["get"], &[""], &["pods"])])],
        vec![rb("a", "rb", "ClusterRole", "pod-reader", vec![subject("User", "alice", None)])],
        vec![],
    );
    assert!(allows(&authz, &request(alice(), "get", "", "pods", "a")));
    assert!(!allows(&authz, &request(alice(), "get", "", "pods", "b")));
    assert!(!allows(&authz, &request(alice(), "get", "", "pods", "")));
}

#[test]
fn role_must_live_in_the_binding_namespace() {
    let authz = RbacAuthorizer::new(
        vec![role("elsewhere", "reader", vec![rule(&["get"], &[""], &["pods"])])],
        vec![],
        vec![rb("a", "rb", "Role", "reader", vec![subject("User", "alice", None)])],
        vec![],
    );
    let decision = authz.authorize(&request(alice(), "get", "", "pods", "a"));
    assert_eq!(
        decision,
        Decision::NoOpinion { reason: "RBAC: role.rbac.authorization.k8s.io \"reader\" not found".to_string() }
    );
}

#[test]
fn denial_reasons_are_empty_or_list_missing_roles() {
    let nothing = RbacAuthorizer::default();
    assert_eq!(
        nothing.authorize(&request(alice(), "get", "", "pods", "a")),
        Decision::NoOpinion { reason: String::new() }
    );
    let dangling = RbacAuthorizer::new(
        vec![],
        vec![],
        vec![],
        vec![
            crb("b1", "gone", vec![subject("User", "alice", None)]),
            crb("b2", "gone", vec![subject("User", "alice", None)]),
            crb("b3", "missing", vec![subject("User", "alice", None)]),
        ],
    );
    assert_eq!(
        dangling.authorize(&request(alice(), "get", "", "pods", "")),
        Decision::NoOpinion {
            reason: "RBAC: [clusterrole.rbac.authorization.k8s.io \"gone\" not found, clusterrole.rbac.authorization.k8s.io \"missing\" not found]"
                .to_string()
        }
    );
}

#[test]
fn rules_for_splits_resource_and_non_resource_rules() {
    let authz = RbacAuthorizer::new(
        vec![role("a", "local", vec![rule(&["list"], &[""], &["secrets"])])],
        vec![cluster_role("mixed", vec![rule(&["get"], &[""], &["pods"]), url_rule(&["get"], &["/healthz"])])],
        vec![rb("a", "rb", "Role", "local", vec![subject("User", "alice", None)])],
        vec![crb("b", "mixed", vec![subject("User", "alice", None)])],
    );
    let (resources, urls) = authz.rules_for(&alice(), "a");
    assert_eq!(resources, vec![rule(&["get"], &[""], &["pods"]), rule(&["list"], &[""], &["secrets"])]);
    assert_eq!(urls, vec![url_rule(&["get"], &["/healthz"])]);
    let (cluster_only, _) = authz.rules_for(&alice(), "");
    assert_eq!(cluster_only, vec![rule(&["get"], &[""], &["pods"])]);
}

#[test]
fn superuser_is_membership_of_system_masters() {
    assert!(is_superuser(&user("admin", &["system:masters", "system:authenticated"])));
    assert!(!is_superuser(&user("system:masters", &["system:authenticated"])));
}

fn match_labels(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
}

fn labelled(name: &str, label: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    let mut role = cluster_role(name, rules);
    role.metadata.labels = Some(BTreeMap::from([(label.to_string(), "true".to_string())]));
    role
}

fn aggregating(name: &str, label: &str) -> ClusterRole {
    ClusterRole {
        metadata: meta(None, name),
        rules: None,
        aggregation_rule: Some(k8s_openapi::api::rbac::v1::AggregationRule {
            cluster_role_selectors: Some(vec![LabelSelector {
                match_labels: Some(BTreeMap::from([(label.to_string(), "true".to_string())])),
                match_expressions: None,
            }]),
        }),
    }
}

#[test]
fn aggregate_unions_matching_roles_by_name_without_duplicates() {
    let pods = rule(&["get"], &[""], &["pods"]);
    let secrets = rule(&["get"], &[""], &["secrets"]);
    let roles = vec![
        aggregating("monitoring", "agg"),
        labelled("z-extra", "agg", vec![secrets.clone(), pods.clone()]),
        labelled("a-base", "agg", vec![pods.clone()]),
        cluster_role("unlabelled", vec![rule(&["*"], &["*"], &["*"])]),
    ];
    let changes = aggregate(&roles, &match_labels);
    assert_eq!(changes, vec![("monitoring".to_string(), vec![pods, secrets])]);

    // Applying the result leaves nothing more to change.
    let mut applied = roles.clone();
    applied[0].rules = Some(changes[0].1.clone());
    assert!(aggregate(&applied, &match_labels).is_empty());
}

#[test]
fn bootstrap_admin_edit_view_aggregate_in_chain() {
    let (roles, bindings) = bootstrap_policy();
    let changes: BTreeMap<String, Vec<PolicyRule>> = aggregate(&roles, &match_labels).into_iter().collect();
    assert_eq!(changes.keys().collect::<Vec<_>>(), ["admin", "edit", "view"]);
    let mut applied = roles.clone();
    for role in &mut applied {
        if let Some(rules) = changes.get(role.metadata.name.as_deref().unwrap_or_default()) {
            role.rules = Some(rules.clone());
        }
    }
    assert!(aggregate(&applied, &match_labels).is_empty());

    let authz = RbacAuthorizer::new(
        vec![],
        applied,
        vec![
            rb("a", "view", "ClusterRole", "view", vec![subject("User", "viewer", None)]),
            rb("a", "admin", "ClusterRole", "admin", vec![subject("User", "boss", None)]),
        ],
        bindings,
    );
    let viewer = user("viewer", &["system:authenticated"]);
    let boss = user("boss", &["system:authenticated"]);
    assert!(allows(&authz, &request(viewer.clone(), "list", "apps", "deployments", "a")));
    assert!(!allows(&authz, &request(viewer.clone(), "get", "", "secrets", "a")));
    assert!(allows(&authz, &request(boss.clone(), "get", "", "secrets", "a")));
    assert!(allows(&authz, &request(boss, "create", "rbac.authorization.k8s.io", "rolebindings", "a")));
    // Bootstrap bindings: discovery for any authenticated user, everything for system:masters.
    assert!(allows(&authz, &non_resource(viewer.clone(), "get", "/apis/apps/v1")));
    assert!(allows(&authz, &request(viewer, "create", "authorization.k8s.io", "selfsubjectaccessreviews", "")));
    let anonymous = user("system:anonymous", &["system:unauthenticated"]);
    assert!(allows(&authz, &non_resource(anonymous.clone(), "get", "/version")));
    assert!(!allows(&authz, &non_resource(anonymous, "get", "/apis")));
    let sa = user("system:serviceaccount:a:b", &["system:serviceaccounts"]);
    assert!(allows(&authz, &non_resource(sa, "get", "/openid/v1/jwks")));
    let master = user("root", &["system:masters"]);
    assert!(allows(&authz, &request(master, "delete", "", "nodes", "")));
}

#[test]
fn bootstrap_objects_carry_bootstrapping_labels() {
    let (roles, bindings) = bootstrap_policy();
    let label = |meta: &ObjectMeta| meta.labels.as_ref().and_then(|l| l.get("kubernetes.io/bootstrapping")).cloned();
    for role in &roles {
        assert_eq!(label(&role.metadata).as_deref(), Some("rbac-defaults"));
    }
    for binding in &bindings {
        assert_eq!(label(&binding.metadata).as_deref(), Some("rbac-defaults"));
    }
}
