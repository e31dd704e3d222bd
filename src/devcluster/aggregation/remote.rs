//! Discovery of aggregated groups: while its APIService is available, a group/version served by a
//! backend appears in `/apis` (legacy `APIGroupList` and aggregated discovery v2/v2beta1) and
//! `/apis/<group>` is answered from the APIServices. Resources for aggregated discovery are fetched
//! from the backend as kube-aggregator fetches them: `/apis` with the aggregated-discovery Accept
//! header, falling back to the legacy `/apis/<group>/<version>` APIResourceList.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::Cluster;
use super::super::discovery::{self, RemoteGroup, RemoteVersion};
use super::super::registry::version_priority;
use super::headers::set_auth_proxy_headers;
use super::proxy::{self, client_for};
use super::{ApiService, errors};

/// The Accept header kube-aggregator's discovery manager sends to `/apis`.
pub const AGGREGATED_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Resources last fetched for one APIService.
#[derive(Debug, Clone)]
pub struct Discovered {
    resources: Vec<Value>,
    fresh: bool,
}

/// Discovery documents, with the available aggregated groups added to `/apis`.
pub fn discovery(cluster: &Cluster, path: &str, accept: &str) -> Option<Response> {
    let remote = if path.starts_with("/apis") { remote_groups(cluster) } else { Vec::new() };
    discovery::respond_with(&cluster.registry, path, accept, &remote)
}

/// Available service-backed APIServices by group (groups served locally are left to the local
/// handlers), ordered as kube-aggregator orders them: group priority, then name; version priority,
/// then Kubernetes version order.
fn remote_groups(cluster: &Cluster) -> Vec<RemoteGroup> {
    let local: Vec<String> = cluster.registry.groups().into_iter().map(|(g, _)| g).collect();
    let mut by_group: BTreeMap<String, Vec<ApiService>> = BTreeMap::new();
    for api in cluster.api_services() {
        if api.service.is_some() && api.available && !api.group.is_empty() && !local.contains(&api.group) {
            by_group.entry(api.group.clone()).or_default().push(api);
        }
    }
    let discovered = cluster.aggregator.discovered.read();
    let mut groups: Vec<(i64, RemoteGroup)> = by_group
        .into_iter()
        .map(|(name, mut apis)| {
            apis.sort_by(|a, b| {
                (b.version_priority, version_priority(&b.version))
                    .cmp(&(a.version_priority, version_priority(&a.version)))
            });
            let priority = apis.iter().map(|a| a.group_priority).max().unwrap_or(0);
            let versions = apis
                .iter()
                .map(|a| {
                    let found = discovered.get(&a.name);
                    RemoteVersion {
                        version: a.version.clone(),
                        resources: found.map(|d| d.resources.clone()).unwrap_or_default(),
                        fresh: found.is_some_and(|d| d.fresh),
                    }
                })
                .collect();
            (priority, RemoteGroup { name, versions })
        })
        .collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    groups.into_iter().map(|(_, g)| g).collect()
}

/// Fetches `api`'s resources; on failure the last ones are kept and marked stale.
pub async fn refresh(cluster: &Cluster, api: &ApiService) {
    match fetch(cluster, api).await {
        Ok(resources) => {
            cluster.aggregator.discovered.write().insert(api.name.clone(), Discovered { resources, fresh: true });
        }
        Err(why) => {
            tracing::warn!(apiservice = %api.name, error = %why, "cannot fetch discovery from the APIService backend");
            let mut discovered = cluster.aggregator.discovered.write();
            let entry =
                discovered.entry(api.name.clone()).or_insert(Discovered { resources: Vec::new(), fresh: false });
            entry.fresh = false;
        }
    }
}

