//! What the leader writes, computed without I/O (spec §9): placeholders merged into the stored
//! entries, one query per distinct (query, window), results turned into entries with the DCA's
//! validity rule, and the resulting set/delete [`Changes`] applied to ConfigMap data within the
//! size Kubernetes allows.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use super::entry::Entry;
use crate::external_metrics::datadogmetric::{QueryError, QueryErrorKind, QueryPoint, QueryResults, QuerySpec};

/// Kubernetes refuses a ConfigMap whose data and binaryData exceed 1 MiB in total.
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;

/// How entries are queried and judged.
#[derive(Debug, Clone)]
pub struct QueryRules {
    pub aggregator: String,
    pub rollup: Duration,
    /// The query window (`bucket_size`).
    pub window: Duration,
    /// max(`max_age`, 3 × `rollup`): an older point makes the entry invalid.
    pub max_age: Duration,
}

impl QueryRules {
    pub fn spec(&self, entry: &Entry) -> QuerySpec {
        QuerySpec { query: entry.query(&self.aggregator, self.rollup.as_secs()), window: self.window }
    }

    /// One spec per distinct query, in entry order.
    pub fn batch<'a>(&self, entries: impl IntoIterator<Item = &'a Entry>) -> Vec<QuerySpec> {
        let mut seen = HashSet::new();
        entries.into_iter().map(|entry| self.spec(entry)).filter(|spec| seen.insert(spec.clone())).collect()
    }
}

/// The stored entries plus the HPAs' placeholders for keys that are missing or whose labels or
/// autoscaler UID changed (`updateExternalMetrics`' merge of the local batch).
pub fn merge(stored: &BTreeMap<String, Entry>, desired: &BTreeMap<String, Entry>) -> BTreeMap<String, Entry> {
    let mut merged = stored.clone();
    for (key, placeholder) in desired {
        let replace = stored.get(key).is_none_or(|current| {
            current.labels != placeholder.labels || current.reference.uid != placeholder.reference.uid
        });
        if replace {
            merged.insert(key.clone(), placeholder.clone());
        }
    }
    merged
}

/// `UpdateExternalMetrics` for one entry at `now_s`: valid with the point's value and time when
/// the point is finite and at most `max_age` old; otherwise invalid with `ts` now (a failed API
/// call keeps the last value, a per-query failure stores 0, as the DCA does).
pub fn apply(entry: &Entry, result: Option<Result<QueryPoint, &QueryError>>, max_age: Duration, now_s: i64) -> Entry {
    let mut updated = entry.clone();
    let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    match result {
        Some(Ok(point)) if point.value.is_finite() && now_s.saturating_sub(point.timestamp_s) <= max_age => {
            updated.valid = true;
            updated.value = point.value;
            updated.timestamp = point.timestamp_s;
        }
        Some(Ok(point)) => {
            updated.valid = false;
            updated.value = if point.value.is_finite() { point.value } else { 0.0 };
            updated.timestamp = now_s;
        }
        Some(Err(error)) if matches!(error.kind, QueryErrorKind::Api | QueryErrorKind::RateLimited) => {
            updated.valid = false;
            updated.timestamp = now_s;
        }
        Some(Err(_)) | None => {
            updated.valid = false;
            updated.value = 0.0;
            updated.timestamp = now_s;
        }
    }
    updated
}

/// Every entry updated from `results`, logging why invalid ones are.
pub fn apply_all(
    entries: &BTreeMap<String, Entry>,
    rules: &QueryRules,
    results: &QueryResults,
    now_s: i64,
) -> BTreeMap<String, Entry> {
    let mut updated = BTreeMap::new();
    for (key, entry) in entries {
        let spec = rules.spec(entry);
        let result = results.get(&spec).map(|r| r.as_ref().copied());
        match &result {
            Some(Err(error)) => tracing::debug!(key, query = %spec.query, "external metric invalid: {}", error.message),
            None => tracing::debug!(key, query = %spec.query, "external metric invalid: missing from the reply"),
            Some(Ok(_)) => {}
        }
        updated.insert(key.clone(), apply(entry, result, rules.max_age, now_s));
    }
    updated
}

/// Items to set (key → stored JSON) and keys to delete, applied in one update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub set: BTreeMap<String, String>,
    pub delete: BTreeSet<String>,
}

impl Changes {
    pub fn setting(entries: &BTreeMap<String, Entry>) -> Self {
        let set = entries.iter().map(|(key, entry)| (key.clone(), entry.to_json())).collect();
        Changes { set, delete: BTreeSet::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "ConfigMap {configmap} would hold {bytes} bytes ({entries} items), above the {MAX_CONFIGMAP_BYTES} bytes Kubernetes allows; {dropped} new external metric entries were not written ({examples}): too many HPA metrics for the ConfigMap provider, use DatadogMetrics instead (external_metrics_provider.use_datadogmetric_crd: true)"
)]
pub struct TooLarge {
    pub configmap: String,
    pub bytes: usize,
    pub entries: usize,
    pub dropped: usize,
    pub examples: String,
}

/// `data` with `changes` applied. New keys that would push the ConfigMap over the size limit
/// are left out (the error names them); updates of existing keys are always applied unless the
/// result is still too large, which is an error with nothing applied.
pub fn apply_changes(
    data: &BTreeMap<String, String>,
    binary_bytes: usize,
    changes: &Changes,
    configmap: &str,
) -> (BTreeMap<String, String>, Option<TooLarge>) {
    let mut next = data.clone();
    for key in &changes.delete {
        next.remove(key);
    }
    let (existing, new): (Vec<_>, Vec<_>) = changes.set.iter().partition(|(key, _)| next.contains_key(*key));
    for (key, value) in existing {
        next.insert(key.clone(), value.clone());
    }
    let mut size = binary_bytes + next.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let mut dropped = Vec::new();
    for (key, value) in new {
        if size + key.len() + value.len() > MAX_CONFIGMAP_BYTES {
            dropped.push(key.clone());
            continue;
        }
        size += key.len() + value.len();
        next.insert(key.clone(), value.clone());
    }
    let too_large = |bytes: usize, entries: usize| TooLarge {
        configmap: configmap.to_owned(),
        bytes,
        entries,
        dropped: dropped.len(),
        examples: dropped.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
    };
    if size > MAX_CONFIGMAP_BYTES {
        return (data.clone(), Some(too_large(size, next.len())));
    }
    let error = (!dropped.is_empty()).then(|| {
        let wanted: usize = dropped.iter().map(|k| k.len() + changes.set[k].len()).sum();
        too_large(size + wanted, next.len() + dropped.len())
    });
    (next, error)
}
