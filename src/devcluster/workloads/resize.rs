//! In-place pod resize as kubelet 1.33 reports it. When a container's `spec.resources` differ from
//! what its status reports, the kubelet either marks the pod `PodResizePending` — `Infeasible` when
//! the pod's requests exceed the node's allocatable, `Deferred` when they exceed what the other pods
//! leave free (kube's messages) — or allocates it (`PodResizeInProgress`, `allocatedResources`
//! updated) and then actuates it (`containerStatuses[].resources` updated, condition removed).
//! Kubelet 1.33 no longer sets the deprecated `status.resize`, so neither do we.
//!
//! Test hook: annotation `devcluster.io/resize-outcome` = `Deferred` | `Infeasible` holds the resize
//! pending with that reason, `InProgress` holds it allocated but not actuated.

use serde_json::{Map, Value, json};

use super::super::meta::now_rfc3339;
use super::super::status::ApiResult;
use super::super::store::ObjectKey;
use super::Workloads;
use super::kubelet::write_status;

pub const HOOK: &str = "devcluster.io/resize-outcome";
const PENDING: &str = "PodResizePending";
const IN_PROGRESS: &str = "PodResizeInProgress";

/// What the kubelet does with a resize.
#[derive(Debug, PartialEq)]
enum Decision {
    Pending {
        reason: &'static str,
        message: String,
    },
    /// Allocate, then actuate unless held.
    Allocate {
        hold: bool,
    },
}

pub async fn reconcile(w: &mut Workloads, pod: &Value, key: &ObjectKey) -> ApiResult<()> {
    let status = &pod["status"];
    if !resources_differ(pod) {
        w.kubelet.deferred.remove(key);
        let next = without_conditions(status, &[PENDING, IN_PROGRESS]);
        return write_status(w, pod, key, next).await;
    }
    let decision = match pod["metadata"]["annotations"][HOOK].as_str() {
        Some(outcome @ ("Deferred" | "Infeasible")) => Decision::Pending {
            reason: if outcome == "Deferred" { "Deferred" } else { "Infeasible" },
            message: format!("devcluster: resize held {outcome} by the pod annotation {HOOK}"),
        },
        Some("InProgress") => Decision::Allocate { hold: true },
        _ => fits_node(w, pod, key),
    };
    let next = match decision {
        Decision::Pending { reason, message } => {
            if reason == "Deferred" {
                w.kubelet.deferred.insert(key.clone());
            } else {
                w.kubelet.deferred.remove(key);
            }
            let mut next = without_conditions(status, &[IN_PROGRESS]);
            set_condition(&mut next, PENDING, Some((reason, &message)));
            next
        }
        Decision::Allocate { hold } => {
            w.kubelet.deferred.remove(key);
            let in_progress = has_condition(status, IN_PROGRESS);
            let mut next = without_conditions(status, &[PENDING]);
            // Allocation and actuation are two writes, so watchers see PodResizeInProgress.
            if allocate(&mut next, pod) || hold || !in_progress {
                set_condition(&mut next, IN_PROGRESS, None);
            } else {
                actuate(&mut next, pod);
                next = without_conditions(&next, &[IN_PROGRESS]);
            }
            next
        }
    };
    write_status(w, pod, key, next).await
}

/// A container's reported resources (and allocated requests) set from its spec.
pub fn report_resources(container_status: &mut Value, resources: &Value) {
    let requests = &resources["requests"];
    if requests.as_object().is_some_and(|m| !m.is_empty()) {
        container_status["allocatedResources"] = requests.clone();
    }
    if resources.as_object().is_some_and(|m| !m.is_empty()) {
        container_status["resources"] = resources.clone();
    }
}

fn normalized(resources: &Value) -> Value {
    let mut out = Map::new();
    for k in ["requests", "limits"] {
        if let Some(m) = resources[k].as_object().filter(|m| !m.is_empty()) {
            out.insert(k.into(), Value::Object(m.clone()));
        }
    }
    Value::Object(out)
}

