//! Which webhooks a request is sent to, as kube-apiserver's `ShouldCallHook`: rules (operations,
//! groups, versions, resources with subresources, scope), matchPolicy Equivalent (the same resource
//! served in another version), namespaceSelector and objectSelector. matchConditions come after.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::super::Cluster;
use super::super::ops::target;
use super::super::registry::ResourceType;
use super::super::selector::LabelSelector;
use super::super::status::{ApiError, ApiResult};
use super::Attributes;
use super::config::{Rule, Webhook};

/// The resource and kind a webhook is called with (the request's, or an equivalent one).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub rt: Arc<ResourceType>,
    /// (group, version, kind) of the object the webhook sees.
    pub kind: (String, String, String),
}

impl Invocation {
    /// Whether the webhook sees the resource itself (status, resize or none), so the object must be
    /// converted to the invocation's version.
    pub fn converts(&self, attrs: &Attributes) -> bool {
        self.kind.2 == self.rt.kind && (self.rt.version != attrs.rt.version || self.rt.group != attrs.rt.group)
    }
}

/// Kind of `rt` (or of its subresource) as a request through it carries.
pub fn kind_for(rt: &ResourceType, subresource: &str) -> (String, String, String) {
    if subresource.is_empty() {
        return (rt.group.clone(), rt.version.clone(), rt.kind.clone());
    }
    match rt.subresources.iter().find(|s| s.name == subresource) {
        Some(s) if s.kind == rt.kind => (rt.group.clone(), rt.version.clone(), rt.kind.clone()),
        Some(s) => (s.group.clone(), s.version.clone(), s.kind.clone()),
        None => (rt.group.clone(), rt.version.clone(), rt.kind.clone()),
    }
}

/// Rules with matchPolicy, without the selectors: `Some` when a rule covers the request.
pub fn rule_invocation(cluster: &Cluster, hook: &Webhook, attrs: &Attributes) -> Option<Invocation> {
    if hook.rules.iter().any(|r| rule_matches(r, attrs, &attrs.rt)) {
        return Some(Invocation { rt: attrs.rt.clone(), kind: attrs.kind.clone() });
    }
    if hook.exact {
        return None;
    }
    let equivalents = equivalents(cluster, &attrs.rt, &attrs.subresource);
    for r in &hook.rules {
        if let Some(eq) = equivalents.iter().find(|eq| rule_matches(r, attrs, eq)) {
            return Some(Invocation { rt: eq.clone(), kind: kind_for(eq, &attrs.subresource) });
        }
    }
    None
}

/// Other group/versions serving the same storage (and subresource).
fn equivalents(cluster: &Cluster, rt: &ResourceType, subresource: &str) -> Vec<Arc<ResourceType>> {
    cluster
        .registry
        .all()
        .into_iter()
        .filter(|t| t.table == rt.table && t.plural == rt.plural && !(t.group == rt.group && t.version == rt.version))
        .filter(|t| subresource.is_empty() || t.has_subresource(subresource))
        .collect()
}

fn exact_or_wildcard(items: &[String], requested: &str) -> bool {
    items.iter().any(|i| i == "*" || i == requested)
}

fn rule_matches(rule: &Rule, attrs: &Attributes, rt: &ResourceType) -> bool {
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    let scope = match rule.scope.as_str() {
        "" | "*" => true,
        "Namespaced" => !is_namespace && !attrs.namespace.is_empty(),
        "Cluster" => is_namespace || attrs.namespace.is_empty(),
        _ => false,
    };
    let resource = rule.resources.iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r.as_str(), ""));
        (res == "*" || res == rt.plural) && (sub == "*" || sub == attrs.subresource)
    });
    scope
        && exact_or_wildcard(&rule.operations, attrs.operation)
        && exact_or_wildcard(&rule.groups, &rt.group)
        && exact_or_wildcard(&rule.versions, &rt.version)
        && resource
}

fn parse_selector(hook: &Webhook, which: &str, sel: &Value) -> ApiResult<Option<LabelSelector>> {
    if sel.is_null() || sel.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(None);
    }
    LabelSelector::from_json(sel)
        .map(Some)
        .map_err(|e| ApiError::internal(format!("webhook \"{}\" has an invalid {which}: {e}", hook.name)))
}

