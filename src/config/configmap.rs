//! Typed accessors for the keys read by the legacy ConfigMap provider (spec §9, §13).

use std::time::Duration;

use super::{Settings, Value};

impl Settings {
    /// The ConfigMap holding the external metrics (`hpa_configmap_name`).
    pub fn hpa_configmap_name(&self) -> &str {
        match self.get("hpa_configmap_name") {
            Some(Value::Str(text)) if !text.trim().is_empty() => text.trim(),
            _ => "datadog-custom-metrics",
        }
    }

    /// Reads fail once the last good read of the ConfigMap is older than twice this.
    pub fn local_copy_refresh_rate(&self) -> Duration {
        self.duration_or("external_metrics_provider.local_copy_refresh_rate", 30)
    }

    /// How often new HPA entries are pushed to the ConfigMap between refreshes.
    pub fn configmap_batch_window(&self) -> Duration {
        self.duration_or("external_metrics_provider.batch_window", 10)
    }

    /// How often entries whose HPA is gone are deleted (`hpa_watcher_gc_period`).
    pub fn hpa_watcher_gc_period(&self) -> Duration {
        self.duration_or("hpa_watcher_gc_period", 300)
    }

    fn duration_or(&self, key: &str, default_seconds: u64) -> Duration {
        match self.get(key) {
            Some(Value::Duration(duration)) => *duration,
            _ => Duration::from_secs(default_seconds),
        }
    }
}
