//! The start-up check for serving external metrics: the Datadog key pair must be configured.

use super::{ConfigError, Endpoint, Settings, table};

impl Settings {
    /// When the external metrics provider is enabled, fails naming every missing key: the main
    /// api/app key pair (each overridable by `external_metrics_provider.api_key`/`app_key`) and the
    /// keys of each `external_metrics_provider.endpoints` entry, which do not fall back to the main ones.
    pub fn require_serving(&self) -> Result<(), ConfigError> {
        if !self.external_metrics_provider_enabled() {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.external_metrics_api_key().is_none() {
            missing.push(("api_key".to_owned(), main_hint("api_key")));
        }
        if self.external_metrics_app_key().is_none() {
            missing.push(("app_key".to_owned(), main_hint("app_key")));
        }
        for (index, endpoint) in self.endpoints().iter().enumerate() {
            missing.extend(endpoint_missing(index, endpoint));
        }
        if missing.is_empty() { Ok(()) } else { Err(missing_keys(missing)) }
    }
}

/// How to set a main key, e.g. `set DD_API_KEY, or api_key in datadog.yaml`.
fn main_hint(key: &str) -> String {
    let vars = table::lookup(key).map(|def| def.env.join(" or ")).unwrap_or_default();
    format!("set {vars}, or {key} (or external_metrics_provider.{key}) in datadog.yaml")
}

fn endpoint_missing(index: usize, endpoint: &Endpoint) -> Vec<(String, String)> {
    let hint = format!(
        "add it to entry {index} (url {:?}) of external_metrics_provider.endpoints in datadog.yaml \
         or DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS",
        endpoint.url
    );
    let keys = [("api_key", &endpoint.api_key), ("app_key", &endpoint.app_key)];
    let blank = keys.into_iter().filter(|(_, value)| value.trim().is_empty());
    blank.map(|(name, _)| (format!("external_metrics_provider.endpoints[{index}].{name}"), hint.clone())).collect()
}

fn missing_keys(missing: Vec<(String, String)>) -> ConfigError {
    let parts: Vec<String> = missing.iter().map(|(key, hint)| format!("{key} ({hint})")).collect();
    let message = format!(
        "cannot serve external metrics (external_metrics_provider.enabled is true) without the Datadog \
         API and application keys; missing {}",
        parts.join(" and ")
    );
    ConfigError::MissingKeys { keys: missing.into_iter().map(|(key, _)| key).collect(), message }
}
