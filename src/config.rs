//! Settings with the Datadog Cluster Agent's keys and defaults (spec §13).
//!
//! Layers, lowest to highest: the defaults in [`table`], the YAML file (`--config datadog.yaml`),
//! `DD_*` environment variables (mapped by the explicit table, because DCA keys contain underscores
//! and cannot be derived back from a variable name), then command-line flags. Problems that should
//! not stop the process (unknown keys, invalid values) are returned as [`Diagnostic`]s and the
//! offending layer is ignored for that key; problems that must stop it are [`ConfigError`]s.

mod accessors;
mod configmap;
mod datadogmetric;
mod env;
mod file;
mod parse;
mod report;
mod serving;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that stops the settings from being used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("cannot parse config file {path} at line {line}, column {column}: {message}")]
    ParseFile { path: PathBuf, line: u64, column: u64, message: String },
    #[error("config file {path} must be a YAML mapping of keys to values, found {found}")]
    NotAMapping { path: PathBuf, found: String },
    /// Datadog keys needed to serve external metrics are missing; `keys` names each one.
    #[error("{message}")]
    MissingKeys { keys: Vec<String>, message: String },
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    /// The environment variable's name.
    Env(String),
    /// The command-line flag's name, e.g. `--secure-port`.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

/// A typed setting value; its variant is fixed by the key's [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    /// Integers and ports.
    Int(i64),
    /// Strings, including the members of a fixed set of choices.
    Str(String),
    /// Keys whose unit is seconds.
    Duration(Duration),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
    Endpoints(Vec<Endpoint>),
}

/// One entry of `external_metrics_provider.endpoints` (spec §8.2). The DCA uses each entry's own
/// keys for that endpoint: they do not fall back to the main `api_key`/`app_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub app_key: String,
    #[serde(default)]
    pub site: String,
}

/// What is wrong with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    UnknownKey,
    InvalidValue,
    /// A `DD_EXTERNAL_METRICS_PROVIDER_*`/`DD_AUTOSCALING_*` variable that maps to no key.
    IgnoredEnv,
}

/// An unknown key or invalid value, with where it came from. The setting keeps its lower-layer value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub key: String,
    pub source: Source,
    pub kind: Problem,
    pub problem: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (from {})", self.key, self.problem, self.source)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    value: Option<Value>,
    source: Source,
}

/// Variables read raw by the DCA rather than through a key (spec §8.1, §2, §13).
#[derive(Debug, Clone, Default)]
struct ProcessEnv {
    datadog_host: Option<String>,
    pod_namespace: Option<String>,
    pod_name: Option<String>,
}

/// The effective settings: one typed value (or none) per key of the table, with its source.
#[derive(Debug, Clone)]
pub struct Settings {
    entries: BTreeMap<&'static str, Entry>,
    process: ProcessEnv,
}

/// Builds the settings: defaults < `file` < `env` < `flags` (`(key, value, flag name)`).
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[(&str, String, &str)],
) -> Result<(Settings, Vec<Diagnostic>), ConfigError> {
    let mut settings = Settings::defaults();
    let mut diags = Vec::new();
    if let Some(path) = file {
        file::apply(&mut settings, path, &mut diags)?;
    }
    env::apply(&mut settings, env, &mut diags);
    for (key, value, flag) in flags {
        settings.set_text(key, value, Source::Flag((*flag).to_owned()), &mut diags);
    }
    Ok((settings, diags))
}

impl Settings {
    /// Every key at its default value.
    pub fn defaults() -> Self {
        let entries =
            table::KEYS.iter().map(|def| (def.key, Entry { value: def.default_value(), source: Source::Default }));
        Settings { entries: entries.collect(), process: ProcessEnv::default() }
    }

    /// The effective value of `key`; `None` for unknown keys and keys without a value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key).and_then(|entry| entry.value.as_ref())
    }

    /// Where the effective value of `key` came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.entries.get(key).map(|entry| &entry.source)
    }

    /// Sets `key` from text (environment variable or flag), recording a diagnostic when it fails.
    fn set_text(&mut self, key: &str, text: &str, source: Source, diags: &mut Vec<Diagnostic>) {
        self.set(key, parse::Raw::Text(text), source, diags);
    }

    fn set(&mut self, key: &str, raw: parse::Raw<'_>, source: Source, diags: &mut Vec<Diagnostic>) {
        let Some(def) = table::lookup(key) else {
            diags.push(Diagnostic::unknown_key(key, source));
            return;
        };
        match parse::parse(def.kind, raw) {
            Some(value) => {
                self.entries.insert(def.key, Entry { value: Some(value), source });
            }
            None => diags.push(Diagnostic::invalid(def, raw, source)),
        }
    }
}

impl Diagnostic {
    fn unknown_key(key: &str, source: Source) -> Self {
        let problem = "unknown key (ignored)".to_owned();
        Diagnostic { key: key.to_owned(), source, kind: Problem::UnknownKey, problem }
    }

    fn invalid(def: &table::KeyDef, raw: parse::Raw<'_>, source: Source) -> Self {
        let shown = report::show_raw(def.key, raw);
        let problem = format!("invalid value {shown}: expected {} (value ignored)", def.kind.expected());
        Diagnostic { key: def.key.to_owned(), source, kind: Problem::InvalidValue, problem }
    }
}
