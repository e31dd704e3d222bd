//! PodDisruptionBudgets: the disruption controller's status (expectedPods, desiredHealthy,
//! currentHealthy, disruptionsAllowed, the DisruptionAllowed condition) and the eviction check
//! kube-apiserver makes against it.
//!
//! The eviction check recomputes the budget from the current pods instead of trusting a status the
//! controller may not have written yet (kube answers "still being processed" then): the outcome is
//! the one kube reaches once its controller caught up, without a race in tests.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::super::Cluster;
use super::super::meta::now_rfc3339;
use super::super::ops::WriteOptions;
use super::super::registry::ResourceType;
use super::super::selector::LabelSelector;
use super::super::status::{ApiError, ApiResult};
use super::super::store::ObjectKey;
use super::Workloads;
use super::podview::PodView;
use super::rollout::scaled_value;

/// Evictions recorded in `disruptedPods` stop counting against the budget after this long.
const DISRUPTED_TTL_SECS: i64 = 120;

pub async fn reconcile(w: &mut Workloads, ns: &str) -> ApiResult<()> {
    for pdb in budgets(&w.cluster, &w.types.pdbs, ns) {
        let status = compute(&w.cluster, &pdb);
        if pdb["status"] != status {
            write(&w.cluster, &w.types.pdbs, &pdb, status, "kube-controller-manager")?;
        }
    }
    Ok(())
}

fn budgets(c: &Cluster, rt: &ResourceType, ns: &str) -> Vec<Value> {
    let (_, table) = c.store.snapshot(&rt.table);
    table.range(ObjectKey::new(ns, "")..).take_while(|(k, _)| k.namespace == ns).map(|(_, s)| s.value()).collect()
}

fn write(c: &Cluster, rt: &ResourceType, pdb: &Value, status: Value, manager: &str) -> ApiResult<()> {
    let mut next = pdb.clone();
    next["status"] = status;
    let ns = pdb["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pdb["metadata"]["name"].as_str().unwrap_or_default();
    let opts = WriteOptions { field_manager: manager.into(), subresource: Some("status".into()), ..Default::default() };
    c.op_update(rt, ns, name, next, &opts).map(|_| ())
}

/// The pods a budget selects (a null selector selects none, an empty one all of the namespace).
fn selected(c: &Cluster, pdb: &Value) -> Vec<PodView> {
    let sel = &pdb["spec"]["selector"];
    let Some(selector) = (!sel.is_null()).then(|| LabelSelector::from_json(sel).ok()).flatten() else {
        return Vec::new();
    };
    let Some(pods) = c.registry.lookup("", "v1", "pods") else { return Vec::new() };
    let ns = pdb["metadata"]["namespace"].as_str().unwrap_or_default();
    let (_, table) = c.store.snapshot(&pods.table);
    table
        .range(ObjectKey::new(ns, "")..)
        .take_while(|(k, _)| k.namespace == ns)
        .filter(|(_, s)| selector.matches(&s.labels))
        .map(|(_, s)| PodView::of(s.clone()))
        .collect()
}

/// The summed scale of the pods' controllers (`getExpectedScale`).
fn expected_scale(c: &Cluster, ns: &str, pods: &[PodView]) -> Result<i64, String> {
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for p in pods {
        let Some(owner) = p.stored.owners.iter().find(|o| matches!(o.kind.as_str(), "ReplicaSet" | "StatefulSet"))
        else {
            return Err(format!("found no controllers for pod \"{}\"", p.name()));
        };
        if !seen.insert(owner.uid.clone()) {
            continue;
        }
        let plural = if owner.kind == "ReplicaSet" { "replicasets" } else { "statefulsets" };
        let scale_of = |plural: &str, name: &str| {
            let rt = c.registry.lookup("apps", "v1", plural)?;
            let obj = c.store.get(&rt.table, &ObjectKey::new(ns, name))?;
            Some((obj.value()["spec"]["replicas"].as_i64().unwrap_or(1), obj))
        };
        let Some((mut scale, obj)) = scale_of(plural, &owner.name) else {
            return Err(format!("{} \"{}\" not found", owner.kind.to_lowercase(), owner.name));
        };
        if let Some(d) = obj.owners.iter().find(|o| o.kind == "Deployment") {
            if !seen.insert(d.uid.clone()) {
                continue;
            }
            scale = scale_of("deployments", &d.name).map_or(scale, |(s, _)| s);
        }
        total += scale;
    }
    Ok(total)
}

/// `(expectedPods, desiredHealthy)` from minAvailable / maxUnavailable.
fn targets(c: &Cluster, pdb: &Value, pods: &[PodView]) -> Result<(i64, i64), String> {
    let spec = &pdb["spec"];
    let ns = pdb["metadata"]["namespace"].as_str().unwrap_or_default();
    let bad = |field: &str| format!("invalid {field} {} in PodDisruptionBudget", spec[field]);
    if !spec["maxUnavailable"].is_null() {
        let expected = expected_scale(c, ns, pods)?;
        let max = scaled_value(&spec["maxUnavailable"], expected, true).ok_or_else(|| bad("maxUnavailable"))?;
        Ok((expected, (expected - max).max(0)))
    } else if let Some(n) = spec["minAvailable"].as_i64() {
        Ok((pods.len() as i64, n))
    } else if !spec["minAvailable"].is_null() {
        let expected = expected_scale(c, ns, pods)?;
        Ok((expected, scaled_value(&spec["minAvailable"], expected, true).ok_or_else(|| bad("minAvailable"))?))
    } else {
        Ok((pods.len() as i64, 0))
    }
}

/// Recent evictions the budget still counts (`disruptedPods` entries younger than the TTL).
fn recent_disruptions(status: &Value) -> Map<String, Value> {
    let now = time::OffsetDateTime::now_utc();
    let fmt = &time::format_description::well_known::Rfc3339;
    let mut out = status["disruptedPods"].as_object().cloned().unwrap_or_default();
    out.retain(|_, at| {
        at.as_str()
            .and_then(|s| time::OffsetDateTime::parse(s, fmt).ok())
            .is_some_and(|t| (now - t).whole_seconds() < DISRUPTED_TTL_SECS)
    });
    out
}

/// The status the disruption controller writes.
fn compute(c: &Cluster, pdb: &Value) -> Value {
    let pods = selected(c, pdb);
    let old = &pdb["status"];
    let mut disrupted = recent_disruptions(old);
    // Entries of pods that are gone or going no longer hold budget (`buildDisruptedPodMap`).
    disrupted.retain(|name, _| pods.iter().any(|p| p.name() == name && !p.stored.deleting));
    let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(0);
    let mut conditions = old["conditions"].as_array().cloned().unwrap_or_default();
    let (expected, desired) = match targets(c, pdb, &pods) {
        Ok(t) => t,
        Err(message) => {
            let mut status = old.clone();
            status["disruptionsAllowed"] = json!(0);
            status["observedGeneration"] = json!(generation);
            set_condition(&mut conditions, "False", "SyncFailed", &message, generation);
            status["conditions"] = Value::Array(conditions);
            return status;
        }
    };
    let healthy = pods.iter().filter(|p| !p.stored.deleting && p.ready && !disrupted.contains_key(p.name())).count();
    let current = healthy as i64;
    let allowed = (current - desired).max(0);
    let (state, reason) = if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    set_condition(&mut conditions, state, reason, "", generation);
    let mut status = json!({
        "observedGeneration": generation, "disruptionsAllowed": allowed, "currentHealthy": current,
        "desiredHealthy": desired, "expectedPods": expected, "conditions": conditions,
    });
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    status
}

fn set_condition(conditions: &mut Vec<Value>, status: &str, reason: &str, message: &str, generation: i64) {
    let transition = match conditions.iter().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => json!(now_rfc3339()),
    };
    conditions.retain(|c| c["type"] != "DisruptionAllowed");
    conditions.push(json!({"type": "DisruptionAllowed", "status": status, "reason": reason, "message": message,
                           "observedGeneration": generation, "lastTransitionTime": transition}));
}

