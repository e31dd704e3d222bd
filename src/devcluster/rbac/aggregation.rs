//! The clusterrole-aggregation controller
//! (`pkg/controller/clusterroleaggregation`), as a pure function.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// The clusterrole-aggregation controller: for every ClusterRole with an aggregationRule,
/// the union of the rules of the ClusterRoles whose labels match any of its
/// clusterRoleSelectors (the selector matcher is injected so this module needs no selector code).
/// Returns (name, new rules) only for roles whose rules would change.
///
/// The controller re-syncs every aggregated role whenever any ClusterRole
/// changes, so chained aggregation (admin ← edit ← view) settles; this
/// function runs those passes to the same fixed point at once.  Within one
/// role, selectors are taken in order, matching roles by name, the role
/// itself skipped, and duplicate rules dropped.
pub fn aggregate(
    cluster_roles: &[ClusterRole],
    selector_matches: &dyn Fn(&LabelSelector, &BTreeMap<String, String>) -> bool,
) -> Vec<(String, Vec<PolicyRule>)> {
    let mut sorted: Vec<ClusterRole> = cluster_roles.to_vec();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let original = sorted.clone();
    // Each pass can only propagate rules one aggregation level further; a
    // cycle of aggregated roles would otherwise never settle.
    for _ in 0..=sorted.len() {
        if !aggregation_pass(&mut sorted, selector_matches) {
            break;
        }
    }
    sorted
        .into_iter()
        .zip(original)
        .filter(|(now, before)| !rules_equal(&now.rules, &before.rules))
        .map(|(now, _)| (now.metadata.name.unwrap_or_default(), now.rules.unwrap_or_default()))
        .collect()
}

/// One sync of every aggregated role; returns whether any rules changed.
fn aggregation_pass(
    sorted: &mut [ClusterRole],
    selector_matches: &dyn Fn(&LabelSelector, &BTreeMap<String, String>) -> bool,
) -> bool {
    let mut changed = false;
    for index in 0..sorted.len() {
        let Some(new_rules) = aggregated_rules(sorted, index, selector_matches) else {
            continue;
        };
        if !rules_equal(&Some(new_rules.clone()), &sorted[index].rules) {
            sorted[index].rules = Some(new_rules);
            changed = true;
        }
    }
    changed
}

/// The rules `syncClusterRole` computes for `sorted[index]`, or `None` if it
/// has no aggregationRule.
fn aggregated_rules(
    sorted: &[ClusterRole],
    index: usize,
    selector_matches: &dyn Fn(&LabelSelector, &BTreeMap<String, String>) -> bool,
) -> Option<Vec<PolicyRule>> {
    let target = &sorted[index];
    let rule = target.aggregation_rule.as_ref()?;
    let no_labels = BTreeMap::new();
    let mut new_rules: Vec<PolicyRule> = Vec::new();
    for selector in rule.cluster_role_selectors.iter().flatten() {
        for source in sorted {
            if source.metadata.name == target.metadata.name {
                continue;
            }
            let labels = source.metadata.labels.as_ref().unwrap_or(&no_labels);
            if !selector_matches(selector, labels) {
                continue;
            }
            for current in source.rules.iter().flatten() {
                if !new_rules.iter().any(|r| rule_equal(r, current)) {
                    new_rules.push(current.clone());
                }
            }
        }
    }
    Some(new_rules)
}

/// `equality.Semantic.DeepEqual` on rule lists: nil and empty are the same.
fn rules_equal(a: &Option<Vec<PolicyRule>>, b: &Option<Vec<PolicyRule>>) -> bool {
    let a = a.as_deref().unwrap_or_default();
    let b = b.as_deref().unwrap_or_default();
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| rule_equal(x, y))
}

fn rule_equal(a: &PolicyRule, b: &PolicyRule) -> bool {
    a.verbs == b.verbs
        && same_list(&a.api_groups, &b.api_groups)
        && same_list(&a.resources, &b.resources)
        && same_list(&a.resource_names, &b.resource_names)
        && same_list(&a.non_resource_urls, &b.non_resource_urls)
}

fn same_list(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> bool {
    a.as_deref().unwrap_or_default() == b.as_deref().unwrap_or_default()
}
