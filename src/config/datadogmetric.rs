//! Typed accessors for the keys read by leader election and the DatadogMetric provider (spec §2,
//! §7, §13), beside the server's in `accessors`.

use super::{Settings, Value};

impl Settings {
    /// Release the leader lock on shutdown (`leader_election_release_on_shutdown`, default true).
    pub fn leader_election_release_on_shutdown(&self) -> bool {
        !matches!(self.get("leader_election_release_on_shutdown"), Some(Value::Bool(false)))
    }

    /// Autogen DatadogMetrics for HPAs using plain metric names (default true).
    pub fn datadogmetric_autogen_enabled(&self) -> bool {
        !matches!(self.get("external_metrics_provider.enable_datadogmetric_autogen"), Some(Value::Bool(false)))
    }

    /// The label selector HPAs must match to be considered (empty: every HPA).
    pub fn autoscaler_autogen_label_selector(&self) -> &str {
        match self.get("external_metrics_provider.autoscaler_autogen_label_selector") {
            Some(Value::Str(text)) => text.trim(),
            _ => "",
        }
    }

    /// When true, a `datadogmetric@ns:name` read is answered only for requests in namespace `ns`.
    pub fn enforce_namespace(&self) -> bool {
        matches!(self.get("external_metrics_provider.enforce_namespace"), Some(Value::Bool(true)))
    }
}
