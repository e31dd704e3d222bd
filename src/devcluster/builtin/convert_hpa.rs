//! autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler conversion, as
//! kube's `pkg/apis/autoscaling/v1/conversion.go` does it: v1 carries the
//! CPU utilisation target natively and everything else v2 has in
//! `autoscaling.alpha.kubernetes.io/*` annotations.

use k8s_openapi::api::autoscaling::v2 as as2;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::hpa_metrics::{
    cpu_metric_spec, cpu_utilization_target, spec_v1_to_v2, spec_v2_to_v1, status_v1_to_v2, status_v2_to_v1,
};
use super::{NormalizeError, normalize};

const KIND: &str = "HorizontalPodAutoscaler";
const GROUP: &str = "autoscaling";
pub(super) const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub(super) const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub(super) const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub(super) const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
/// kube's `autoscaling.DefaultCPUUtilization`.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// The source version is the object's own `apiVersion` when it is
/// `autoscaling/v1` or `autoscaling/v2`, else `from`.
pub(super) fn convert(from: &str, to: &str, obj: Value) -> Result<Value, NormalizeError> {
    let from = match obj.get("apiVersion").and_then(Value::as_str) {
        Some("autoscaling/v1") => "v1",
        Some("autoscaling/v2") => "v2",
        _ => from,
    };
    match (from, to) {
        ("v1", "v1") | ("v2", "v2") => normalize(GROUP, to, KIND, obj),
        ("v1", "v2") => {
            let v1 = normalize(GROUP, "v1", KIND, obj)?;
            normalize(GROUP, "v2", KIND, v1_to_v2(&v1)?)
        }
        ("v2", "v1") => {
            let v2 = normalize(GROUP, "v2", KIND, obj)?;
            normalize(GROUP, "v1", KIND, v2_to_v1(&v2))
        }
        _ => Err(NormalizeError::UnsupportedConversion {
            kind: KIND.to_string(),
            from: format!("{GROUP}/{from}"),
            to: format!("{GROUP}/{to}"),
        }),
    }
}

fn get(v: &Value, key: &str) -> Option<Value> {
    v.get(key).filter(|x| !x.is_null()).cloned()
}

fn copy_keys(src: &Value, dst: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(v) = get(src, key) {
            dst.insert((*key).to_string(), v);
        }
    }
}

fn annotations(meta: &Value) -> Map<String, Value> {
    meta.get("annotations").and_then(Value::as_object).cloned().unwrap_or_default()
}

fn with_annotations(meta: &Value, anns: Map<String, Value>) -> Value {
    let mut meta = meta.as_object().cloned().unwrap_or_default();
    if anns.is_empty() {
        meta.remove("annotations");
    } else {
        meta.insert("annotations".into(), Value::Object(anns));
    }
    Value::Object(meta)
}

fn envelope(version: &str, meta: Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), Value::from(KIND));
    out.insert("apiVersion".into(), Value::from(format!("{GROUP}/{version}")));
    out.insert("metadata".into(), meta);
    out
}

// ---------------------------------------------------------------- v1 -> v2

/// kube fails the decode (400, "... cannot be handled as a ...") when one of
/// the annotations does not unmarshal.
fn annotation_error(detail: impl std::fmt::Display) -> NormalizeError {
    NormalizeError::Decode { kind: KIND.to_string(), version: "v1".to_string(), detail: detail.to_string() }
}

/// Decode an annotation holding a JSON list, converting and type-checking
/// each item. `Ok(None)` when the annotation is absent.
fn decode_list<T: DeserializeOwned>(
    anns: &Map<String, Value>,
    key: &str,
    f: fn(&Value) -> Value,
) -> Result<Option<Vec<Value>>, NormalizeError> {
    let Some(text) = anns.get(key).and_then(Value::as_str) else {
        return Ok(None);
    };
    let items = match serde_json::from_str::<Value>(text).map_err(annotation_error)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        other => {
            let found = match other {
                Value::Object(_) => "object",
                Value::String(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            };
            let elem = match key {
                METRICS_ANNOTATION => "MetricSpec",
                CURRENT_METRICS_ANNOTATION => "MetricStatus",
                _ => "HorizontalPodAutoscalerCondition",
            };
            return Err(annotation_error(format!("json: cannot unmarshal {found} into Go value of type []v1.{elem}")));
        }
    };
    let converted: Vec<Value> = items.iter().map(f).collect();
    for item in &converted {
        serde_json::from_value::<T>(item.clone())
            .map_err(|e| annotation_error(super::normalize::go_style(&e.to_string())))?;
    }
    Ok(Some(converted))
}

