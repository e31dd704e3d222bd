//! RBAC authorizer, mirroring `k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac`
//! and the rule resolver in `pkg/registry/rbac/validation/rule.go`.
//!
//! The authorizer is an immutable snapshot of the RBAC objects; the caller
//! rebuilds it whenever a Role, ClusterRole or binding changes.  Like the Go
//! authorizer it never denies: a request no rule allows gets `NoOpinion`,
//! with a reason naming the role references that could not be resolved.

mod aggregation;
mod bootstrap;
mod matching;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};

pub use aggregation::aggregate;
pub use bootstrap::bootstrap_policy;
pub use matching::rule_allows;

/// The group whose members kube-apiserver's privileged-group authorizer allows everything.
pub const SYSTEM_MASTERS_GROUP: &str = "system:masters";
/// Prefix of the user names service accounts authenticate as.
pub const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";

pub use crate::apimachinery::authorization::{Attributes, UserInfo};

/// An authorizer's answer, with the reason it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow { reason: String },
    Deny { reason: String },
    NoOpinion { reason: String },
}

/// Failures resolving a binding's role reference; their texts are the Go ones,
/// and they end up in the reason of a `NoOpinion` decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbacError {
    #[error("role.rbac.authorization.k8s.io \"{name}\" not found")]
    RoleNotFound { name: String },
    #[error("clusterrole.rbac.authorization.k8s.io \"{name}\" not found")]
    ClusterRoleNotFound { name: String },
    #[error("unsupported role reference kind: \"{kind}\"")]
    UnsupportedRoleRefKind { kind: String },
}

/// Immutable snapshot of the RBAC objects, rebuilt by the caller whenever one changes.
#[derive(Clone, Debug, Default)]
pub struct RbacAuthorizer {
    /// Roles keyed by (namespace, name).
    roles: HashMap<(String, String), Role>,
    cluster_roles: HashMap<String, ClusterRole>,
    /// Role bindings grouped by namespace, each list in the order given.
    role_bindings: HashMap<String, Vec<RoleBinding>>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// Where a rule came from, worded as the Go describers do.
struct RuleSource {
    description: String,
}

/// One step of the walk over the rules that apply to a user: a rule with its
/// source, or an error resolving a binding.
enum Visit<'a> {
    Rule(&'a RuleSource, &'a PolicyRule),
    Error(RbacError),
}

/// The members of group `system:masters` are allowed everything (kube-apiserver's
/// privileged-group authorizer), checked before RBAC.
pub fn is_superuser(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == SYSTEM_MASTERS_GROUP)
}

impl RbacAuthorizer {
    pub fn new(
        roles: Vec<Role>,
        cluster_roles: Vec<ClusterRole>,
        role_bindings: Vec<RoleBinding>,
        cluster_role_bindings: Vec<ClusterRoleBinding>,
    ) -> Self {
        let roles = roles.into_iter().map(|r| ((namespace_of(&r.metadata), name_of(&r.metadata)), r)).collect();
        let cluster_roles = cluster_roles.into_iter().map(|r| (name_of(&r.metadata), r)).collect();
        let mut by_namespace: HashMap<String, Vec<RoleBinding>> = HashMap::new();
        for binding in role_bindings {
            by_namespace.entry(namespace_of(&binding.metadata)).or_default().push(binding);
        }
        RbacAuthorizer { roles, cluster_roles, role_bindings: by_namespace, cluster_role_bindings }
    }

    /// Authorizes like the Go `RBACAuthorizer.Authorize`: `Allow` with the
    /// source of the first matching rule, else `NoOpinion` whose reason lists
    /// the resolution errors met on the way (empty when there were none).
    pub fn authorize(&self, attrs: &Attributes) -> Decision {
        let mut errors = Vec::new();
        let mut allowed_by = None;
        self.visit_rules_for(&attrs.user, &attrs.namespace, &mut |visit| match visit {
            Visit::Rule(source, rule) if rule_allows(attrs, rule) => {
                allowed_by = Some(format!("RBAC: allowed by {}", source.description));
                false
            }
            Visit::Rule(..) => true,
            Visit::Error(err) => {
                errors.push(err.to_string());
                true
            }
        });
        match allowed_by {
            Some(reason) => Decision::Allow { reason },
            None => Decision::NoOpinion { reason: denial_reason(&errors) },
        }
    }

