//! Defaulting, after apiextensions-apiserver's `structuraldefaulting.Default` and
//! `PruneNonNullableNullsWithoutDefaults`:
//! - a property's `default` is set when the property is absent, or null while not nullable,
//!   in an object that exists (absent parents are never created);
//! - a non-nullable null with no default is dropped (kube-apiserver prunes it on decode,
//!   so it never reaches validation);
//! - defaults are applied recursively, including inside freshly defaulted values.

use serde_json::{Map, Value};

use super::node::{self, Additional};

pub fn apply(obj: &mut Value, schema: &Value) {
    drop_non_nullable_nulls(obj, schema);
    default_value(obj, schema);
}

fn is_non_nullable_null(v: &Value, schema: &Value) -> bool {
    v.is_null() && !node::nullable(schema)
}

fn default_value(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(map) => default_object(map, schema),
        Value::Array(list) => {
            let Some(items) = node::items(schema) else {
                return;
            };
            for item in list.iter_mut() {
                if is_non_nullable_null(item, items)
                    && let Some(d) = node::default_value(items)
                {
                    *item = d.clone();
                }
                default_value(item, items);
            }
        }
        _ => {}
    }
}

fn default_object(map: &mut Map<String, Value>, schema: &Value) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, prop) in props {
            let Some(d) = node::default_value(prop) else {
                continue;
            };
            let missing = map.get(key).is_none_or(|v| is_non_nullable_null(v, prop));
            if missing {
                map.insert(key.clone(), d.clone());
            }
        }
    }
    for (key, v) in map.iter_mut() {
        if let Some(prop) = node::property(schema, key) {
            default_value(v, prop);
        } else if let Additional::Schema(a) = node::additional(schema) {
            if is_non_nullable_null(v, a)
                && let Some(d) = node::default_value(a)
            {
                *v = d.clone();
            }
            default_value(v, a);
        }
    }
}

fn drop_non_nullable_nulls(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(map) => {
            map.retain(|key, v| {
                let Some(prop) = node::property(schema, key) else {
                    return true;
                };
                !(is_non_nullable_null(v, prop) && node::default_value(prop).is_none())
            });
            for (key, v) in map.iter_mut() {
                if let Some(child) = node::child_schema(schema, key) {
                    drop_non_nullable_nulls(v, child);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = node::items(schema) {
                for item in list.iter_mut() {
                    drop_non_nullable_nulls(item, items);
                }
            }
        }
        _ => {}
    }
}
