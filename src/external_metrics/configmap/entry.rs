//! The DCA's ConfigMap entry format (spec §9), byte for byte so a DCA and this server can share
//! the ConfigMap: key `external_metric-<type>-<namespace>-<name>-<metricName>`, value the JSON of
//! Go's `custommetrics.ExternalMetricValue` (fields in declaration order, `labels` null when the
//! HPA has no `matchLabels`, floats as encoding/json writes them).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::external_metrics::datadogmetric::autogen_query;

/// Keys not starting with this are not ours and are left alone.
pub const KEY_PREFIX: &str = "external_metric";
/// Annotation set to the RFC 3339 time of every write.
pub const LAST_UPDATED_ANNOTATION: &str = "custom-metrics.datadoghq.com/last-updated";
/// `reference.type` of an HPA entry (`watermark` is a WatermarkPodAutoscaler's).
pub const HORIZONTAL: &str = "horizontal";

/// Who an entry is for (Go `ObjectReference`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ObjectReference {
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub namespace: String,
    #[serde(default, deserialize_with = "null_default")]
    pub uid: String,
}

/// One external metric of one autoscaler (Go `ExternalMetricValue`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Entry {
    #[serde(rename = "metricName", default, deserialize_with = "null_default")]
    pub metric_name: String,
    /// `None` is Go's nil map (`null`): the HPA had no `matchLabels`.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Unix seconds: the point's time when valid, the time of the last attempt otherwise.
    #[serde(rename = "ts", default, deserialize_with = "null_default")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub reference: ObjectReference,
    #[serde(default, deserialize_with = "null_default")]
    pub value: f64,
    #[serde(default, deserialize_with = "null_default")]
    pub valid: bool,
}

/// What a ConfigMap key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Current(Entry),
    /// The pre-`reference` format (no `reference.type`): invalid, deleted by the leader.
    Deprecated,
    /// Not decodable; the text says why.
    Corrupt(String),
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl Entry {
    /// A placeholder for a metric an autoscaler just started using: value 0, invalid, `ts` now.
    pub fn placeholder(
        metric_name: &str,
        labels: Option<BTreeMap<String, String>>,
        reference: ObjectReference,
        now_s: i64,
    ) -> Self {
        Entry { metric_name: metric_name.to_owned(), labels, timestamp: now_s, reference, value: 0.0, valid: false }
    }

    /// `external_metric-<type>-<namespace>-<name>-<metricName>` (case kept).
    pub fn key(&self) -> String {
        let r = &self.reference;
        [KEY_PREFIX, &r.kind, &r.namespace, &r.name, &self.metric_name].join("-")
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    /// The Datadog query for this entry: `<aggregator>:<metric>{<k:v,...>|*}.rollup(<s>)`.
    pub fn query(&self, aggregator: &str, rollup_seconds: u64) -> String {
        autogen_query(aggregator, rollup_seconds, &self.metric_name, self.labels())
    }

    /// The value stored in the ConfigMap, as Go's `json.Marshal` writes it.
    pub fn to_json(&self) -> String {
        let text = |s: &str| serde_json::Value::from(s).to_string();
        let labels = match &self.labels {
            None => "null".to_owned(),
            Some(map) => {
                let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{}:{}", text(k), text(v))).collect();
                format!("{{{}}}", pairs.join(","))
            }
        };
        let r = &self.reference;
        format!(
            r#"{{"metricName":{},"labels":{labels},"ts":{},"reference":{{"type":{},"name":{},"namespace":{},"uid":{}}},"value":{},"valid":{}}}"#,
            text(&self.metric_name),
            self.timestamp,
            text(&r.kind),
            text(&r.name),
            text(&r.namespace),
            text(&r.uid),
            go_json_float(self.value),
            self.valid,
        )
    }
}

/// Reads one ConfigMap item; `None` for keys that are not external metrics.
pub fn parse(key: &str, value: &str) -> Option<Parsed> {
    if !key.starts_with(KEY_PREFIX) {
        return None;
    }
    Some(match serde_json::from_str::<Entry>(value) {
        Ok(entry) if entry.reference.kind.is_empty() => Parsed::Deprecated,
        Ok(entry) if !entry.value.is_finite() => Parsed::Corrupt(format!("value {} is not a number", entry.value)),
        Ok(entry) => Parsed::Current(entry),
        Err(e) => Parsed::Corrupt(e.to_string()),
    })
}

/// Datadog's metric naming rule the DCA applies to HPA metric names: `^[a-zA-Z][a-zA-Z0-9_.]{0,199}$`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_ok && name.len() <= 200 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// encoding/json's float64: plain decimal for 1e-6 ≤ |f| < 1e21 (and 0), else exponent form
/// with a sign and at least one digit (`1e+21`, `1e-7`). Non-finite values are never stored.
pub fn go_json_float(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-6..1e21).contains(&magnitude) {
        return format!("{value}");
    }
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}e+{exponent}"),
        _ => text,
    }
}

/// Go leaves a field at its zero value for `null`; serde would refuse it.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
