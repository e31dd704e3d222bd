//! OpenAPI documents: `/openapi/v3` (index), `/openapi/v3/<api|apis/g>/<v>` (paths with the PATCH
//! parameters kubectl probes for server-side field validation, and CRD schemas for
//! `kubectl explain`), and `/openapi/v2` with the CRD definitions.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::discovery::{KUBE_MAJOR, KUBE_MINOR};
use super::registry::{Registry, ResourceType};

fn info() -> Value {
    json!({"title": "Kubernetes", "version": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0")})
}

/// `com.datadoghq.v1alpha2.DatadogPodAutoscaler`, as kube-apiserver names CRD schemas.
fn definition_name(t: &ResourceType) -> String {
    let reversed: Vec<&str> = t.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), t.version, t.kind)
}

fn gvk(t: &ResourceType) -> Value {
    json!({"group": t.group, "version": t.version, "kind": t.kind})
}

fn custom_schema(t: &ResourceType) -> Option<Value> {
    let c = t.custom.as_ref()?;
    let mut schema = if c.raw_schema.is_null() {
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
    } else {
        c.raw_schema.clone()
    };
    schema["x-kubernetes-group-version-kind"] = json!([gvk(t)]);
    Some(schema)
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn v3_index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, versions) in reg.groups() {
        for v in versions {
            let p = gv_path(&group, &v);
            let doc = v3_group_version(reg, &p).unwrap_or(Value::Null);
            let hash = hex(&Sha256::digest(doc.to_string().as_bytes()));
            paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", &hash[..32])}));
        }
    }
    json!({"paths": paths})
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The document for one group/version (`api/v1` or `apis/<g>/<v>`).
pub fn v3_group_version(reg: &Registry, gv: &str) -> Option<Value> {
    let (group, version) = match gv.trim_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    if !reg.serves_version(&group, &version) {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in reg.all().iter().filter(|t| t.group == group && t.version == version) {
        let (collection, item) = resource_paths(t);
        paths.insert(collection, json!({"get": operation(t, "list"), "post": operation(t, "post")}));
        paths.insert(item, json!({"get": operation(t, "get"), "put": operation(t, "put"), "patch": operation(t, "patch"), "delete": operation(t, "delete")}));
        if let Some(s) = custom_schema(t) {
            schemas.insert(definition_name(t), s);
        }
    }
    Some(json!({"openapi": "3.0.0", "info": info(), "paths": paths, "components": {"schemas": schemas}}))
}

fn resource_paths(t: &ResourceType) -> (String, String) {
    let base = format!("/{}", gv_path(&t.group, &t.version));
    let scope = if t.namespaced { "/namespaces/{namespace}" } else { "" };
    let collection = format!("{base}{scope}/{}", t.plural);
    (collection.clone(), format!("{collection}/{{name}}"))
}

fn operation(t: &ResourceType, action: &str) -> Value {
    let param = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    let mut params = vec![param("dryRun"), param("fieldManager")];
    if matches!(action, "patch" | "put" | "post") {
        params.push(param("fieldValidation"));
    }
    if action == "patch" {
        params.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    json!({
        "operationId": format!("{action}{}", t.kind),
        "parameters": params,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(t),
        "responses": {"200": {"description": "OK"}}
    })
}

pub fn v2(reg: &Registry) -> Value {
    let mut definitions = Map::new();
    for t in reg.all() {
        if let Some(s) = custom_schema(&t) {
            definitions.insert(definition_name(&t), s);
        }
    }
    json!({"swagger": "2.0", "info": info(), "paths": {}, "definitions": definitions})
}