/// kube-apiserver's eviction check: 429 when the pod's budget allows no disruption, otherwise the
/// budget is charged (`disruptionsAllowed` decremented, the pod recorded in `disruptedPods`).
pub fn admit_eviction(c: &Cluster, ns: &str, pod: &Value) -> ApiResult<()> {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if matches!(phase, "Succeeded" | "Failed" | "Pending" | "") || pod["metadata"]["deletionTimestamp"].is_string() {
        return Ok(());
    }
    let rt = c.registry.lookup("policy", "v1", "poddisruptionbudgets").ok_or_else(|| ApiError::internal("no pdbs"))?;
    let labels = pod["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    let mut matching: Vec<Value> = budgets(c, &rt, ns)
        .into_iter()
        .filter(|pdb| {
            let sel = &pdb["spec"]["selector"];
            !labels.is_empty() && !sel.is_null() && LabelSelector::from_json(sel).is_ok_and(|s| s.matches_object(pod))
        })
        .collect();
    let Some(pdb) = matching.pop() else { return Ok(()) };
    if !matching.is_empty() {
        return Err(ApiError::internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    let mut status = compute(c, &pdb);
    let name = pdb["metadata"]["name"].as_str().unwrap_or_default();
    let (current, desired) =
        (status["currentHealthy"].as_i64().unwrap_or(0), status["desiredHealthy"].as_i64().unwrap_or(0));
    let ready = pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    let always = pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow";
    if !ready && (always || (current >= desired && desired > 0)) {
        return Ok(());
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    if allowed <= 0 {
        let cause = match status["conditions"].as_array().and_then(|cs| cs.iter().find(|c| c["reason"] == "SyncFailed"))
        {
            Some(c) => format!(
                "The disruption budget {name} does not allow evicting pods currently because it failed sync: {}",
                c["message"].as_str().unwrap_or_default()
            ),
            None => format!("The disruption budget {name} needs {desired} healthy pods and has {current} currently"),
        };
        return Err(ApiError::too_many_requests("Cannot evict pod as it would violate the pod's disruption budget.")
            .with_details(json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]})));
    }
    status["disruptionsAllowed"] = json!(allowed - 1);
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    status["disruptedPods"][pod_name] = json!(now_rfc3339());
    if allowed == 1 {
        let generation = status["observedGeneration"].as_i64().unwrap_or(0);
        let mut conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        set_condition(&mut conditions, "False", "InsufficientPods", "", generation);
        status["conditions"] = Value::Array(conditions);
    }
    write(c, &rt, &pdb, status, "kube-apiserver")
}