    /// For SelfSubjectRulesReview (kubectl auth can-i --list): resource rules and
    /// non-resource rules that apply to the user in `namespace`.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<PolicyRule>) {
        let mut resource_rules = Vec::new();
        let mut non_resource_rules = Vec::new();
        self.visit_rules_for(user, namespace, &mut |visit| {
            if let Visit::Rule(_, rule) = visit {
                if let Some(r) = resource_rule_info(rule) {
                    resource_rules.push(r);
                }
                if let Some(r) = non_resource_rule_info(rule) {
                    non_resource_rules.push(r);
                }
            }
            true
        });
        (resource_rules, non_resource_rules)
    }

    /// `DefaultRuleResolver.VisitRulesFor`: cluster role bindings first, then the
    /// role bindings of `namespace` (if any).  The visitor returns `false` to stop.
    fn visit_rules_for(&self, user: &UserInfo, namespace: &str, visitor: &mut dyn FnMut(Visit<'_>) -> bool) {
        for binding in &self.cluster_role_bindings {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = applicable_subject(user, subjects, "") else {
                continue;
            };
            let source = RuleSource { description: describe_cluster_role_binding(binding, subject) };
            if !self.visit_role_ref(&binding.role_ref, "", &source, visitor) {
                return;
            }
        }
        if namespace.is_empty() {
            return;
        }
        for binding in self.role_bindings.get(namespace).into_iter().flatten() {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = applicable_subject(user, subjects, namespace) else {
                continue;
            };
            let source = RuleSource { description: describe_role_binding(binding, subject) };
            if !self.visit_role_ref(&binding.role_ref, namespace, &source, visitor) {
                return;
            }
        }
    }

    /// Visits the rules of one role reference; returns `false` when the visitor stopped.
    fn visit_role_ref(
        &self,
        role_ref: &RoleRef,
        binding_namespace: &str,
        source: &RuleSource,
        visitor: &mut dyn FnMut(Visit<'_>) -> bool,
    ) -> bool {
        match self.role_reference_rules(role_ref, binding_namespace) {
            Ok(rules) => rules.iter().all(|rule| visitor(Visit::Rule(source, rule))),
            Err(err) => visitor(Visit::Error(err)),
        }
    }

    /// `GetRoleReferenceRules`: a Role is looked up in the binding's namespace.
    fn role_reference_rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Result<&[PolicyRule], RbacError> {
        match role_ref.kind.as_str() {
            "Role" => self
                .roles
                .get(&(binding_namespace.to_string(), role_ref.name.clone()))
                .map(|role| role.rules.as_deref().unwrap_or_default())
                .ok_or_else(|| RbacError::RoleNotFound { name: role_ref.name.clone() }),
            "ClusterRole" => self
                .cluster_roles
                .get(&role_ref.name)
                .map(|role| role.rules.as_deref().unwrap_or_default())
                .ok_or_else(|| RbacError::ClusterRoleNotFound { name: role_ref.name.clone() }),
            other => Err(RbacError::UnsupportedRoleRefKind { kind: other.to_string() }),
        }
    }
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn namespace_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_default()
}

/// `RBAC: <aggregate>` as `utilerrors.NewAggregate` prints it: one message
/// alone, several de-duplicated inside brackets; empty when there are none.
fn denial_reason(errors: &[String]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for message in errors {
        if !unique.contains(&message.as_str()) {
            unique.push(message);
        }
    }
    match unique.as_slice() {
        [] => String::new(),
        [only] => format!("RBAC: {only}"),
        many => format!("RBAC: [{}]", many.join(", ")),
    }
}

/// `appliesTo`: the first subject of a binding that matches the user.
fn applicable_subject<'a>(user: &UserInfo, subjects: &'a [Subject], namespace: &str) -> Option<&'a Subject> {
    subjects.iter().find(|subject| subject_applies_to_user(user, subject, namespace))
}

fn subject_applies_to_user(user: &UserInfo, subject: &Subject, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let sa_namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(namespace);
            !sa_namespace.is_empty() && user.name == service_account_user_name(sa_namespace, &subject.name)
        }
        _ => false,
    }
}

/// `system:serviceaccount:<namespace>:<name>`.
pub fn service_account_user_name(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}")
}

/// `describeSubject`: service accounts are shown as `name/namespace`.
fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(binding_namespace);
            format!("{} {:?}", subject.kind, format!("{}/{namespace}", subject.name))
        }
        _ => format!("{} {:?}", subject.kind, subject.name),
    }
}

fn describe_cluster_role_binding(binding: &ClusterRoleBinding, subject: &Subject) -> String {
    format!(
        "ClusterRoleBinding {:?} of {} {:?} to {}",
        name_of(&binding.metadata),
        binding.role_ref.kind,
        binding.role_ref.name,
        describe_subject(subject, "")
    )
}

fn describe_role_binding(binding: &RoleBinding, subject: &Subject) -> String {
    let namespace = namespace_of(&binding.metadata);
    format!(
        "RoleBinding {:?} of {} {:?} to {}",
        format!("{}/{namespace}", name_of(&binding.metadata)),
        binding.role_ref.kind,
        binding.role_ref.name,
        describe_subject(subject, &namespace)
    )
}

/// The resource part of a rule (`authorizer.DefaultResourceRuleInfo`), if it names resources.
fn resource_rule_info(rule: &PolicyRule) -> Option<PolicyRule> {
    let resources = rule.resources.as_ref().filter(|r| !r.is_empty())?;
    Some(PolicyRule {
        verbs: rule.verbs.clone(),
        api_groups: rule.api_groups.clone(),
        resources: Some(resources.clone()),
        resource_names: rule.resource_names.clone(),
        non_resource_urls: None,
    })
}

/// The non-resource part of a rule (`authorizer.DefaultNonResourceRuleInfo`), if it names URLs.
fn non_resource_rule_info(rule: &PolicyRule) -> Option<PolicyRule> {
    let urls = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty())?;
    Some(PolicyRule { verbs: rule.verbs.clone(), non_resource_urls: Some(urls.clone()), ..PolicyRule::default() })
}
