//! What the HPA controller needs from the cluster, behind a trait so the sync logic runs against
//! devcluster over HTTP (`http.rs`) or an in-process fake in tests.

use serde_json::Value;

use super::super::selector::LabelSelector;

/// The target's `autoscaling/v1` Scale and the resource path it was read through.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub object: Value,
    /// `<group>/<version>/<plural>` used for the scale subresource (group empty for core).
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl Scale {
    pub fn spec_replicas(&self) -> i32 {
        int(&self.object["spec"]["replicas"])
    }

    pub fn status_replicas(&self) -> i32 {
        int(&self.object["status"]["replicas"])
    }

    pub fn selector(&self) -> &str {
        self.object["status"]["selector"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
}

fn int(v: &Value) -> i32 {
    v.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
}

/// core/v1 Event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// The cluster as the HPA controller sees it. Errors are the `error.Error()` text client-go
/// would return (a Status message, or its generic text).
#[allow(async_fn_in_trait)] // implemented and awaited only inside this crate
pub trait HpaApi {
    /// GET `<group>/<version>/namespaces/<ns>/<kind's plural>/<name>/scale`.
    async fn get_scale(&self, ns: &str, group: &str, version: &str, kind: &str, name: &str) -> Result<Scale, String>;
    /// PUT the scale back with `spec.replicas` changed.
    async fn update_scale(&self, ns: &str, scale: &Scale, replicas: i32) -> Result<(), String>;
    /// GET `/apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=<selector>`:
    /// the items' values as milli-units.
    async fn external_metric(&self, ns: &str, metric: &str, selector: &str) -> Result<Vec<i64>, String>;
    /// Pods of `ns` matching `selector` (the informer's lister).
    fn pods(&self, ns: &str, selector: &LabelSelector) -> Vec<Value>;
    /// PUT `horizontalpodautoscalers/<name>/status` with this object.
    async fn update_status(&self, hpa: &Value) -> Result<(), String>;
    /// Records an Event about the HPA (failures are logged, as the event recorder does).
    async fn record_event(&self, hpa: &Value, type_: EventType, reason: &str, message: &str);
}
