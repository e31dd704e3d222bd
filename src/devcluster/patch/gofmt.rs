//! Go `fmt` renderings of decoded JSON values, for error texts copied from apimachinery.

use serde_json::{Map, Value};

/// encoding/json's name for a JSON value's type in "cannot unmarshal X" errors.
pub(super) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `reflect.TypeOf(v)` of a value decoded into `interface{}`.
pub(super) fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of a value decoded into `interface{}` (maps print with sorted keys).
pub(super) fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let shown: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", shown.join(" "))
        }
        Value::Object(map) => go_map(map),
    }
}

/// Go's `%v` of a `map[string]interface{}`.
pub(super) fn go_map(map: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let shown: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{}", go_value(v))).collect();
    format!("map[{}]", shown.join(" "))
}
