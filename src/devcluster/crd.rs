//! CustomResourceDefinition → served resource types (one per served version), and the status the
//! apiextensions controllers write (NamesAccepted, Established, acceptedNames, storedVersions).

use std::sync::Arc;

use serde_json::{Value, json};

use super::meta;
use super::registry::{CustomInfo, PrinterColumn, ResourceType, ScalePaths, Subresource};
use super::schema::StructuralSchema;

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The resource types a CRD serves.
pub fn resource_types(crd: &Value) -> Result<Vec<ResourceType>, String> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().ok_or("spec.group missing")?.to_string();
    let names = &spec["names"];
    let plural = names["plural"].as_str().ok_or("spec.names.plural missing")?.to_string();
    let kind = names["kind"].as_str().ok_or("spec.names.kind missing")?.to_string();
    let crd_name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let versions = spec["versions"].as_array().ok_or("spec.versions missing")?;
    let storage_version = versions
        .iter()
        .find(|v| v["storage"] == true)
        .and_then(|v| v["name"].as_str())
        .ok_or("no storage version")?
        .to_string();
    let mut out = Vec::new();
    for v in versions.iter().filter(|v| v["served"] == true) {
        let version = v["name"].as_str().ok_or("version without name")?.to_string();
        let raw_schema = v["schema"]["openAPIV3Schema"].clone();
        let schema = if raw_schema.is_null() {
            None
        } else {
            Some(StructuralSchema::new(&raw_schema).map_err(|e| format!("version {version}: {e}"))?)
        };
        let custom = CustomInfo {
            crd_name: crd_name.clone(),
            schema,
            raw_schema,
            printer_columns: printer_columns(&v["additionalPrinterColumns"]),
            scale: scale_paths(&v["subresources"]["scale"]),
        };
        out.push(ResourceType {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
            list_kind: names["listKind"].as_str().map_or_else(|| format!("{kind}List"), str::to_string),
            plural: plural.clone(),
            singular: names["singular"].as_str().map_or_else(|| kind.to_lowercase(), str::to_string),
            namespaced: spec["scope"] == "Namespaced",
            verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
                .map(String::from)
                .to_vec(),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            subresources: subresources(&group, &version, &kind, &v["subresources"]),
            table: Arc::from(format!("{group}/{plural}")),
            storage_version: storage_version.clone(),
            custom: Some(Arc::new(custom)),
        });
    }
    Ok(out)
}

fn subresources(group: &str, version: &str, kind: &str, sub: &Value) -> Vec<Subresource> {
    let mut out = Vec::new();
    if sub.get("status").is_some() {
        out.push(Subresource {
            name: "status".into(),
            kind: kind.into(),
            group: group.into(),
            version: version.into(),
            verbs: vec!["get".into(), "patch".into(), "update".into()],
        });
    }
    if sub.get("scale").is_some() {
        out.push(Subresource {
            name: "scale".into(),
            kind: "Scale".into(),
            group: "autoscaling".into(),
            version: "v1".into(),
            verbs: vec!["get".into(), "patch".into(), "update".into()],
        });
    }
    out
}

fn scale_paths(scale: &Value) -> Option<ScalePaths> {
    Some(ScalePaths {
        spec_replicas: scale["specReplicasPath"].as_str()?.to_string(),
        status_replicas: scale["statusReplicasPath"].as_str()?.to_string(),
        label_selector: scale["labelSelectorPath"].as_str().map(str::to_string),
    })
}

fn printer_columns(cols: &Value) -> Vec<PrinterColumn> {
    cols.as_array()
        .map(|a| {
            a.iter()
                .map(|c| PrinterColumn {
                    name: c["name"].as_str().unwrap_or_default().into(),
                    type_: c["type"].as_str().unwrap_or("string").into(),
                    format: c["format"].as_str().unwrap_or_default().into(),
                    description: c["description"].as_str().unwrap_or_default().into(),
                    json_path: c["jsonPath"].as_str().unwrap_or_default().into(),
                    priority: c["priority"].as_i64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The status the apiextensions controllers converge a CRD to (None when it already has it).
pub fn desired_status(crd: &Value) -> Option<Value> {
    let names = crd["spec"]["names"].clone();
    let mut accepted = names.clone();
    if accepted["singular"].is_null() {
        accepted["singular"] = json!(names["kind"].as_str().unwrap_or_default().to_lowercase());
    }
    if accepted["listKind"].is_null() {
        accepted["listKind"] = json!(format!("{}List", names["kind"].as_str().unwrap_or_default()));
    }
    let stored = crd["spec"]["versions"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["storage"] == true))
        .and_then(|v| v["name"].as_str())
        .map(str::to_string);
    let mut stored_versions = strings(&crd["status"]["storedVersions"]);
    if let Some(s) = stored
        && !stored_versions.contains(&s)
    {
        stored_versions.push(s);
    }
    let established = crd["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Established" && c["status"] == "True"));
    if established
        && crd["status"]["acceptedNames"] == accepted
        && strings(&crd["status"]["storedVersions"]) == stored_versions
    {
        return None;
    }
    let now = meta::now_rfc3339();
    Some(json!({
        "acceptedNames": accepted,
        "storedVersions": stored_versions,
        "conditions": [
            {"type":"NamesAccepted","status":"True","lastTransitionTime":now,"reason":"NoConflicts","message":"no conflicts found"},
            {"type":"Established","status":"True","lastTransitionTime":now,"reason":"InitialNamesAccepted","message":"the initial names have been accepted"}
        ]
    }))
}
