//! The HPAs, as the legacy AutoscalersController sees them (spec §9): a reflector on every
//! replica (read by the leader only), each autoscaling/v2 HPA's External metrics turned into the
//! entries it needs, and the GC rule for entries whose HPA is gone or no longer uses them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

pub use crate::external_metrics::hpa_index::HpaIndex;

use super::entry::{Entry, HORIZONTAL, ObjectReference, is_valid_metric_name};

/// `InspectHPA`: one placeholder per External metric with a valid Datadog metric name
/// (others are logged and skipped), labels from its selector's `matchLabels`.
pub fn inspect(hpa: &HorizontalPodAutoscaler, now_s: i64) -> Vec<Entry> {
    let namespace = hpa.metadata.namespace.as_deref().unwrap_or_default();
    let name = hpa.metadata.name.as_deref().unwrap_or_default();
    let reference = ObjectReference {
        kind: HORIZONTAL.to_owned(),
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        uid: hpa.metadata.uid.clone().unwrap_or_default(),
    };
    let metrics = hpa.spec.as_ref().and_then(|spec| spec.metrics.as_ref());
    let mut entries = Vec::new();
    for metric in metrics.into_iter().flatten().filter(|m| m.type_ == "External") {
        let Some(external) = metric.external.as_ref() else {
            tracing::warn!("missing required \"external\" section in HPA {namespace}/{name}, skipping it");
            continue;
        };
        let metric_name = &external.metric.name;
        if !is_valid_metric_name(metric_name) {
            // datadogmetric@ references belong to the DatadogMetric provider; others are typos.
            tracing::debug!(
                "HPA {namespace}/{name}: metric name {metric_name:?} is not a Datadog metric name, skipping it"
            );
            continue;
        }
        let labels = external.metric.selector.as_ref().and_then(|s| s.match_labels.clone());
        entries.push(Entry::placeholder(metric_name, labels, reference.clone(), now_s));
    }
    entries
}

/// Every entry the HPAs need, by key.
pub fn desired(hpas: &[Arc<HorizontalPodAutoscaler>], now_s: i64) -> BTreeMap<String, Entry> {
    hpas.iter().flat_map(|hpa| inspect(hpa, now_s)).map(|entry| (entry.key(), entry)).collect()
}

/// `DiffExternalMetrics`: keys of entries whose autoscaler UID is not a current HPA's, or whose
/// HPA no longer has that metric with those labels.
pub fn stale_keys<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a Entry)>,
    hpas: &[Arc<HorizontalPodAutoscaler>],
) -> Vec<String> {
    let by_uid: HashMap<&str, Vec<Entry>> =
        hpas.iter().filter_map(|hpa| Some((hpa.metadata.uid.as_deref()?, inspect(hpa, 0)))).collect();
    let still_used = |entry: &Entry| {
        by_uid.get(entry.reference.uid.as_str()).is_some_and(|used| {
            used.iter().any(|m| {
                m.metric_name == entry.metric_name
                    && m.labels == entry.labels
                    && m.reference.kind == entry.reference.kind
            })
        })
    };
    entries.into_iter().filter(|(_, entry)| !still_used(entry)).map(|(key, _)| key.clone()).collect()
}
