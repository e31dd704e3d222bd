//! `CONTAINER_AUTOSCALING_VALUES`: Datadog's recommendations, the protojson `WorkloadValuesList`.
//! Manual values win over Auto ones; a missing timestamp is the receive time; missing replicas, a
//! duplicated resource, an unparsable quantity or a request above its limit discard the entry.
//! The vertical hash is [`stable_hash`] of the container resources (before constraints). Values for
//! a DPA the store does not hold are dropped; after an error-free update, DPAs not listed lose their
//! main values. A DPA with a custom recommender takes only the vertical part (its horizontal values
//! come from the external recommender).

use std::collections::HashSet;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{RawConfig, SENDER};
use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::{ContainerResources, ResourceList, RuntimeValues};
use crate::workload::hash::stable_hash;
use crate::workload::model::{
    DpaKey, HorizontalValues, InternalStore, PodAutoscalerInternal, ScalingValues, ValueSource, VerticalValues,
};
use crate::workload::recommender::custom_recommender;

/// A valid values entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ValuesItem {
    pub key: DpaKey,
    pub values: ScalingValues,
}

#[derive(Deserialize)]
struct WorkloadValuesList {
    #[serde(default)]
    values: Vec<Value>,
}

#[derive(Deserialize)]
struct WorkloadValues {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    error: Option<PayloadError>,
    #[serde(default)]
    horizontal: Option<Directional<HorizontalData>>,
    #[serde(default)]
    vertical: Option<Directional<VerticalData>>,
}

/// `Error{code, message}`.
#[derive(Deserialize, Debug)]
pub(crate) struct PayloadError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

impl PayloadError {
    /// The message (Datadog's `Error()` text), or the code when there is none.
    pub(crate) fn text(&self) -> String {
        match (&self.message, self.code) {
            (m, _) if !m.is_empty() => m.clone(),
            (_, Some(code)) => format!("error code {code}"),
            _ => "unknown error".into(),
        }
    }
}

/// `horizontal` / `vertical`: an error and Manual or Auto data (absent fields are `None`).
#[derive(Deserialize)]
struct Directional<T> {
    error: Option<PayloadError>,
    manual: Option<T>,
    auto: Option<T>,
}

#[derive(Deserialize)]
struct HorizontalData {
    #[serde(default)]
    timestamp: Option<ProtoTimestamp>,
    #[serde(default)]
    replicas: Option<i32>,
}

#[derive(Deserialize)]
struct VerticalData {
    #[serde(default)]
    timestamp: Option<ProtoTimestamp>,
    #[serde(default)]
    resources: Vec<PayloadContainer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadContainer {
    #[serde(alias = "container_name")]
    container_name: String,
    #[serde(default)]
    requests: Vec<PayloadResource>,
    #[serde(default)]
    limits: Vec<PayloadResource>,
    #[serde(default)]
    runtime: Option<RuntimeValues>,
}

#[derive(Deserialize)]
struct PayloadResource {
    name: String,
    value: String,
}

/// `google.protobuf.Timestamp` as protojson writes it (RFC 3339) or as Go's encoding/json does.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub(crate) enum ProtoTimestamp {
    Text(String),
    Parts {
        #[serde(default)]
        seconds: i64,
        #[serde(default)]
        nanos: i32,
    },
}

impl ProtoTimestamp {
    pub(crate) fn parse(&self) -> Result<Timestamp, String> {
        match self {
            ProtoTimestamp::Text(text) => text.parse().map_err(|e| format!("timestamp {text:?}: {e}")),
            ProtoTimestamp::Parts { seconds, nanos } => {
                Timestamp::new(*seconds, *nanos).map_err(|e| format!("timestamp {seconds}s {nanos}ns: {e}"))
            }
        }
    }
}

/// The valid entries of a VALUES config received at `received` and the errors of the others.
pub fn parse(config: &RawConfig, received: Timestamp) -> (Vec<ValuesItem>, Vec<String>) {
    let payload = match &config.payload {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![e.clone()]),
    };
    let list: WorkloadValuesList = match serde_json::from_value(payload.clone()) {
        Ok(l) => l,
        Err(e) => return (Vec::new(), vec![format!("not a WorkloadValuesList {{\"values\": [...]}}: {e}")]),
    };
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    for (i, entry) in list.values.into_iter().enumerate() {
        match entry_item(entry, received) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(format!("values[{i}]: {e}")),
        }
    }
    (items, errors)
}

fn entry_item(entry: Value, received: Timestamp) -> Result<ValuesItem, String> {
    let entry: WorkloadValues = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    if entry.namespace.is_empty() || entry.name.is_empty() {
        return Err("namespace and name are required".into());
    }
    let key = DpaKey::new(&entry.namespace, &entry.name);
    let values = scaling_values(&entry, received)
        .map_err(|e| format!("invalid scaling values for PodAutoscaler {key}, discarded: {e}"))?;
    Ok(ValuesItem { key, values })
}

