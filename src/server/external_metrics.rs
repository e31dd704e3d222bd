//! The external metrics API (`external.metrics.k8s.io/v1beta1`): wire types (k8s-openapi has none)
//! and the provider seam the HTTP layer reads from. Providers answer from in-memory state only.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use crate::apimachinery::selector::LabelSelector;
use crate::apimachinery::status::ApiError;

pub const GROUP: &str = "external.metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
pub const GROUP_VERSION: &str = "external.metrics.k8s.io/v1beta1";
/// `/apis/<group>/<version>/namespaces/`: every metric read starts with it.
pub const NAMESPACES_PREFIX: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/";
pub const GROUP_PATH: &str = "/apis/external.metrics.k8s.io";
pub const GROUP_VERSION_PATH: &str = "/apis/external.metrics.k8s.io/v1beta1";

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn paths_agree_with_group_and_version() {
        assert_eq!(NAMESPACES_PREFIX, format!("/apis/{GROUP}/{VERSION}/namespaces/"));
        assert_eq!(GROUP_PATH, format!("/apis/{GROUP}"));
        assert_eq!(GROUP_VERSION_PATH, format!("/apis/{GROUP_VERSION}"));
    }

    #[test]
    fn metric_names_are_lowercased_and_borrowed_when_they_already_are() {
        let long = "datadogmetric@some-namespace:a-rather-long-metric-name-0123456789";
        assert!(matches!(lowercase_metric(long), Cow::Borrowed(n) if n == long));
        for (name, lower) in [
            ("datadogmetric@ns:Web", "datadogmetric@ns:web"),
            ("Datadogmetric@some-namespace:a-rather-long-metric-name-0123456789", long),
            ("été", "été"),
            ("ÉTÉ-x", "été-x"),
            ("", ""),
        ] {
            assert_eq!(lowercase_metric(name), lower, "{name}");
        }
        assert!(matches!(lowercase_metric(""), Cow::Borrowed("")));
    }
}

/// One value of an external metric (k8s.io/metrics external_metrics/v1beta1 ExternalMetricValue).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValue {
    pub metric_name: String,
    /// `null` in DatadogMetric mode, as the DCA sends it.
    pub metric_labels: Option<BTreeMap<String, String>>,
    /// RFC 3339.
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<i64>,
    /// A Quantity string (see `format_quantity`).
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValueList {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub metadata: serde_json::Value,
    pub items: Vec<ExternalMetricValue>,
}

impl ExternalMetricValueList {
    pub fn new(items: Vec<ExternalMetricValue>) -> Self {
        ExternalMetricValueList {
            kind: "ExternalMetricValueList",
            api_version: GROUP_VERSION,
            metadata: serde_json::json!({}),
            items,
        }
    }

    /// The list as JSON, serialised straight into one buffer sized for a typical reply (one item
    /// is ~220 bytes): the bytes every metric read answers with.
    pub fn to_json(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(512);
        if serde_json::to_writer(&mut buf, self).is_err() {
            buf = b"{}".to_vec();
        }
        buf
    }
}

/// Why a provider could not answer; mapped to a Status like the DCA does.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The metric name resolves to nothing the provider knows.
    #[error("{0}")]
    NotFound(String),
    /// Known but unusable (invalid query, stale value): the stored text, as the DCA returns it.
    #[error("{0}")]
    Unavailable(String),
}

impl ProviderError {
    /// Unknown metric → 404 NotFound; invalid/stale → 500 InternalError "Internal error occurred: <text>".
    pub fn to_status(&self, metric: &str) -> ApiError {
        match self {
            ProviderError::NotFound(text) => ApiError::new(404, "NotFound", text.clone())
                .with_details(serde_json::json!({"name": metric, "group": GROUP, "kind": metric})),
            ProviderError::Unavailable(text) => ApiError::internal(text.clone()),
        }
    }
}

/// A metric name as reads match it: lower-cased (`str::to_lowercase`), borrowed when it is
/// lowercase ASCII already (the usual case, on every read).
pub fn lowercase_metric(name: &str) -> Cow<'_, str> {
    // One pass without an early exit (LLVM vectorises it): any byte outside lowercase ASCII.
    if !name.bytes().fold(false, |found, b| found | !b.is_ascii() | b.is_ascii_uppercase()) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.to_lowercase())
    }
}

/// What the HTTP layer asks; implementations read in-memory snapshots and never call out.
pub trait MetricsProvider: Send + Sync {
    fn get(
        &self,
        namespace: &str,
        metric: &str,
        selector: &LabelSelector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError>;

    /// The serialised [`ExternalMetricValueList`] of [`MetricsProvider::get`]'s values: what a
    /// metric read answers with. Providers that keep replies serialised return them here; the
    /// bytes must be what the default makes.
    fn get_reply(&self, namespace: &str, metric: &str, selector: &LabelSelector) -> Result<Bytes, ProviderError> {
        let items = self.get(namespace, metric, selector)?;
        Ok(Bytes::from(ExternalMetricValueList::new(items).to_json()))
    }
}

/// What `serve` answers with until the DatadogMetric and ConfigMap providers exist (issue #5):
/// every metric read is a 500 InternalError saying so, as the DCA answers when its provider could
/// not be created. Never used by tests as a stand-in for a provider.
pub struct ProviderNotBuilt;

impl MetricsProvider for ProviderNotBuilt {
    fn get(
        &self,
        _namespace: &str,
        metric: &str,
        _selector: &LabelSelector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        Err(ProviderError::Unavailable(format!(
            "no external metrics provider in this build: cannot resolve {metric} (the DatadogMetric and ConfigMap providers are not implemented yet)"
        )))
    }
}