async fn fetch(cluster: &Cluster, api: &ApiService) -> Result<Vec<Value>, String> {
    let (client, endpoint) = client_for(cluster, api).map_err(|e| format!("{e:?}"))?;
    let dialled = errors::host_port(&endpoint.host, endpoint.port);
    let get = |path: &str, accept: &str, groups: &[String]| {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (header::HOST.as_str(), dialled.as_str()),
            ("accept", accept),
            ("x-forwarded-host", dialled.as_str()),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-uri", path),
        ] {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                headers.insert(n, v);
            }
        }
        set_auth_proxy_headers(&mut headers, "system:kube-aggregator", "", groups, &BTreeMap::new());
        client.get(proxy::url(&endpoint, path, "")).headers(headers).timeout(FETCH_TIMEOUT).send()
    };
    let masters = ["system:masters".to_string()];
    let resp = get("/apis", AGGREGATED_ACCEPT, &masters).await.map_err(|e| errors::cause(&e, &dialled))?;
    let aggregated = resp.headers().get(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.to_str().is_ok_and(|ct| ct.contains("g=apidiscovery.k8s.io") && ct.contains("as=APIGroupDiscoveryList"))
    });
    if resp.status().is_success() && aggregated {
        let list: Value = resp.json().await.map_err(|e| e.to_string())?;
        if let Some(resources) = from_discovery_list(&list, &api.group, &api.version) {
            return Ok(resources);
        }
    }
    let path = api.discovery_path();
    let resp = get(&path, "application/json", &[]).await.map_err(|e| errors::cause(&e, &dialled))?;
    if !resp.status().is_success() {
        return Err(format!("bad status from {}: {}", proxy::url(&endpoint, &path, ""), resp.status().as_u16()));
    }
    let list: Value = resp.json().await.map_err(|e| format!("{path}: {e}"))?;
    Ok(from_resource_list(&list, &api.group, &api.version))
}

/// The resources of `group`/`version` in an APIGroupDiscoveryList, if it lists them.
fn from_discovery_list(list: &Value, group: &str, version: &str) -> Option<Vec<Value>> {
    let item = list["items"].as_array()?.iter().find(|i| i["metadata"]["name"] == group)?;
    let v = item["versions"].as_array()?.iter().find(|v| v["version"] == version)?;
    Some(v["resources"].as_array().cloned().unwrap_or_default())
}

/// A legacy APIResourceList converted to aggregated-discovery resources (subresources nested).
fn from_resource_list(list: &Value, group: &str, version: &str) -> Vec<Value> {
    let entries = list["resources"].as_array().map(Vec::as_slice).unwrap_or_default();
    let kind_of = |r: &Value| json!({"group": r["group"].as_str().unwrap_or(group), "version": r["version"].as_str().unwrap_or(version), "kind": r["kind"]});
    let mut out: Vec<Value> = Vec::new();
    for r in entries.iter().filter(|r| r["name"].as_str().is_some_and(|n| !n.contains('/'))) {
        let mut entry = json!({
            "resource": r["name"], "responseKind": kind_of(r),
            "scope": if r["namespaced"].as_bool().unwrap_or(false) { "Namespaced" } else { "Cluster" },
            "singularResource": r["singularName"], "verbs": r["verbs"],
        });
        for key in ["shortNames", "categories"] {
            if r[key].as_array().is_some_and(|a| !a.is_empty()) {
                entry[key] = r[key].clone();
            }
        }
        out.push(entry);
    }
    for r in entries {
        let Some((parent, sub)) = r["name"].as_str().and_then(|n| n.split_once('/')) else { continue };
        if let Some(p) = out.iter_mut().find(|e| e["resource"] == parent) {
            let mut subs = p["subresources"].as_array().cloned().unwrap_or_default();
            subs.push(json!({"subresource": sub, "responseKind": kind_of(r), "verbs": r["verbs"]}));
            p["subresources"] = Value::Array(subs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_resource_lists_convert_to_aggregated_resources() {
        let list = json!({"kind": "APIResourceList", "groupVersion": "g/v1", "resources": [
            {"name": "widgets", "singularName": "widget", "namespaced": true, "kind": "Widget", "verbs": ["get", "list"], "shortNames": ["wd"]},
            {"name": "widgets/status", "singularName": "", "namespaced": true, "kind": "Widget", "verbs": ["get"]},
            {"name": "orphans/status", "kind": "Orphan", "verbs": []}
        ]});
        let out = from_resource_list(&list, "g", "v1");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["resource"], "widgets");
        assert_eq!(out[0]["scope"], "Namespaced");
        assert_eq!(out[0]["responseKind"], json!({"group": "g", "version": "v1", "kind": "Widget"}));
        assert_eq!(out[0]["shortNames"], json!(["wd"]));
        assert_eq!(out[0]["subresources"][0]["subresource"], "status");
        assert!(from_resource_list(&json!("garbage"), "g", "v1").is_empty());
    }

    #[test]
    fn aggregated_lists_are_searched_by_group_and_version() {
        let list = json!({"items": [{"metadata": {"name": "g"}, "versions": [{"version": "v1", "resources": [{"resource": "x"}]}]}]});
        assert_eq!(from_discovery_list(&list, "g", "v1"), Some(vec![json!({"resource": "x"})]));
        assert_eq!(from_discovery_list(&list, "g", "v2"), None);
        assert_eq!(from_discovery_list(&json!({}), "g", "v1"), None);
    }
}
