//! Discovery: `/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>`, and the aggregated form
//! (apidiscovery.k8s.io v2/v2beta1) when the client asks for it; `/version`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::registry::{Registry, ResourceType};

pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";

pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR, "minor": KUBE_MINOR, "gitVersion": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0-devcluster"),
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64"
    })
}

/// The aggregated-discovery media type the client accepts, if any.
fn aggregated_version(accept: &str) -> Option<&'static str> {
    accept.split(',').find_map(|m| {
        let m = m.replace(' ', "");
        if !m.contains("g=apidiscovery.k8s.io") || !m.contains("as=APIGroupDiscoveryList") {
            return None;
        }
        if m.contains("v=v2beta1") {
            Some("v2beta1")
        } else if m.contains("v=v2") {
            Some("v2")
        } else {
            None
        }
    })
}

/// A group served by available aggregated APIServices (the aggregation layer adds it to `/apis`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteGroup {
    pub name: String,
    /// Highest priority first.
    pub versions: Vec<RemoteVersion>,
}

/// One version of a remote group with its resources in aggregated-discovery form, as fetched from
/// the backend (`fresh` false when the last fetch failed).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteVersion {
    pub version: String,
    pub resources: Vec<Value>,
    pub fresh: bool,
}

/// Discovery including the groups of aggregated APIServices.
pub fn respond_with(reg: &Registry, path: &str, accept: &str, remote: &[RemoteGroup]) -> Option<Response> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let body = match parts.as_slice() {
        ["api"] => {
            if let Some(v) = aggregated_version(accept) {
                return Some(aggregated(reg, true, v, remote));
            }
            json!({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})
        }
        ["apis"] => {
            if let Some(v) = aggregated_version(accept) {
                return Some(aggregated(reg, false, v, remote));
            }
            let mut groups: Vec<Value> =
                reg.groups().iter().filter(|(g, _)| !g.is_empty()).map(|(g, vs)| group_json(g, vs)).collect();
            groups.extend(remote.iter().map(|r| group_json(&r.name, &r.version_names())));
            json!({"kind":"APIGroupList","apiVersion":"v1","groups":groups})
        }
        ["apis", group] if remote.iter().any(|r| r.name == *group) => {
            let r = remote.iter().find(|r| r.name == *group)?;
            let mut body = group_json(&r.name, &r.version_names());
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            body
        }
        ["apis", group] => {
            let (g, vs) = reg.groups().into_iter().find(|(g, _)| g == group)?;
            let mut body = group_json(&g, &vs);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            body
        }
        ["api", version] => resource_list(reg, "", version)?,
        ["apis", group, version] => resource_list(reg, group, version)?,
        _ => return None,
    };
    Some((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    if !reg.serves_version(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for t in reg.all().iter().filter(|t| t.group == group && t.version == version) {
        resources.push(resource_json(t));
        for s in &t.subresources {
            let mut sub = json!({"name": format!("{}/{}", t.plural, s.name), "singularName": "", "namespaced": t.namespaced, "kind": s.kind, "verbs": s.verbs});
            if s.group != t.group || s.version != t.version {
                sub["group"] = json!(s.group);
                sub["version"] = json!(s.version);
            }
            resources.push(sub);
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({"kind":"APIResourceList","apiVersion":"v1","groupVersion":gv,"resources":resources}))
}

fn resource_json(t: &ResourceType) -> Value {
    let mut r = json!({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind, "verbs": t.verbs});
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    r
}

fn aggregated(reg: &Registry, core: bool, media_version: &str, remote: &[RemoteGroup]) -> Response {
    let mut items: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs.iter().map(|v| aggregated_version_json(reg, g, v)).collect();
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    if !core {
        items.extend(remote.iter().map(RemoteGroup::aggregated_json));
    }
    let body = json!({"kind":"APIGroupDiscoveryList","apiVersion":format!("apidiscovery.k8s.io/{media_version}"),"metadata":{},"items":items});
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={media_version};as=APIGroupDiscoveryList");
    (StatusCode::OK, [(header::CONTENT_TYPE, ct)], body.to_string()).into_response()
}

fn aggregated_version_json(reg: &Registry, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = reg
        .all()
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .map(|t| {
            let subs: Vec<Value> = t
                .subresources
                .iter()
                .map(|s| json!({"subresource": s.name, "responseKind": {"group": s.group, "version": s.version, "kind": s.kind}, "verbs": s.verbs}))
                .collect();
            let mut r = json!({
                "resource": t.plural, "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                "scope": if t.namespaced { "Namespaced" } else { "Cluster" }, "singularResource": t.singular, "verbs": t.verbs,
            });
            if !t.short_names.is_empty() {
                r["shortNames"] = json!(t.short_names);
            }
            if !t.categories.is_empty() {
                r["categories"] = json!(t.categories);
            }
            if !subs.is_empty() {
                r["subresources"] = json!(subs);
            }
            r
        })
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

impl RemoteGroup {
    fn version_names(&self) -> Vec<String> {
        self.versions.iter().map(|v| v.version.clone()).collect()
    }

    fn aggregated_json(&self) -> Value {
        let versions: Vec<Value> = self
            .versions
            .iter()
            .map(|v| {
                let freshness = if v.fresh { "Current" } else { "Stale" };
                json!({"version": v.version, "resources": v.resources, "freshness": freshness})
            })
            .collect();
        json!({"metadata": {"name": self.name, "creationTimestamp": null}, "versions": versions})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_media_type_is_detected() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl), Some("v2"));
        assert_eq!(aggregated_version("application/json"), None);
    }
}
