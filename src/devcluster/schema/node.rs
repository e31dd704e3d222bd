//! Read-only accessors over a raw CRD schema node (`JSONSchemaProps` as JSON).
//!
//! Only the structural part of a schema (`properties`, `items`, `additionalProperties`) is
//! used for pruning and defaulting, as in kube-apiserver; value validations nested in
//! `allOf`/`anyOf`/`oneOf`/`not` never declare fields.

use serde_json::Value;

/// What `additionalProperties` says for keys not listed in `properties`.
pub enum Additional<'a> {
    /// No `additionalProperties`: unknown keys are pruned.
    Absent,
    /// `additionalProperties: true|false`: keys are kept, their values have no schema.
    Bool,
    /// `additionalProperties: {schema}`.
    Schema(&'a Value),
}

pub fn property<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(key)
}

pub fn has_properties(schema: &Value) -> bool {
    schema.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty())
}

pub fn items(schema: &Value) -> Option<&Value> {
    schema.get("items").filter(|i| i.is_object())
}

pub fn additional(schema: &Value) -> Additional<'_> {
    match schema.get("additionalProperties") {
        Some(Value::Bool(_)) => Additional::Bool,
        Some(s @ Value::Object(_)) => Additional::Schema(s),
        _ => Additional::Absent,
    }
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

pub fn preserves_unknown(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
}

pub fn embedded_resource(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-embedded-resource")
}

pub fn nullable(schema: &Value) -> bool {
    flag(schema, "nullable")
}

pub fn int_or_string(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-int-or-string")
}

/// A non-null `default` (a null default means "no default", as in kube-apiserver).
pub fn default_value(schema: &Value) -> Option<&Value> {
    schema.get("default").filter(|d| !d.is_null())
}

pub fn list_type(schema: &Value) -> Option<&str> {
    schema.get("x-kubernetes-list-type").and_then(Value::as_str)
}

pub fn list_map_keys(schema: &Value) -> Vec<&str> {
    schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The schema governing the value under `key` of an object described by `schema`.
pub fn child_schema<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(prop) = property(schema, key) {
        return Some(prop);
    }
    match additional(schema) {
        Additional::Schema(s) => Some(s),
        _ => None,
    }
}

/// Appends a property name to a dotted field path.
pub fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// Appends a list index to a field path.
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// ObjectMeta's JSON field names in the order Go encodes them: what survives pruning of an
/// undescribed `metadata`, and the key order of objects sent to admission webhooks.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];
