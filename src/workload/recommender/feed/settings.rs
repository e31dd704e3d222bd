//! `CONTAINER_AUTOSCALING_SETTINGS`: Remote DPA specs. Each entry upserts the internal DPA (spec
//! replaced, `remoteVersion` = [`VERSION_OFFSET`] + the config version, `settings_timestamp` when it
//! changed); after an error-free update, Remote DPAs no longer listed are marked `deleted`.

use std::collections::HashSet;

use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{RawConfig, SENDER};
use crate::workload::crd::{
    DatadogPodAutoscalerSpec, DatadogPodAutoscalerV1Alpha1, DatadogPodAutoscalerV1Alpha1Spec, Owner,
};
use crate::workload::gate::AutoscalingGate;
use crate::workload::model::{DpaKey, InternalStore, PodAutoscalerInternal};

/// Added to the config version to make `remoteVersion` (as the DCA does: the offset marks specs of
/// the v1alpha2 era, so CRs written from older versions are upgraded).
pub const VERSION_OFFSET: u64 = 1_000_000_000;

/// A valid settings entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingsItem {
    pub key: DpaKey,
    pub spec: DatadogPodAutoscalerSpec,
}

#[derive(Deserialize)]
struct SettingsList {
    #[serde(default)]
    settings: Vec<Value>,
}

#[derive(Deserialize)]
struct SettingsEntry {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    specs: Option<Specs>,
}

#[derive(Deserialize)]
struct Specs {
    #[serde(default)]
    v1alpha1: Option<Value>,
    #[serde(default)]
    v1alpha2: Option<Value>,
}

/// The valid entries of a SETTINGS config and the errors of the others.
pub fn parse(config: &RawConfig) -> (Vec<SettingsItem>, Vec<String>) {
    let payload = match &config.payload {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![e.clone()]),
    };
    let list: SettingsList = match serde_json::from_value(payload.clone()) {
        Ok(l) => l,
        Err(e) => return (Vec::new(), vec![format!("not a settings list {{\"settings\": [...]}}: {e}")]),
    };
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    for (i, entry) in list.settings.into_iter().enumerate() {
        match entry_item(entry, config.version) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(format!("settings[{i}]: {e}")),
        }
    }
    (items, errors)
}

fn entry_item(entry: Value, version: u64) -> Result<SettingsItem, String> {
    let entry: SettingsEntry = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    if entry.namespace.is_empty() || entry.name.is_empty() {
        return Err("namespace and name are required".into());
    }
    let id = format!("{}/{}", entry.namespace, entry.name);
    let mut spec = resolve_spec(&entry).map_err(|e| format!("PodAutoscaler {id}: {e}"))?;
    spec.remote_version = Some(VERSION_OFFSET.saturating_add(version));
    Ok(SettingsItem { key: DpaKey::new(entry.namespace, entry.name), spec })
}

/// `specs.v1alpha2`, else `specs.v1alpha1`, else the legacy `spec` (v1alpha1 when it uses
/// v1alpha1-only fields, v1alpha2 otherwise — the two agree on the remaining fields).
fn resolve_spec(entry: &SettingsEntry) -> Result<DatadogPodAutoscalerSpec, String> {
    let specs = entry.specs.as_ref();
    if let Some(v2) = specs.and_then(|s| s.v1alpha2.as_ref()) {
        return v1alpha2(v2).map_err(|e| format!("specs.v1alpha2: {e}"));
    }
    if let Some(v1) = specs.and_then(|s| s.v1alpha1.as_ref()) {
        return v1alpha1(entry, v1).map_err(|e| format!("specs.v1alpha1: {e}"));
    }
    match &entry.spec {
        Some(spec) if spec.get("policy").is_some() || spec.get("targets").is_some() => {
            v1alpha1(entry, spec).map_err(|e| format!("spec: {e}"))
        }
        Some(spec) => v1alpha2(spec).map_err(|e| format!("spec: {e}")),
        None => Err("spec is required (specs.v1alpha2, specs.v1alpha1 or spec)".into()),
    }
}

fn v1alpha2(spec: &Value) -> Result<DatadogPodAutoscalerSpec, String> {
    serde_json::from_value(spec.clone()).map_err(|e| e.to_string())
}

fn v1alpha1(entry: &SettingsEntry, spec: &Value) -> Result<DatadogPodAutoscalerSpec, String> {
    let spec: DatadogPodAutoscalerV1Alpha1Spec = serde_json::from_value(spec.clone()).map_err(|e| e.to_string())?;
    let mut object = DatadogPodAutoscalerV1Alpha1 { spec: Some(spec), ..Default::default() };
    object.metadata.namespace = Some(entry.namespace.clone());
    object.metadata.name = Some(entry.name.clone());
    object.to_v1alpha2().map(|o| o.spec).map_err(|e| e.to_string())
}

/// Upserts every item; when `full_set` (no config had an error), marks Remote DPAs not listed as
/// deleted. A Local DPA of the same name keeps its Kubernetes spec.
pub async fn apply(
    store: &InternalStore,
    gate: Option<&AutoscalingGate>,
    items: &[SettingsItem],
    full_set: bool,
    now: Timestamp,
) {
    let mut listed = HashSet::with_capacity(items.len());
    for item in items {
        listed.insert(item.key.clone());
        if upsert(store, item, now).await {
            store.notify(&item.key, SENDER);
        }
        if let Some(gate) = gate {
            gate.open(&format!("Remote DatadogPodAutoscaler {} from the recommendation feed", item.key));
        }
    }
    if !full_set {
        tracing::debug!("recommendation feed settings had errors: Remote DPAs not listed are kept");
        return;
    }
    for key in store.keys().into_iter().filter(|k| !listed.contains(k)) {
        let Some(entry) = store.get(&key) else { continue };
        let mut dpa = entry.lock().await;
        if dpa.spec.owner == Owner::Remote && !dpa.deleted {
            tracing::info!(dpa = %key, "Remote DatadogPodAutoscaler no longer in the feed: marked deleted");
            dpa.deleted = true;
            drop(dpa);
            store.notify(&key, SENDER);
        }
    }
}

/// True when the store changed.
async fn upsert(store: &InternalStore, item: &SettingsItem, now: Timestamp) -> bool {
    let (ns, name) = (&item.key.namespace, &item.key.name);
    let mut created = false;
    let entry = store.get_or_insert_with(&item.key, || {
        created = true;
        let mut dpa = PodAutoscalerInternal::new(ns, name, item.spec.clone(), now);
        dpa.settings_timestamp = Some(now);
        dpa
    });
    if created {
        return true;
    }
    let mut dpa = entry.lock().await;
    if dpa.spec.owner == Owner::Local {
        tracing::warn!(dpa = %item.key, "the recommendation feed names a Local DatadogPodAutoscaler: ignored");
        return false;
    }
    if dpa.spec == item.spec && !dpa.deleted {
        return false;
    }
    if dpa.spec != item.spec {
        dpa.spec = item.spec.clone();
        dpa.target_gvk = None;
        dpa.settings_timestamp = Some(now);
    }
    dpa.deleted = false;
    true
}