fn lower_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Go decodes field names case-insensitively; the annotation uses the
/// internal type's Go field names (`ScaleUp`, `Policies`, ...).
fn lower_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (lower_first(&k), lower_keys(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

fn decode_behavior(anns: &Map<String, Value>) -> Result<Option<Value>, NormalizeError> {
    let Some(text) = anns.get(BEHAVIOR_ANNOTATION).and_then(Value::as_str) else {
        return Ok(None);
    };
    let parsed = lower_keys(serde_json::from_str(text).map_err(annotation_error)?);
    if parsed.is_null() {
        return Ok(None);
    }
    serde_json::from_value::<as2::HorizontalPodAutoscalerBehavior>(parsed.clone()).map_err(annotation_error)?;
    Ok(Some(parsed))
}

fn v1_spec_to_v2(spec: &Value, anns: &Map<String, Value>) -> Result<Value, NormalizeError> {
    let mut out = Map::new();
    copy_keys(spec, &mut out, &["scaleTargetRef", "minReplicas", "maxReplicas"]);
    let mut metrics = decode_list::<as2::MetricSpec>(anns, METRICS_ANNOTATION, spec_v1_to_v2)?.unwrap_or_default();
    if let Some(percent) = get(spec, "targetCPUUtilizationPercentage") {
        metrics.push(cpu_metric_spec(percent));
    }
    if metrics.is_empty() {
        metrics.push(cpu_metric_spec(Value::from(DEFAULT_CPU_UTILIZATION)));
    }
    out.insert("metrics".into(), Value::Array(metrics));
    if let Some(behavior) = decode_behavior(anns)? {
        out.insert("behavior".into(), behavior);
    }
    Ok(Value::Object(out))
}

fn v1_status_to_v2(status: Option<&Value>, anns: &Map<String, Value>) -> Result<Option<Value>, NormalizeError> {
    let current = decode_list::<as2::MetricStatus>(anns, CURRENT_METRICS_ANNOTATION, status_v1_to_v2)?;
    let conditions = decode_list::<as2::HorizontalPodAutoscalerCondition>(anns, CONDITIONS_ANNOTATION, Value::clone)?;
    if status.is_none() && current.is_none() && conditions.is_none() {
        return Ok(None);
    }
    let status = status.cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    copy_keys(&status, &mut out, &["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"]);
    // The annotation, when present, replaces the CPU-derived status.
    let cpu = get(&status, "currentCPUUtilizationPercentage").map(|p| {
        vec![serde_json::json!({
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": p}}
        })]
    });
    if let Some(metrics) = current.or(cpu).filter(|m| !m.is_empty()) {
        out.insert("currentMetrics".into(), Value::Array(metrics));
    }
    if let Some(conditions) = conditions.filter(|c| !c.is_empty()) {
        out.insert("conditions".into(), Value::Array(conditions));
    }
    Ok(Some(Value::Object(out)))
}

pub(super) fn v1_to_v2(v1: &Value) -> Result<Value, NormalizeError> {
    let meta = v1.get("metadata").cloned().unwrap_or(Value::Null);
    let mut anns = annotations(&meta);
    let spec = v1_spec_to_v2(v1.get("spec").unwrap_or(&Value::Null), &anns)?;
    let status = v1_status_to_v2(v1.get("status"), &anns)?;
    for key in [METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION] {
        anns.remove(key);
    }
    let mut out = envelope("v2", with_annotations(&meta, anns));
    out.insert("spec".into(), spec);
    if let Some(status) = status {
        out.insert("status".into(), status);
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------- v2 -> v1

fn list(v: &Value, key: &str) -> Vec<Value> {
    v.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

fn encode(items: &[Value]) -> Value {
    Value::String(serde_json::to_string(items).unwrap_or_default())
}

fn condition_v1(c: &Value) -> Value {
    let mut out = Map::new();
    for key in ["type", "status"] {
        out.insert(key.into(), get(c, key).unwrap_or_else(|| Value::from("")));
    }
    out.insert("lastTransitionTime".into(), get(c, "lastTransitionTime").unwrap_or(Value::Null));
    copy_keys(c, &mut out, &["reason", "message"]);
    Value::Object(out)
}

fn rules_annotation(rules: Option<&Value>) -> Value {
    let Some(rules) = rules.filter(|r| r.is_object()) else {
        return Value::Null;
    };
    let policies = rules.get("policies").and_then(Value::as_array).map(|ps| {
        let ps = ps.iter().map(|p| {
            serde_json::json!({
                "Type": get(p, "type").unwrap_or_else(|| Value::from("")),
                "Value": get(p, "value").unwrap_or_else(|| Value::from(0)),
                "PeriodSeconds": get(p, "periodSeconds").unwrap_or_else(|| Value::from(0)),
            })
        });
        Value::Array(ps.collect())
    });
    serde_json::json!({
        "StabilizationWindowSeconds": get(rules, "stabilizationWindowSeconds"),
        "SelectPolicy": get(rules, "selectPolicy"),
        "Policies": policies,
        "Tolerance": get(rules, "tolerance"),
    })
}

/// kube marshals the *internal* behavior type (Go field names) here.
fn behavior_annotation(b: &Value) -> Value {
    let v = serde_json::json!({
        "ScaleUp": rules_annotation(b.get("scaleUp")),
        "ScaleDown": rules_annotation(b.get("scaleDown")),
    });
    Value::String(v.to_string())
}

fn v2_annotations(v2: &Value, spec: &Value, status: &Value) -> Map<String, Value> {
    let mut anns = annotations(v2.get("metadata").unwrap_or(&Value::Null));
    let other: Vec<Value> =
        list(spec, "metrics").iter().filter(|m| cpu_utilization_target(m).is_none()).map(spec_v2_to_v1).collect();
    if !other.is_empty() {
        anns.insert(METRICS_ANNOTATION.into(), encode(&other));
    }
    let current: Vec<Value> = list(status, "currentMetrics").iter().map(status_v2_to_v1).collect();
    if !current.is_empty() {
        anns.insert(CURRENT_METRICS_ANNOTATION.into(), encode(&current));
    }
    let conditions: Vec<Value> = list(status, "conditions").iter().map(condition_v1).collect();
    if !conditions.is_empty() {
        anns.insert(CONDITIONS_ANNOTATION.into(), encode(&conditions));
    }
    if let Some(behavior) = get(spec, "behavior") {
        anns.insert(BEHAVIOR_ANNOTATION.into(), behavior_annotation(&behavior));
    }
    anns
}

fn v2_spec_to_v1(spec: &Value) -> Value {
    let mut out = Map::new();
    copy_keys(spec, &mut out, &["scaleTargetRef", "minReplicas", "maxReplicas"]);
    // kube stops at the first `Resource cpu` metric, whatever its target type.
    let first_cpu = list(spec, "metrics").into_iter().find(is_resource_cpu);
    if let Some(p) = first_cpu.as_ref().and_then(cpu_utilization_target) {
        out.insert("targetCPUUtilizationPercentage".into(), p);
    }
    Value::Object(out)
}

fn is_resource_cpu(m: &Value) -> bool {
    m.get("type").and_then(Value::as_str) == Some("Resource")
        && m.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
}

fn current_cpu(status: &Value) -> Option<Value> {
    list(status, "currentMetrics")
        .iter()
        .filter(|m| is_resource_cpu(m))
        .filter_map(|m| m.pointer("/resource/current/averageUtilization").cloned())
        .rfind(|u| !u.is_null())
}

fn v2_status_to_v1(status: &Value) -> Value {
    let mut out = Map::new();
    copy_keys(status, &mut out, &["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"]);
    if let Some(p) = current_cpu(status) {
        out.insert("currentCPUUtilizationPercentage".into(), p);
    }
    Value::Object(out)
}

pub(super) fn v2_to_v1(v2: &Value) -> Value {
    let spec = v2.get("spec").cloned().unwrap_or(Value::Null);
    let status = v2.get("status").cloned().unwrap_or(Value::Null);
    let anns = v2_annotations(v2, &spec, &status);
    let meta = v2.get("metadata").cloned().unwrap_or(Value::Null);
    let mut out = envelope("v1", with_annotations(&meta, anns));
    out.insert("spec".into(), v2_spec_to_v1(&spec));
    if status.is_object() {
        out.insert("status".into(), v2_status_to_v1(&status));
    }
    Value::Object(out)
}