fn labels_of(obj: Option<&Value>) -> Option<BTreeMap<String, String>> {
    let obj = obj.filter(|o| o.is_object())?;
    Some(
        obj["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
    )
}

/// namespaceSelector: cluster-scoped objects other than Namespaces always match; a Namespace being
/// created or updated is judged by its own labels; otherwise the namespace's labels (404 if missing).
pub fn namespace_matches(cluster: &Cluster, hook: &Webhook, attrs: &Attributes) -> ApiResult<bool> {
    let is_namespace = attrs.rt.group.is_empty() && attrs.rt.plural == "namespaces";
    if attrs.namespace.is_empty() && !is_namespace {
        return Ok(true);
    }
    let Some(sel) = parse_selector(hook, "namespaceSelector", &hook.namespace_selector)? else { return Ok(true) };
    let own = is_namespace && attrs.subresource.is_empty() && matches!(attrs.operation, "CREATE" | "UPDATE");
    let labels = if own {
        labels_of(attrs.object.as_ref()).unwrap_or_default()
    } else {
        let nst = cluster
            .registry
            .lookup("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("namespaces not registered"))?;
        let ns = cluster
            .op_get(&nst, "", &attrs.namespace)
            .map_err(|_| ApiError::not_found(target(&nst, &attrs.namespace)))?;
        labels_of(Some(&ns)).unwrap_or_default()
    };
    Ok(sel.matches(&labels))
}

/// objectSelector: the new or the old object's labels.
pub fn object_matches(hook: &Webhook, attrs: &Attributes) -> ApiResult<bool> {
    let Some(sel) = parse_selector(hook, "objectSelector", &hook.object_selector)? else { return Ok(true) };
    let hit = |o: Option<&Value>| labels_of(o).is_some_and(|l| sel.matches(&l));
    Ok(hit(attrs.object.as_ref()) || hit(attrs.old_object.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devcluster::registry::Registry;

    fn attrs(
        reg: &Registry,
        group: &str,
        version: &str,
        plural: &str,
        sub: &str,
        op: &'static str,
        ns: &str,
    ) -> Attributes {
        let rt = reg.lookup(group, version, plural).expect("served");
        Attributes {
            operation: op,
            kind: kind_for(&rt, sub),
            rt,
            subresource: sub.into(),
            namespace: ns.into(),
            name: "x".into(),
            object: None,
            old_object: None,
            dry_run: false,
            options: Value::Null,
            user: Default::default(),
        }
    }

    fn rule(ops: &[&str], groups: &[&str], versions: &[&str], resources: &[&str], scope: &str) -> Rule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Rule {
            operations: v(ops),
            groups: v(groups),
            versions: v(versions),
            resources: v(resources),
            scope: scope.into(),
        }
    }

    #[test]
    fn resources_with_subresources_match_like_kube() {
        let reg = Registry::new();
        let pod = attrs(&reg, "", "v1", "pods", "", "CREATE", "default");
        let status = attrs(&reg, "", "v1", "pods", "status", "UPDATE", "default");
        let resize = attrs(&reg, "", "v1", "pods", "resize", "UPDATE", "default");
        let any = |r: &[&str]| rule(&["*"], &[""], &["v1"], r, "*");
        assert!(rule_matches(&any(&["pods"]), &pod, &pod.rt));
        assert!(!rule_matches(&any(&["pods"]), &status, &status.rt));
        assert!(rule_matches(&any(&["pods/*"]), &status, &status.rt));
        assert!(rule_matches(&any(&["pods/resize"]), &resize, &resize.rt));
        assert!(!rule_matches(&any(&["pods/resize"]), &status, &status.rt));
        assert!(rule_matches(&any(&["*/*"]), &resize, &resize.rt));
        assert!(!rule_matches(&any(&["*"]), &resize, &resize.rt));
        assert!(rule_matches(&any(&["*"]), &pod, &pod.rt));
    }

    #[test]
    fn operations_groups_versions_and_scope() {
        let reg = Registry::new();
        let pod = attrs(&reg, "", "v1", "pods", "", "CREATE", "default");
        let ns = attrs(&reg, "", "v1", "namespaces", "", "CREATE", "team-a");
        let node = attrs(&reg, "rbac.authorization.k8s.io", "v1", "clusterroles", "", "CREATE", "");
        assert!(!rule_matches(&rule(&["UPDATE"], &[""], &["v1"], &["pods"], "*"), &pod, &pod.rt));
        assert!(!rule_matches(&rule(&["CREATE"], &["apps"], &["v1"], &["pods"], "*"), &pod, &pod.rt));
        assert!(!rule_matches(&rule(&["CREATE"], &[""], &["v2"], &["pods"], "*"), &pod, &pod.rt));
        assert!(rule_matches(&rule(&["CREATE"], &["*"], &["*"], &["*"], "Namespaced"), &pod, &pod.rt));
        assert!(!rule_matches(&rule(&["CREATE"], &["*"], &["*"], &["*"], "Namespaced"), &ns, &ns.rt));
        assert!(rule_matches(&rule(&["CREATE"], &["*"], &["*"], &["*"], "Cluster"), &ns, &ns.rt));
        assert!(rule_matches(&rule(&["CREATE"], &["*"], &["*"], &["*"], "Cluster"), &node, &node.rt));
        assert!(!rule_matches(&rule(&["CREATE"], &["*"], &["*"], &["*"], "Cluster"), &pod, &pod.rt));
    }

    #[test]
    fn subresource_kinds() {
        let reg = Registry::new();
        let deploy = reg.lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(kind_for(&deploy, "scale"), ("autoscaling".into(), "v1".into(), "Scale".into()));
        assert_eq!(kind_for(&deploy, "status"), ("apps".into(), "v1".into(), "Deployment".into()));
        let pods = reg.lookup("", "v1", "pods").unwrap();
        assert_eq!(kind_for(&pods, "eviction"), ("policy".into(), "v1".into(), "Eviction".into()));
    }
}
