//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns
//! kubectl shows, from a CRD's additionalPrinterColumns or the built-in printers.

use serde_json::{Value, json};
use serde_json_path::JsonPath;

mod printers;

use super::handlers::Query;
use super::registry::{PrinterColumn, ResourceType};

fn column(name: &str, type_: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
}

fn name_column() -> Value {
    column("Name", "string", "name", "Name must be unique within a namespace.", 0)
}

fn age_column() -> Value {
    column(
        "Age",
        "string",
        "",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
        0,
    )
}

pub fn render(rt: &ResourceType, objects: &[Value], q: &Query, list_meta: Value) -> Value {
    let (columns, cells): (Vec<Value>, Cells) = match &rt.custom {
        Some(c) if !c.printer_columns.is_empty() => {
            let cols = c.printer_columns.clone();
            let mut defs = vec![name_column()];
            defs.extend(cols.iter().map(|p| column(&p.name, &p.type_, &p.format, &p.description, p.priority)));
            (defs, Box::new(move |o| custom_cells(&cols, o)))
        }
        _ => builtin_printer(rt),
    };
    let include = q.get("includeObject").unwrap_or("Metadata");
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let object = match include {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":o["metadata"]}),
            };
            json!({"cells": cells(o), "object": object})
        })
        .collect();
    json!({"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":list_meta,"columnDefinitions":columns,"rows":rows})
}

fn custom_cells(cols: &[PrinterColumn], o: &Value) -> Vec<Value> {
    let mut cells = vec![o["metadata"]["name"].clone()];
    cells.extend(cols.iter().map(|c| custom_cell(c, o)));
    cells
}

fn custom_cell(c: &PrinterColumn, o: &Value) -> Value {
    let Ok(path) = JsonPath::parse(&format!("${}", c.json_path)) else { return Value::Null };
    let Some(v) = path.query(o).all().first().copied().cloned() else { return Value::Null };
    match c.type_.as_str() {
        "date" => v.as_str().map_or(Value::Null, |s| json!(age(s))),
        "integer" | "number" | "boolean" => v,
        _ => match v {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        },
    }
}

pub(super) type Cells = Box<dyn Fn(&Value) -> Vec<Value>>;

fn builtin_printer(rt: &ResourceType) -> (Vec<Value>, Cells) {
    let name = |o: &Value| o["metadata"]["name"].clone();
    let created = |o: &Value| json!(age(o["metadata"]["creationTimestamp"].as_str().unwrap_or_default()));
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => (
            vec![
                name_column(),
                column("Ready", "string", "", "", 0),
                column("Status", "string", "", "", 0),
                column("Restarts", "string", "", "", 0),
                age_column(),
                column("IP", "string", "", "", 1),
                column("Node", "string", "", "", 1),
            ],
            Box::new(move |o| {
                let statuses = o["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
                let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
                let ready = statuses.iter().filter(|s| s["ready"] == true).count();
                let restarts: i64 = statuses.iter().filter_map(|s| s["restartCount"].as_i64()).sum();
                let phase = if o["metadata"]["deletionTimestamp"].is_string() {
                    "Terminating"
                } else {
                    o["status"]["phase"].as_str().unwrap_or("Pending")
                };
                vec![
                    name(o),
                    json!(format!("{ready}/{total}")),
                    json!(phase),
                    json!(restarts.to_string()),
                    created(o),
                    none(&o["status"]["podIP"]),
                    none(&o["spec"]["nodeName"]),
                ]
            }),
        ),
        ("apps", "deployments") => (
            vec![
                name_column(),
                column("Ready", "string", "", "", 0),
                column("Up-to-date", "integer", "", "", 0),
                column("Available", "integer", "", "", 0),
                age_column(),
            ],
            Box::new(move |o| {
                let s = &o["status"];
                let ready = format!(
                    "{}/{}",
                    s["readyReplicas"].as_i64().unwrap_or(0),
                    o["spec"]["replicas"].as_i64().unwrap_or(0)
                );
                vec![
                    name(o),
                    json!(ready),
                    json!(s["updatedReplicas"].as_i64().unwrap_or(0)),
                    json!(s["availableReplicas"].as_i64().unwrap_or(0)),
                    created(o),
                ]
            }),
        ),
        ("", "namespaces") => (
            vec![name_column(), column("Status", "string", "", "", 0), age_column()],
            Box::new(move |o| vec![name(o), o["status"]["phase"].clone(), created(o)]),
        ),
        ("", "configmaps") => (
            vec![name_column(), column("Data", "integer", "", "", 0), age_column()],
            Box::new(move |o| {
                vec![
                    name(o),
                    json!(
                        o["data"].as_object().map_or(0, |m| m.len())
                            + o["binaryData"].as_object().map_or(0, |m| m.len())
                    ),
                    created(o),
                ]
            }),
        ),
        ("coordination.k8s.io", "leases") => (
            vec![name_column(), column("Holder", "string", "", "", 0), age_column()],
            Box::new(move |o| vec![name(o), none(&o["spec"]["holderIdentity"]), created(o)]),
        ),
        (group, plural) => printers::for_resource(group, plural)
            .unwrap_or_else(|| (vec![name_column(), age_column()], Box::new(move |o| vec![name(o), created(o)]))),
    }
}

fn none(v: &Value) -> Value {
    if v.is_null() { json!("<none>") } else { v.clone() }
}

/// Age as kube's duration.HumanDuration prints it.
pub fn age(timestamp: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339) else {
        return "<unknown>".into();
    };
    human_duration((time::OffsetDateTime::now_utc() - t).whole_seconds())
}

pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 { format!("{m}m") } else { format!("{m}m{}s", s % 60) }
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 { format!("{h}h") } else { format!("{h}h{}m", m % 60) }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 { format!("{d}d") } else { format!("{d}d{}h", h % 24) }
    } else if d < 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        let y = d / 365;
        if d % 365 == 0 { format!("{y}y") } else { format!("{y}y{}d", d % 365) }
    } else {
        format!("{}y", d / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86_400), "3d");
    }
}
