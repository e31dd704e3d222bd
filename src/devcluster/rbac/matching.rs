//! Rule matching, as `pkg/apis/rbac/v1/evaluation_helpers.go` and `RuleAllows`.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::Attributes;

const VERB_ALL: &str = "*";
const API_GROUP_ALL: &str = "*";
const RESOURCE_ALL: &str = "*";
const NON_RESOURCE_ALL: &str = "*";

/// Whether `rule` allows the request described by `attrs` (Go `RuleAllows`).
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    if !verb_matches(rule, &attrs.verb) {
        return false;
    }
    if !attrs.resource_request {
        return non_resource_url_matches(rule, &attrs.path);
    }
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    api_group_matches(rule, &attrs.api_group)
        && resource_matches(rule, &combined, &attrs.subresource)
        && resource_name_matches(rule, &attrs.name)
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == VERB_ALL || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    list(&rule.api_groups).iter().any(|g| g == API_GROUP_ALL || g == group)
}

/// `*`, the exact `resource[/subresource]`, or `*/subresource` when a subresource was requested.
fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    list(&rule.resources).iter().any(|r| {
        r == RESOURCE_ALL || r == combined || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

/// An empty resourceNames matches every name; otherwise the request's name
/// (possibly empty, as for list or create) must be listed.
fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    let names = list(&rule.resource_names);
    names.is_empty() || names.iter().any(|n| n == name)
}

/// `*`, an exact path, or a `prefix*` rule whose prefix starts the path.
fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    list(&rule.non_resource_urls).iter().any(|url| {
        url == NON_RESOURCE_ALL || url == path || (url.ends_with('*') && path.starts_with(url.trim_end_matches('*')))
    })
}

fn list(values: &Option<Vec<String>>) -> &[String] {
    values.as_deref().unwrap_or_default()
}
