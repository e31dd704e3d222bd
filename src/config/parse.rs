//! Turning raw text (environment, flags, defaults) or YAML values into typed [`Value`]s. Scalars
//! are converted leniently, as viper's casts do (`"8443"` is a valid port in YAML too).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use super::table::Kind;
use super::{Endpoint, Value};

/// A value before typing: text from the environment or a flag, or a node of the YAML file.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    Text(&'a str),
    Yaml(&'a Json),
}

/// The typed value, or `None` when `raw` is not a valid `kind`.
pub fn parse(kind: Kind, raw: Raw<'_>) -> Option<Value> {
    match kind {
        Kind::Bool => scalar(raw).and_then(|text| bool_of(&text)).map(Value::Bool),
        Kind::Int => scalar(raw).and_then(|text| text.trim().parse().ok()).map(Value::Int),
        Kind::Port => scalar(raw).and_then(|text| text.trim().parse::<u16>().ok()).map(|port| Value::Int(port.into())),
        Kind::Str => scalar(raw).filter(|text| !is_rounded(raw, text)).map(Value::Str),
        Kind::Choice(choices) => scalar(raw).and_then(|text| choice(choices, &text)).map(Value::Str),
        Kind::Seconds => scalar(raw).and_then(|text| seconds(&text)).map(Value::Duration),
        Kind::List => list(raw).map(Value::List),
        Kind::Map => map(raw).map(Value::Map),
        Kind::Endpoints => endpoints(raw).map(Value::Endpoints),
    }
}

/// A scalar as text; YAML sequences, mappings and nulls are not scalars.
fn scalar(raw: Raw<'_>) -> Option<String> {
    match raw {
        Raw::Text(text) => Some(text.to_owned()),
        Raw::Yaml(Json::String(text)) => Some(text.clone()),
        Raw::Yaml(Json::Number(number)) => Some(number.to_string()),
        Raw::Yaml(Json::Bool(flag)) => Some(flag.to_string()),
        Raw::Yaml(_) => None,
    }
}

/// A YAML number too long to be kept exactly (e.g. an all-digit key): it must be quoted.
fn is_rounded(raw: Raw<'_>, text: &str) -> bool {
    matches!(raw, Raw::Yaml(Json::Number(number)) if number.is_f64() && text.contains('e'))
}

/// Go's `strconv.ParseBool`, which the DCA uses for environment values.
fn bool_of(text: &str) -> Option<bool> {
    match text.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn choice(choices: &[&str], text: &str) -> Option<String> {
    let text = text.trim();
    choices.iter().find(|choice| choice.eq_ignore_ascii_case(text)).map(|choice| (*choice).to_owned())
}

/// Seconds as a plain number, or a number with one of the units `ms`, `s`, `m`, `h`.
fn seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(number * scale).ok()
}

fn list(raw: Raw<'_>) -> Option<Vec<String>> {
    match raw {
        Raw::Text(text) if text.trim_start().starts_with('[') => json_list(&serde_json::from_str(text).ok()?),
        Raw::Text(text) => Some(text.split_whitespace().map(str::to_owned).collect()),
        Raw::Yaml(Json::String(text)) => Some(text.split_whitespace().map(str::to_owned).collect()),
        Raw::Yaml(node) => json_list(node),
    }
}

fn json_list(node: &Json) -> Option<Vec<String>> {
    node.as_array()?.iter().map(|item| scalar(Raw::Yaml(item))).collect()
}

fn map(raw: Raw<'_>) -> Option<BTreeMap<String, String>> {
    let parsed;
    let node = match raw {
        Raw::Text(text) => {
            parsed = serde_json::from_str::<Json>(text).ok()?;
            &parsed
        }
        Raw::Yaml(node) => node,
    };
    node.as_object()?.iter().map(|(name, value)| Some((name.clone(), scalar(Raw::Yaml(value))?))).collect()
}

fn endpoints(raw: Raw<'_>) -> Option<Vec<Endpoint>> {
    match raw {
        Raw::Text(text) => serde_json::from_str(text).ok(),
        Raw::Yaml(node) => serde_json::from_value(node.clone()).ok(),
    }
}
