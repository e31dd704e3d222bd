//! `config check`: every effective setting with its source, secrets masked, then the diagnostics.

use serde_json::Value as Json;

use super::parse::Raw;
use super::{Diagnostic, Endpoint, Settings, Value};

const MASK: &str = "********";
/// Characters left visible at the end of a masked secret, as the DCA's scrubber does.
const VISIBLE_TAIL: usize = 5;
const SECRET_MARKERS: [&str; 4] = ["api_key", "app_key", "token", "password"];

impl Settings {
    /// One `key = value (source)` line per key, sorted by key, then derived values and diagnostics.
    pub fn check_report(&self, diags: &[Diagnostic]) -> String {
        let mut lines: Vec<String> = self.entries.iter().map(|(key, entry)| setting_line(key, entry)).collect();
        lines.push(String::new());
        lines.push(format!("derived: Datadog API endpoint = {}", self.endpoint()));
        lines.push(format!("derived: resources namespace = {}", self.resources_namespace()));
        lines.push(String::new());
        lines.extend(diagnostic_lines(diags));
        lines.join("\n") + "\n"
    }
}

fn setting_line(key: &str, entry: &super::Entry) -> String {
    let value = entry.value.as_ref().map_or_else(|| "<unset>".to_owned(), |value| show(key, value));
    format!("{key} = {value} ({})", entry.source)
}

fn diagnostic_lines(diags: &[Diagnostic]) -> Vec<String> {
    if diags.is_empty() {
        return vec!["no problems found".to_owned()];
    }
    let mut lines = vec![format!("{} problem(s):", diags.len())];
    lines.extend(diags.iter().map(|diag| format!("  {diag}")));
    lines
}

/// Whether values of `key` are secrets.
pub fn is_secret(key: &str) -> bool {
    SECRET_MARKERS.iter().any(|marker| key.contains(marker))
}

/// `********` followed by the last 5 characters when the secret is longer than 5, else only `********`.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= VISIBLE_TAIL {
        return MASK.to_owned();
    }
    let tail: String = secret.chars().skip(count - VISIBLE_TAIL).collect();
    format!("{MASK}{tail}")
}

fn show(key: &str, value: &Value) -> String {
    match value {
        Value::Str(text) if is_secret(key) && !text.is_empty() => mask(text),
        Value::Str(text) if text.is_empty() => "\"\"".to_owned(),
        Value::Str(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Int(number) => number.to_string(),
        Value::Duration(duration) => format!("{}s", duration.as_secs_f64()),
        Value::List(items) => Json::from(items.clone()).to_string(),
        Value::Map(map) => serde_json::to_string(map).unwrap_or_default(),
        Value::Endpoints(endpoints) => show_endpoints(endpoints),
    }
}

fn show_endpoints(endpoints: &[Endpoint]) -> String {
    let masked: Vec<Endpoint> = endpoints.iter().map(masked_endpoint).collect();
    serde_json::to_string(&masked).unwrap_or_default()
}

fn masked_endpoint(endpoint: &Endpoint) -> Endpoint {
    let hide = |secret: &str| if secret.is_empty() { String::new() } else { mask(secret) };
    Endpoint { api_key: hide(&endpoint.api_key), app_key: hide(&endpoint.app_key), ..endpoint.clone() }
}

/// A rejected raw value as shown in a diagnostic: text quoted, YAML nodes as JSON, secrets masked.
pub fn show_raw(key: &str, raw: Raw<'_>) -> String {
    let (text, quoted) = match raw {
        Raw::Text(text) => (text.to_owned(), true),
        Raw::Yaml(Json::String(text)) => (text.clone(), true),
        Raw::Yaml(node) => (node.to_string(), false),
    };
    if is_secret(key) || key == "external_metrics_provider.endpoints" {
        return format!("\"{}\"", mask(&text));
    }
    if quoted { format!("{text:?}") } else { text }
}
