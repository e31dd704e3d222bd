//! autoscaling/v1 (annotation-encoded, v2beta1-shaped) <-> autoscaling/v2
//! MetricSpec / MetricStatus conversion, mirroring kube's
//! `pkg/apis/autoscaling/v1/conversion.go`. v1 objects are built in Go struct
//! field order so annotation strings match `json.Marshal` output.

use serde_json::{Map, Value};

/// Build an object from `(key, value)` pairs, skipping `None`.
fn obj(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

fn field(v: &Value, path: &[&str]) -> Option<Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    (!cur.is_null()).then(|| cur.clone())
}

/// Go non-pointer string / Quantity fields are always emitted.
fn or_str(v: Option<Value>, default: &str) -> Option<Value> {
    Some(v.unwrap_or_else(|| Value::String(default.to_string())))
}

/// Whether a v2 MetricSpec is the `Resource cpu Utilization` target that v1
/// represents as `targetCPUUtilizationPercentage`.
pub(super) fn cpu_utilization_target(m: &Value) -> Option<Value> {
    let is_resource = m.get("type").and_then(Value::as_str) == Some("Resource");
    let is_cpu = field(m, &["resource", "name"]).as_ref().and_then(Value::as_str) == Some("cpu");
    if !(is_resource && is_cpu) {
        return None;
    }
    field(m, &["resource", "target", "averageUtilization"])
}

/// The v2 metric kube synthesises for a CPU utilisation percentage.
pub(super) fn cpu_metric_spec(percent: Value) -> Value {
    serde_json::json!({
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}
    })
}

/// Each present member is converted (like generated Go conversions), not
/// only the one named by `type`.
/// A per-member conversion function.
type MemberFn = fn(&Value) -> Value;

fn convert_members(m: &Value, members: &[(&str, MemberFn)]) -> Value {
    let mut pairs = vec![("type", or_str(field(m, &["type"]), ""))];
    for (name, f) in members {
        pairs.push((name, m.get(*name).filter(|v| v.is_object()).map(f)));
    }
    obj(pairs)
}

pub(super) fn spec_v2_to_v1(m: &Value) -> Value {
    convert_members(
        m,
        &[
            ("object", object_source_v2_to_v1),
            ("pods", pods_source_v2_to_v1),
            ("resource", resource_source_v2_to_v1),
            ("containerResource", container_source_v2_to_v1),
            ("external", external_source_v2_to_v1),
        ],
    )
}

pub(super) fn spec_v1_to_v2(m: &Value) -> Value {
    convert_members(
        m,
        &[
            ("object", object_source_v1_to_v2),
            ("pods", pods_source_v1_to_v2),
            ("resource", resource_source_v1_to_v2),
            ("containerResource", resource_source_v1_to_v2),
            ("external", external_source_v1_to_v2),
        ],
    )
}

pub(super) fn status_v2_to_v1(m: &Value) -> Value {
    convert_members(
        m,
        &[
            ("object", object_status_v2_to_v1),
            ("pods", pods_status_v2_to_v1),
            ("resource", resource_status_v2_to_v1),
            ("containerResource", container_status_v2_to_v1),
            ("external", external_status_v2_to_v1),
        ],
    )
}

pub(super) fn status_v1_to_v2(m: &Value) -> Value {
    convert_members(
        m,
        &[
            ("object", object_status_v1_to_v2),
            ("pods", pods_status_v1_to_v2),
            ("resource", resource_status_v1_to_v2),
            ("containerResource", resource_status_v1_to_v2),
            ("external", external_status_v1_to_v2),
        ],
    )
}

// ---- MetricSpec sources: v2 -> v1 ----

fn object_source_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("target", or_obj(field(s, &["describedObject"]))),
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("targetValue", or_str(field(s, &["target", "value"]), "0")),
        ("selector", field(s, &["metric", "selector"])),
        ("averageValue", field(s, &["target", "averageValue"])),
    ])
}

fn pods_source_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("targetAverageValue", or_str(field(s, &["target", "averageValue"]), "0")),
        ("selector", field(s, &["metric", "selector"])),
    ])
}

fn resource_source_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("name", or_str(field(s, &["name"]), "")),
        ("targetAverageUtilization", field(s, &["target", "averageUtilization"])),
        ("targetAverageValue", field(s, &["target", "averageValue"])),
    ])
}

fn container_source_v2_to_v1(s: &Value) -> Value {
    let mut out = resource_source_v2_to_v1(s);
    if let Value::Object(m) = &mut out {
        let container = field(s, &["container"]).unwrap_or_else(|| Value::from(""));
        m.insert("container".into(), container);
    }
    out
}

fn external_source_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("metricSelector", field(s, &["metric", "selector"])),
        ("targetValue", field(s, &["target", "value"])),
        ("targetAverageValue", field(s, &["target", "averageValue"])),
    ])
}

fn or_obj(v: Option<Value>) -> Option<Value> {
    Some(v.unwrap_or_else(|| Value::Object(Map::new())))
}

// ---- MetricSpec sources: v1 -> v2 ----

