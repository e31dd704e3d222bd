//! Translation of a CRD `openAPIV3Schema` into a plain JSON Schema (draft 4) document for the
//! `jsonschema` crate, following apiextensions-apiserver's `ConvertJSONSchemaProps`:
//! - `nullable: true` adds `"null"` to `type` (and to `enum`, so null passes it too);
//! - `x-kubernetes-int-or-string` becomes `type: [integer, string]` (its `anyOf` is kept);
//! - every `x-kubernetes-*` extension, `default`, `description`, `example`… is dropped:
//!   they are handled elsewhere (pruning, defaulting, list types) or are annotations.

use serde_json::{Map, Value, json};

use super::node;

/// Keywords copied verbatim.
const VALUE_KEYWORDS: &[&str] = &[
    "required",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "format",
];

/// Keywords holding one sub-schema per property name.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties"];

/// Keywords holding a list of sub-schemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];

pub fn to_json_schema(schema: &Value) -> Value {
    let Some(src) = schema.as_object() else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    if let Some(t) = translated_type(schema) {
        out.insert("type".into(), t);
    }
    for key in VALUE_KEYWORDS {
        if let Some(v) = src.get(*key) {
            out.insert((*key).into(), v.clone());
        }
    }
    if node::nullable(schema)
        && let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    for key in SCHEMA_MAPS {
        if let Some(Value::Object(props)) = src.get(*key) {
            let translated = props.iter().map(|(k, v)| (k.clone(), to_json_schema(v)));
            out.insert((*key).into(), Value::Object(translated.collect()));
        }
    }
    for key in SCHEMA_LISTS {
        if let Some(Value::Array(list)) = src.get(*key) {
            out.insert((*key).into(), list.iter().map(to_json_schema).collect());
        }
    }
    copy_sub_schema(src, &mut out, "not");
    copy_items(src, &mut out);
    copy_additional_properties(src, &mut out);
    Value::Object(out)
}

fn translated_type(schema: &Value) -> Option<Value> {
    let mut types: Vec<Value> = if node::int_or_string(schema) {
        vec![json!("integer"), json!("string")]
    } else {
        match schema.get("type") {
            Some(Value::String(t)) if !t.is_empty() => vec![json!(t)],
            _ => return None,
        }
    };
    if node::nullable(schema) {
        types.push(json!("null"));
    }
    match types.len() {
        1 => types.pop(),
        _ => Some(Value::Array(types)),
    }
}

fn copy_sub_schema(src: &Map<String, Value>, out: &mut Map<String, Value>, key: &str) {
    if let Some(sub @ Value::Object(_)) = src.get(key) {
        out.insert(key.into(), to_json_schema(sub));
    }
}

fn copy_items(src: &Map<String, Value>, out: &mut Map<String, Value>) {
    match src.get("items") {
        Some(sub @ Value::Object(_)) => {
            out.insert("items".into(), to_json_schema(sub));
        }
        Some(Value::Array(list)) => {
            out.insert("items".into(), list.iter().map(to_json_schema).collect());
        }
        _ => {}
    }
}

fn copy_additional_properties(src: &Map<String, Value>, out: &mut Map<String, Value>) {
    match src.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), Value::Bool(*b));
        }
        Some(sub @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), to_json_schema(sub));
        }
        _ => {}
    }
}