fn statuses_by_name<'a>(status: &'a Value, name: &Value) -> Option<&'a Value> {
    status["containerStatuses"].as_array()?.iter().find(|s| &s["name"] == name)
}

/// Some running container reports other resources than its spec asks for.
fn resources_differ(pod: &Value) -> bool {
    pod["spec"]["containers"].as_array().into_iter().flatten().any(|c| {
        statuses_by_name(&pod["status"], &c["name"])
            .is_some_and(|s| normalized(&s["resources"]) != normalized(&c["resources"]))
    })
}

/// Records the spec's requests as allocated; false when that was already the case.
fn allocate(status: &mut Value, pod: &Value) -> bool {
    let mut changed = false;
    for s in status["containerStatuses"].as_array_mut().into_iter().flatten() {
        let spec = pod["spec"]["containers"].as_array().and_then(|cs| cs.iter().find(|c| c["name"] == s["name"]));
        let requests = spec.map(|c| c["resources"]["requests"].clone()).unwrap_or(Value::Null);
        let want = if requests.as_object().is_some_and(|m| !m.is_empty()) { requests } else { Value::Null };
        if s["allocatedResources"] != want {
            changed = true;
            match &want {
                Value::Null => {
                    if let Some(m) = s.as_object_mut() {
                        m.remove("allocatedResources");
                    }
                }
                _ => s["allocatedResources"] = want,
            }
        }
    }
    changed
}

fn actuate(status: &mut Value, pod: &Value) {
    for s in status["containerStatuses"].as_array_mut().into_iter().flatten() {
        let spec = pod["spec"]["containers"].as_array().and_then(|cs| cs.iter().find(|c| c["name"] == s["name"]));
        let resources = spec.map(|c| normalized(&c["resources"])).unwrap_or_else(|| json!({}));
        if let Some(m) = s.as_object_mut() {
            m.remove("resources");
        }
        if resources.as_object().is_some_and(|m| !m.is_empty()) {
            s["resources"] = resources;
        }
    }
}

fn has_condition(status: &Value, kind: &str) -> bool {
    status["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == kind))
}

fn without_conditions(status: &Value, kinds: &[&str]) -> Value {
    let mut next = status.clone();
    if let Some(c) = next["conditions"].as_array_mut() {
        c.retain(|c| !kinds.iter().any(|k| c["type"] == *k));
    }
    next
}

/// Adds or refreshes a resize condition; an unchanged one keeps its transition time.
fn set_condition(status: &mut Value, kind: &str, reason_message: Option<(&str, &str)>) {
    let mut cond = json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
    if let Some((reason, message)) = reason_message {
        cond["reason"] = json!(reason);
        cond["message"] = json!(message);
    }
    let list = status["conditions"].as_array_mut();
    let Some(list) = list else {
        status["conditions"] = json!([cond]);
        return;
    };
    match list.iter_mut().find(|c| c["type"] == kind) {
        Some(c) if c["reason"] == cond["reason"] && c["message"] == cond["message"] => {}
        Some(c) => *c = cond,
        None => list.push(cond),
    }
}

/// Requested cpu (millicores) and memory (bytes) of a pod's containers, requests defaulting to limits.
pub fn pod_requests(pod: &Value) -> (i64, i64) {
    let mut total = (0, 0);
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let r = &c["resources"];
        let get = |name: &str| {
            let q = if r["requests"][name].is_null() { &r["limits"][name] } else { &r["requests"][name] };
            q.as_str().and_then(quantity::parse).unwrap_or(0.0)
        };
        total.0 += (get("cpu") * 1000.0).ceil() as i64;
        total.1 += get("memory").ceil() as i64;
    }
    total
}

