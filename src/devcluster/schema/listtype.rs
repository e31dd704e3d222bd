//! Checks `jsonschema` cannot express, hand-written after apiextensions-apiserver:
//! - `x-kubernetes-list-type: set` — no duplicate items (`listtype.validateListSet`);
//! - `x-kubernetes-list-type: map` — items are objects with unique `x-kubernetes-list-map-keys`
//!   (`listtype.validateListMap`; an absent key counts as its default);
//! - `x-kubernetes-embedded-resource` — `apiVersion` and `kind` present, non-empty strings.
//!
//! Why by hand: JSON Schema has no keyed uniqueness (list-map keys, with defaults standing in
//! for absent keys), its `uniqueItems` yields one error without saying which item repeats, and
//! kube-apiserver reports one `Duplicate value` cause per repeated item at its index.
//!
//! These walk only the structural part of the schema (`properties`, `items`,
//! `additionalProperties`), as kube-apiserver does.

use serde_json::{Map, Value};

use super::Cause;
use super::gofmt;
use super::node;
use super::validate::{REASON_DUPLICATE, REASON_INVALID, REASON_REQUIRED};

pub fn structural_causes(obj: &Value, schema: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    walk(obj, schema, "", true, &mut out);
    out
}

fn walk(v: &Value, schema: &Value, path: &str, root: bool, out: &mut Vec<Cause>) {
    match v {
        Value::Object(map) => {
            if !root && node::embedded_resource(schema) {
                embedded_resource_causes(map, path, out);
            }
            for (key, child) in map {
                if let Some(child_schema) = node::child_schema(schema, key) {
                    walk(child, child_schema, &node::child_path(path, key), false, out);
                }
            }
        }
        Value::Array(list) => {
            match node::list_type(schema) {
                Some("set") => set_causes(list, path, out),
                Some("map") => map_causes(list, schema, path, out),
                _ => {}
            }
            if let Some(items) = node::items(schema) {
                for (i, item) in list.iter().enumerate() {
                    walk(item, items, &node::index_path(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

fn duplicate(path: String, value: &Value) -> Cause {
    Cause::new(REASON_DUPLICATE, format!("Duplicate value: {}", gofmt::bad_value(value)), path)
}

/// Reports each duplicated item once, at its second appearance.
fn set_causes(list: &[Value], path: &str, out: &mut Vec<Cause>) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let key = canonical(item);
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, times)) => {
                *times += 1;
                if *times == 2 {
                    out.push(duplicate(node::index_path(path, i), item));
                }
            }
            None => seen.push((key, 1)),
        }
    }
}

fn map_causes(list: &[Value], schema: &Value, path: &str, out: &mut Vec<Cause>) {
    for (i, item) in list.iter().enumerate() {
        if !item.is_null() && !item.is_object() {
            let message =
                format!("Invalid value: {}: must be an object for an array of list-type map", gofmt::bad_value(item));
            out.push(Cause::new(REASON_INVALID, message, node::index_path(path, i)));
            return;
        }
    }
    let keys = node::list_map_keys(schema);
    let items = node::items(schema);
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let key_values = map_key_values(item, &keys, items);
        let canonical_key = canonical(&Value::Object(key_values.clone()));
        if seen.contains(&canonical_key) {
            out.push(duplicate(node::index_path(path, i), &Value::Object(key_values)));
        } else {
            seen.push(canonical_key);
        }
    }
}

/// The list-map key fields of one item; an absent key takes the key property's default.
fn map_key_values(item: &Value, keys: &[&str], items: Option<&Value>) -> Map<String, Value> {
    let mut values = Map::new();
    for key in keys {
        let explicit = item.get(*key).cloned();
        let defaulted = || items.and_then(|s| node::property(s, key)).and_then(node::default_value).cloned();
        if let Some(v) = explicit.or_else(defaulted) {
            values.insert((*key).to_string(), v);
        }
    }
    values
}

/// JSON text with object keys sorted (Go's `json.Marshal` of unstructured data).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k.as_str()])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        scalar => scalar.to_string(),
    }
}

fn embedded_resource_causes(map: &Map<String, Value>, path: &str, out: &mut Vec<Cause>) {
    for field in ["apiVersion", "kind"] {
        let field_path = node::child_path(path, field);
        match map.get(field) {
            None => out.push(Cause::new(REASON_REQUIRED, "Required value: must not be empty", field_path)),
            Some(Value::String(s)) if s.is_empty() => {
                out.push(Cause::new(REASON_INVALID, "Invalid value: \"\": must not be empty", field_path));
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                let message = format!("Invalid value: {}: must be a string", gofmt::bad_value(other));
                out.push(Cause::new(REASON_INVALID, message, field_path));
            }
        }
    }
}