fn metric_id(name: Option<Value>, selector: Option<Value>) -> Option<Value> {
    Some(obj(vec![("name", or_str(name, "")), ("selector", selector)]))
}

fn target(kind: &str, pairs: Vec<(&str, Option<Value>)>) -> Option<Value> {
    let mut all = vec![("type", Some(Value::String(kind.to_string())))];
    all.extend(pairs);
    Some(obj(all))
}

fn object_source_v1_to_v2(s: &Value) -> Value {
    let average = field(s, &["averageValue"]);
    let kind = if average.is_some() { "AverageValue" } else { "Value" };
    obj(vec![
        ("describedObject", or_obj(field(s, &["target"]))),
        ("target", target(kind, vec![("value", or_str(field(s, &["targetValue"]), "0")), ("averageValue", average)])),
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["selector"]))),
    ])
}

fn pods_source_v1_to_v2(s: &Value) -> Value {
    obj(vec![
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["selector"]))),
        ("target", target("AverageValue", vec![("averageValue", or_str(field(s, &["targetAverageValue"]), "0"))])),
    ])
}

/// Also used for `containerResource` (which additionally has `container`).
fn resource_source_v1_to_v2(s: &Value) -> Value {
    let utilization = field(s, &["targetAverageUtilization"]);
    let kind = if utilization.is_some() { "Utilization" } else { "AverageValue" };
    obj(vec![
        ("name", or_str(field(s, &["name"]), "")),
        (
            "target",
            target(
                kind,
                vec![("averageUtilization", utilization), ("averageValue", field(s, &["targetAverageValue"]))],
            ),
        ),
        ("container", field(s, &["container"])),
    ])
}

fn external_source_v1_to_v2(s: &Value) -> Value {
    let average = field(s, &["targetAverageValue"]);
    let kind = if average.is_some() { "AverageValue" } else { "Value" };
    obj(vec![
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["metricSelector"]))),
        ("target", target(kind, vec![("value", field(s, &["targetValue"])), ("averageValue", average)])),
    ])
}

// ---- MetricStatus: v2 -> v1 ----

fn object_status_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("target", or_obj(field(s, &["describedObject"]))),
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("currentValue", or_str(field(s, &["current", "value"]), "0")),
        ("selector", field(s, &["metric", "selector"])),
        ("averageValue", field(s, &["current", "averageValue"])),
    ])
}

fn pods_status_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("currentAverageValue", or_str(field(s, &["current", "averageValue"]), "0")),
        ("selector", field(s, &["metric", "selector"])),
    ])
}

fn resource_status_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("name", or_str(field(s, &["name"]), "")),
        ("currentAverageUtilization", field(s, &["current", "averageUtilization"])),
        ("currentAverageValue", or_str(field(s, &["current", "averageValue"]), "0")),
    ])
}

fn container_status_v2_to_v1(s: &Value) -> Value {
    let mut out = resource_status_v2_to_v1(s);
    if let Value::Object(m) = &mut out {
        let container = field(s, &["container"]).unwrap_or_else(|| Value::from(""));
        m.insert("container".into(), container);
    }
    out
}

fn external_status_v2_to_v1(s: &Value) -> Value {
    obj(vec![
        ("metricName", or_str(field(s, &["metric", "name"]), "")),
        ("metricSelector", field(s, &["metric", "selector"])),
        ("currentValue", or_str(field(s, &["current", "value"]), "0")),
        ("currentAverageValue", field(s, &["current", "averageValue"])),
    ])
}

// ---- MetricStatus: v1 -> v2 ----

fn object_status_v1_to_v2(s: &Value) -> Value {
    obj(vec![
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["selector"]))),
        (
            "current",
            Some(obj(vec![
                ("value", or_str(field(s, &["currentValue"]), "0")),
                ("averageValue", field(s, &["averageValue"])),
            ])),
        ),
        ("describedObject", or_obj(field(s, &["target"]))),
    ])
}

fn pods_status_v1_to_v2(s: &Value) -> Value {
    obj(vec![
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["selector"]))),
        ("current", Some(obj(vec![("averageValue", or_str(field(s, &["currentAverageValue"]), "0"))]))),
    ])
}

/// Also used for `containerResource`.
fn resource_status_v1_to_v2(s: &Value) -> Value {
    obj(vec![
        ("name", or_str(field(s, &["name"]), "")),
        (
            "current",
            Some(obj(vec![
                ("averageValue", or_str(field(s, &["currentAverageValue"]), "0")),
                ("averageUtilization", field(s, &["currentAverageUtilization"])),
            ])),
        ),
        ("container", field(s, &["container"])),
    ])
}

fn external_status_v1_to_v2(s: &Value) -> Value {
    obj(vec![
        ("metric", metric_id(field(s, &["metricName"]), field(s, &["metricSelector"]))),
        (
            "current",
            Some(obj(vec![
                ("value", or_str(field(s, &["currentValue"]), "0")),
                ("averageValue", field(s, &["currentAverageValue"])),
            ])),
        ),
    ])
}