fn scaling_values(entry: &WorkloadValues, received: Timestamp) -> Result<ScalingValues, String> {
    let mut values = ScalingValues { error: entry.error.as_ref().map(PayloadError::text), ..Default::default() };
    if let Some(h) = &entry.horizontal {
        values.horizontal_error = h.error.as_ref().map(PayloadError::text);
        values.horizontal = match (&h.manual, &h.auto) {
            (Some(data), _) => Some(horizontal(data, ValueSource::Manual, received)?),
            (None, Some(data)) => Some(horizontal(data, ValueSource::Autoscaling, received)?),
            (None, None) => None,
        };
    }
    if let Some(v) = &entry.vertical {
        values.vertical_error = v.error.as_ref().map(PayloadError::text);
        values.vertical = match (&v.manual, &v.auto) {
            (Some(data), _) => Some(vertical(data, ValueSource::Manual, received)?),
            (None, Some(data)) => Some(vertical(data, ValueSource::Autoscaling, received)?),
            (None, None) => None,
        };
    }
    Ok(values)
}

fn timestamp(ts: &Option<ProtoTimestamp>, received: Timestamp) -> Result<Timestamp, String> {
    ts.as_ref().map_or(Ok(received), ProtoTimestamp::parse)
}

fn horizontal(data: &HorizontalData, source: ValueSource, received: Timestamp) -> Result<HorizontalValues, String> {
    let timestamp = timestamp(&data.timestamp, received)?;
    let replicas = data.replicas.ok_or("horizontal replicas value is missing")?;
    if replicas < 0 {
        return Err(format!("horizontal replicas {replicas} is negative"));
    }
    Ok(HorizontalValues { source, timestamp, replicas })
}

fn vertical(data: &VerticalData, source: ValueSource, received: Timestamp) -> Result<VerticalValues, String> {
    let timestamp = timestamp(&data.timestamp, received)?;
    let resources = data.resources.iter().map(container).collect::<Result<Vec<_>, _>>()?;
    let hash = resources_hash(&resources);
    Ok(VerticalValues { source, timestamp, resources, hash })
}

/// The recommendation ID before constraints: [`stable_hash`] of the container resources.
pub fn resources_hash(resources: &[ContainerResources]) -> String {
    stable_hash(resources)
}

fn container(c: &PayloadContainer) -> Result<ContainerResources, String> {
    let at = |e: String| format!("container {}: {e}", c.container_name);
    let requests = resource_list(&c.requests).map_err(at)?;
    let limits = resource_list(&c.limits).map_err(at)?;
    for (name, request) in requests.iter().flatten() {
        if let Some(limit) = limits.as_ref().and_then(|l| l.get(name)) {
            let (r, l) = (milli_value(&request.0).unwrap_or(0), milli_value(&limit.0).unwrap_or(0));
            if r > l {
                return Err(at(format!("resource {name}: request {} is greater than limit {}", request.0, limit.0)));
            }
        }
    }
    let runtime = c.runtime.clone().filter(|r| r.gomemlimit.is_some());
    Ok(ContainerResources { name: c.container_name.clone(), requests, limits, runtime })
}

/// An absent or empty list is `None`.
fn resource_list(list: &[PayloadResource]) -> Result<Option<ResourceList>, String> {
    let mut out = ResourceList::new();
    for r in list {
        if out.contains_key(&r.name) {
            return Err(format!("resource {} is duplicated", r.name));
        }
        milli_value(&r.value).map_err(|e| format!("cannot parse resource {} value {:?}: {e}", r.name, r.value))?;
        out.insert(r.name.clone(), Quantity(r.value.clone()));
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Sets the main values of listed DPAs the store holds; when `full_set`, clears those not listed.
pub async fn apply(store: &InternalStore, items: &[ValuesItem], full_set: bool) {
    let mut listed = HashSet::with_capacity(items.len());
    for item in items {
        listed.insert(item.key.clone());
        let Some(entry) = store.get(&item.key) else {
            tracing::debug!(dpa = %item.key, "recommendation for a DPA not in the store: dropped");
            continue;
        };
        let mut dpa = entry.lock().await;
        let main = merged(&dpa, &item.values);
        if set_main(&mut dpa, main) {
            drop(dpa);
            store.notify(&item.key, SENDER);
        }
    }
    if !full_set {
        tracing::debug!("recommendation feed values had errors: values of DPAs not listed are kept");
        return;
    }
    for key in store.keys().into_iter().filter(|k| !listed.contains(k)) {
        let Some(entry) = store.get(&key) else { continue };
        let mut dpa = entry.lock().await;
        let main = merged(&dpa, &ScalingValues::default());
        if set_main(&mut dpa, main) {
            drop(dpa);
            store.notify(&key, SENDER);
        }
    }
}

/// The main values after receiving `values`: all of them, or only the vertical part for a DPA with
/// a custom recommender.
fn merged(dpa: &PodAutoscalerInternal, values: &ScalingValues) -> ScalingValues {
    if custom_recommender(dpa).is_none() {
        return values.clone();
    }
    ScalingValues {
        vertical: values.vertical.clone(),
        vertical_error: values.vertical_error.clone(),
        ..dpa.main.clone()
    }
}

fn set_main(dpa: &mut PodAutoscalerInternal, main: ScalingValues) -> bool {
    if dpa.main == main {
        return false;
    }
    dpa.main = main;
    true
}
