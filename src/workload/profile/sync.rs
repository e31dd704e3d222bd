//! The leader's writes: managed DPAs created, updated (template hash changed) and deleted to match
//! the desired state, profile statuses written when they change, built-in profiles kept. Every write
//! checks leadership first; a failed write is logged naming the object and retried on the next
//! pass. Results of our own writes go straight into the state so the next pass does not repeat them.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};

use super::super::context::Context;
use super::super::crd::{DatadogPodAutoscalerTemplate, TargetRef};
use super::super::dpa_store::{DpaStore, TargetKey};
use super::super::model::DpaKey;
use super::state::{Desired, ManagedDpa};
use super::validate::spec_from_template;
use super::watches::{Shared, dpas_api, profiles_api};
use super::{HASH_ANNOTATION, PREVIEW_ANNOTATION, PROFILE_LABEL, status};

/// The DPA object a profile makes for a workload.
pub fn dpa_object(key: &DpaKey, d: &Desired, template: &DatadogPodAutoscalerTemplate) -> Value {
    let mut annotations = Map::new();
    annotations.insert(HASH_ANNOTATION.into(), json!(d.hash));
    if let Some(p) = &d.preview {
        annotations.insert(PREVIEW_ANNOTATION.into(), json!(p));
    }
    json!({
        "apiVersion": "datadoghq.com/v1alpha2",
        "kind": "DatadogPodAutoscaler",
        "metadata": {"name": key.name, "namespace": key.namespace,
            "labels": {PROFILE_LABEL: d.profile}, "annotations": annotations},
        "spec": spec_of(d, template),
    })
}

fn spec_of(d: &Desired, template: &DatadogPodAutoscalerTemplate) -> Value {
    let target = TargetRef {
        api_version: Some(d.workload.kind.api_version().into()),
        kind: d.workload.kind.kind().into(),
        name: d.workload.name.clone(),
    };
    serde_json::to_value(spec_from_template(template, target)).unwrap_or_default()
}

/// The JSON merge patch (RFC 7386) turning `old` into `new`: changed keys set, vanished keys null.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov @ Value::Object(_)) if nv.is_object() => {
                        out.insert(k.clone(), merge_diff(ov, nv));
                    }
                    _ => {
                        out.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

/// The merge patch updating a managed DPA to `d`.
pub fn update_patch(current: &ManagedDpa, d: &Desired, template: &DatadogPodAutoscalerTemplate) -> Value {
    let preview = d.preview.as_ref().map_or(Value::Null, |p| json!(p));
    json!({
        "metadata": {"labels": {PROFILE_LABEL: d.profile},
            "annotations": {HASH_ANNOTATION: d.hash, PREVIEW_ANNOTATION: preview}},
        "spec": merge_diff(&current.spec, &spec_of(d, template)),
    })
}

fn up_to_date(current: &ManagedDpa, d: &Desired) -> bool {
    current.profile == d.profile && current.hash.as_deref() == Some(d.hash.as_str()) && current.preview == d.preview
}

/// A user's DPA (another name) already targets the workload: the profile steps aside.
fn conflicting_user_dpa(dpas: Option<&DpaStore>, key: &DpaKey, d: &Desired) -> Option<String> {
    let target =
        TargetKey::new(&d.workload.namespace, d.workload.kind.api_version(), d.workload.kind.kind(), &d.workload.name);
    dpas?.for_target(&target).into_iter().find(|e| e.name != key.name).map(|e| e.id())
}

/// Managed DPAs to match the desired state (leader, state ready).
pub async fn managed_dpas(ctx: &Context, shared: &Shared, dpas: Option<&DpaStore>) {
    let (mut desired, managed, templates) = {
        let s = shared.state.lock();
        let templates: BTreeMap<String, DatadogPodAutoscalerTemplate> =
            s.profiles.iter().map(|(n, p)| (n.clone(), p.template.clone())).collect();
        (s.desired(), s.managed.clone(), templates)
    };
    desired.retain(|key, d| match conflicting_user_dpa(dpas, key, d) {
        Some(user) => {
            tracing::debug!(dpa = %key, workload = %d.workload, %user, "workload has its own DPA; profile steps aside");
            false
        }
        None => true,
    });
    for (key, current) in managed.iter().filter(|(k, _)| !desired.contains_key(k)) {
        if !ctx.is_leader() {
            return;
        }
        let api = dpas_api(ctx.client.clone(), &key.namespace);
        match api.delete(&key.name, &DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(dpa = %key, profile = %current.profile, "profile-managed DPA no longer wanted: deleted")
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!(dpa = %key, error = %e, "could not delete profile-managed DatadogPodAutoscaler");
                continue;
            }
        }
        shared.state.lock().managed.remove(key);
    }
    for (key, d) in &desired {
        let Some(template) = templates.get(&d.profile) else { continue };
        if managed.get(key).is_some_and(|m| up_to_date(m, d)) {
            continue;
        }
        if !ctx.is_leader() {
            return;
        }
        let api = dpas_api(ctx.client.clone(), &key.namespace);
        let result = match managed.get(key) {
            Some(current) => {
                let patch = update_patch(current, d, template);
                api.patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(|o| (o, "updated"))
            }
            None => {
                let obj: DynamicObject = match serde_json::from_value(dpa_object(key, d, template)) {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(dpa = %key, error = %e, "cannot build the profile-managed DPA");
                        continue;
                    }
                };
                api.create(&PostParams::default(), &obj).await.map(|o| (o, "created"))
            }
        };
        match result {
            Ok((obj, what)) => {
                tracing::info!(dpa = %key, workload = %d.workload, profile = %d.profile, "profile-managed DPA {what}");
                if let Some((k, m)) = ManagedDpa::from_object(&obj) {
                    shared.state.lock().managed.insert(k, m);
                }
            }
            Err(kube::Error::Api(s)) if s.code == 409 && !managed.contains_key(key) => {
                tracing::debug!(dpa = %key, "a DPA of that name exists without the profile label; left alone");
            }
            Err(e) => tracing::warn!(
                dpa = %key, workload = %d.workload, profile = %d.profile, error = %e,
                "could not write the profile-managed DatadogPodAutoscaler"
            ),
        }
    }
}

