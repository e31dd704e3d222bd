//! The environment layer, mapped through the explicit table.
//!
//! `DD_*` variables that map to no key are not errors: the DCA shares its environment with the
//! rest of the Agent and ignores the many variables it does not use. Only unmapped variables that
//! look like ours — prefix `DD_EXTERNAL_METRICS_PROVIDER_` or `DD_AUTOSCALING_` — are listed, as
//! "unknown environment variable (ignored)", because those are most likely typos of our keys.

use std::collections::BTreeMap;

use super::{Diagnostic, Problem, ProcessEnv, Settings, Source, table};

const SUSPICIOUS_PREFIXES: [&str; 2] = ["DD_EXTERNAL_METRICS_PROVIDER_", "DD_AUTOSCALING_"];

/// Applies the bound variables of `env`; when a key has several, the first non-empty one listed
/// in the table wins. Empty values count as unset, as in the DCA.
pub fn apply(settings: &mut Settings, env: impl IntoIterator<Item = (String, String)>, diags: &mut Vec<Diagnostic>) {
    let env: BTreeMap<String, String> = env.into_iter().filter(|(_, value)| !value.is_empty()).collect();
    settings.process = process_env(&env);
    for def in table::KEYS {
        if let Some((name, value)) = def.env.iter().find_map(|name| env.get_key_value(*name)) {
            settings.set_text(def.key, value, Source::Env(name.clone()), diags);
        }
    }
    diags.extend(env.keys().filter(|name| is_suspicious(name)).map(|name| ignored(name)));
}

fn process_env(env: &BTreeMap<String, String>) -> ProcessEnv {
    ProcessEnv {
        datadog_host: env.get("DATADOG_HOST").cloned(),
        pod_namespace: env.get("DD_POD_NAMESPACE").cloned(),
        pod_name: env.get("DD_POD_NAME").cloned(),
    }
}

fn is_suspicious(name: &str) -> bool {
    SUSPICIOUS_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) && table::lookup_env(name).is_none()
}

fn ignored(name: &str) -> Diagnostic {
    let problem = "unknown environment variable (ignored)".to_owned();
    Diagnostic { key: name.to_owned(), source: Source::Env(name.to_owned()), kind: Problem::IgnoredEnv, problem }
}
