//! The YAML layer: `datadog.yaml` nested mappings flattened to dotted keys. A mapping at a known
//! key of kind map/endpoints is that key's value; any other mapping is walked into, so unknown
//! leaves are reported with their full dotted path.

use std::path::Path;

use serde_json::Value as Json;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::parse::Raw;
use super::{ConfigError, Diagnostic, Settings, Source, table};

/// Reads `path` and applies every key it sets.
pub fn apply(settings: &mut Settings, path: &Path, diags: &mut Vec<Diagnostic>) -> Result<(), ConfigError> {
    let document = read(path)?;
    let mut leaves = Vec::new();
    match &document {
        Json::Object(_) => flatten(String::new(), &document, &mut leaves),
        Json::Null => {}
        other => return Err(ConfigError::NotAMapping { path: path.to_owned(), found: type_name(other).into() }),
    }
    for (key, node) in leaves {
        apply_leaf(settings, &key, node, path, diags);
    }
    Ok(())
}

/// A null value (`api_key:` with nothing after it) leaves a known key as it was.
fn apply_leaf(settings: &mut Settings, key: &str, node: &Json, path: &Path, diags: &mut Vec<Diagnostic>) {
    if node.is_null() && table::lookup(key).is_some() {
        return;
    }
    settings.set(key, Raw::Yaml(node), Source::File(path.to_owned()), diags);
}

fn read(path: &Path) -> Result<Json, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_owned(), source })?;
    if is_blank(&text) {
        return Ok(Json::Null);
    }
    // YAML 1.2 booleans only, so `site: y` or `kube_resources_namespace: no` stay strings (a boolean
    // key written `yes` is then reported as invalid rather than silently accepted), and `0123` stays text.
    let options = serde_saphyr::options! { strict_booleans: true, leading_zero_numbers_as_strings: true };
    serde_saphyr::from_str_with_options(&text, options).map_err(|error| parse_error(path, &error))
}

/// Comments and blank lines only: an empty configuration, not a parse error.
fn is_blank(text: &str) -> bool {
    text.lines().map(str::trim).all(|line| line.is_empty() || line.starts_with('#') || line == "---")
}

/// The parser's message on one line, without its own location suffix and source snippet.
fn parse_error(path: &Path, error: &serde_saphyr::Error) -> ConfigError {
    let (line, column) = error.location().map_or((0, 0), |at| (at.line(), at.column()));
    let message = UserMessageFormatter.format_message(error.without_snippet()).into_owned();
    ConfigError::ParseFile { path: path.to_owned(), line, column, message }
}

fn flatten<'a>(prefix: String, node: &'a Json, leaves: &mut Vec<(String, &'a Json)>) {
    match node {
        Json::Object(children) if descend(&prefix, children.is_empty()) => {
            for (name, child) in children {
                flatten(join(&prefix, name), child, leaves);
            }
        }
        _ => leaves.push((prefix, node)),
    }
}

/// Walk into a mapping unless it is the value of a known key (or an empty unknown one to report).
fn descend(prefix: &str, empty: bool) -> bool {
    prefix.is_empty() || (table::lookup(prefix).is_none() && !empty)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

fn type_name(node: &Json) -> &'static str {
    match node {
        Json::Null => "nothing",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}