/// Profile statuses (leader, state ready): written when they differ from the stored ones.
pub async fn profile_statuses(ctx: &Context, shared: &Shared) {
    let now = Timestamp::now();
    let wanted: Vec<(String, _, _)> = {
        let s = shared.state.lock();
        let controlled = s.controlled();
        s.profiles
            .values()
            .map(|p| {
                (p.name.clone(), status::build(p, controlled.get(&p.name).copied().unwrap_or(0), now), p.status.clone())
            })
            .filter(|(_, new, old)| new != old)
            .collect()
    };
    let api = profiles_api(ctx.client.clone());
    for (name, new, _) in wanted {
        if !ctx.is_leader() {
            return;
        }
        let patch = json!({"status": new});
        match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                if let Some(p) = shared.state.lock().profiles.get_mut(&name) {
                    p.status = new;
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!(profile = %name, error = %e, "could not write the DatadogPodAutoscalerClusterProfile status")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::profile::naming::{WorkloadKind, WorkloadRef};

    #[test]
    fn merge_diff_sets_changes_and_nulls_removals() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "gone": true});
        let new = json!({"a": 1, "b": {"c": 5}, "e": [2], "added": "x"});
        let patch = merge_diff(&old, &new);
        assert_eq!(patch, json!({"b": {"c": 5, "d": null}, "e": [2], "added": "x", "gone": null}));
        let mut applied = old.clone();
        json_patch::merge(&mut applied, &patch);
        assert_eq!(applied, new);
    }

    fn desired(preview: Option<&str>) -> Desired {
        Desired {
            profile: "p".into(),
            workload: WorkloadRef::new(WorkloadKind::StatefulSet, "ns", "db"),
            hash: "h1".into(),
            preview: preview.map(str::to_string),
        }
    }

    #[test]
    fn managed_dpas_carry_label_annotations_target_and_template() {
        let template: DatadogPodAutoscalerTemplate =
            serde_json::from_value(json!({"constraints": {"minReplicas": 2}})).unwrap();
        let key = DpaKey::new("ns", "db-1234abcd");
        let obj = dpa_object(&key, &desired(Some(r#"{"burstable":true}"#)), &template);
        assert_eq!(obj["metadata"]["labels"][PROFILE_LABEL], "p");
        assert_eq!(obj["metadata"]["annotations"][HASH_ANNOTATION], "h1");
        assert_eq!(obj["metadata"]["annotations"][PREVIEW_ANNOTATION], r#"{"burstable":true}"#);
        assert_eq!(obj["spec"]["owner"], "Local");
        assert_eq!(obj["spec"]["targetRef"], json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}));
        assert_eq!(obj["spec"]["constraints"], json!({"minReplicas": 2}));
        assert!(
            dpa_object(&key, &desired(None), &template)["metadata"]["annotations"].get(PREVIEW_ANNOTATION).is_none()
        );

        let current = ManagedDpa::from_object(&serde_json::from_value(obj).unwrap()).unwrap().1;
        assert!(!up_to_date(&current, &desired(None)), "dropping the preview annotation is a change");
        let other: DatadogPodAutoscalerTemplate =
            serde_json::from_value(json!({"constraints": {"maxReplicas": 9}})).unwrap();
        let patch = update_patch(&current, &desired(None), &other);
        assert_eq!(patch["metadata"]["annotations"][PREVIEW_ANNOTATION], Value::Null);
        assert_eq!(patch["spec"], json!({"constraints": {"minReplicas": null, "maxReplicas": 9}}));
    }
}