/// The node check of `canResizePod`: capacity first (Infeasible), then what other pods use (Deferred).
fn fits_node(w: &Workloads, pod: &Value, key: &ObjectKey) -> Decision {
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let Some(node) = w.get(&w.types.nodes, &ObjectKey::new("", node_name)) else {
        return Decision::Allocate { hold: false };
    };
    let allocatable = &node.value()["status"]["allocatable"];
    let cap = |name: &str, scale: f64| {
        allocatable[name].as_str().and_then(quantity::parse).map_or(i64::MAX, |v| (v * scale).ceil() as i64)
    };
    let (cpu_cap, mem_cap) = (cap("cpu", 1000.0), cap("memory", 1.0));
    let (cpu, mem) = pod_requests(pod);
    if cpu > cpu_cap || mem > mem_cap {
        let detail = if mem > mem_cap {
            format!("memory, requested: {mem}, capacity: {mem_cap}")
        } else {
            format!("cpu, requested: {cpu}, capacity: {cpu_cap}")
        };
        return Decision::Pending {
            reason: "Infeasible",
            message: format!("Node didn't have enough capacity: {detail}"),
        };
    }
    let (used_cpu, used_mem) = used_on_node(w, node_name, key);
    let insufficient = if cpu + used_cpu > cpu_cap {
        Some(("cpu", cpu, used_cpu, cpu_cap))
    } else if mem + used_mem > mem_cap {
        Some(("memory", mem, used_mem, mem_cap))
    } else {
        None
    };
    match insufficient {
        Some((r, req, used, cap)) => Decision::Pending {
            reason: "Deferred",
            message: format!("Node didn't have enough resource: {r}, requested: {req}, used: {used}, capacity: {cap}"),
        },
        None => Decision::Allocate { hold: false },
    }
}

/// Requests of the other active pods bound to `node`.
fn used_on_node(w: &Workloads, node: &str, except: &ObjectKey) -> (i64, i64) {
    let (_, pods) = w.cluster.store.snapshot(&w.types.pods.table);
    pods.values()
        .filter(|p| !p.deleting && &p.key != except && p.field("spec.nodeName").as_deref() == Some(node))
        .filter(|p| !matches!(p.field("status.phase").as_deref(), Some("Succeeded" | "Failed")))
        .map(|p| pod_requests(&p.value()))
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
}

/// Kubernetes resource quantities (`100m`, `1.5`, `128Mi`, `1e3`, `2G`) as plain numbers. Small and
/// hand-written: only values, no canonical formatting, is needed here.
pub mod quantity {
    pub fn parse(s: &str) -> Option<f64> {
        let s = s.trim();
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let value: f64 = number.parse().ok()?;
        let scale = match suffix {
            "" => 1.0,
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
            _ => return None,
        };
        Some(value * scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_with_decimal_binary_and_exponent_suffixes() {
        assert_eq!(quantity::parse("100m"), Some(0.1));
        assert_eq!(quantity::parse("2"), Some(2.0));
        assert_eq!(quantity::parse("128Mi"), Some(134_217_728.0));
        assert_eq!(quantity::parse("1e3"), Some(1000.0));
        assert_eq!(quantity::parse("1.5G"), Some(1.5e9));
        assert_eq!(quantity::parse("12Qi"), None);
        assert_eq!(quantity::parse("abc"), None);
    }

    #[test]
    fn pod_requests_sum_containers_and_default_to_limits() {
        let pod = json!({"spec": {"containers": [
            {"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
            {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
        ]}});
        assert_eq!(pod_requests(&pod), (1250, 64 * 1024 * 1024 + 1024 * 1024 * 1024));
    }

    #[test]
    fn a_resize_is_pending_until_status_reports_the_spec() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]},
                             "status": {"containerStatuses": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}]}});
        assert!(resources_differ(&pod));
        let mut status = pod["status"].clone();
        assert!(allocate(&mut status, &pod));
        assert_eq!(status["containerStatuses"][0]["allocatedResources"]["cpu"], "1");
        assert!(!allocate(&mut status, &pod), "already allocated");
        actuate(&mut status, &pod);
        pod["status"] = status;
        assert!(!resources_differ(&pod));
    }
}
