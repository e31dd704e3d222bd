//! The ReplicaSet controller: keeps `spec.replicas` pods (`<rs>-<5 chars>`, created from the
//! template through admission as `replicaset-controller`), deletes the surplus least valuable first
//! (unscheduled, pending, not ready, then newest), and keeps `status` counts current.

use std::cmp::Reverse;

use serde_json::{Value, json};

use super::super::admission;
use super::super::ops::DeleteOptions;
use super::super::selector::LabelSelector;
use super::super::status::ApiResult;
use super::super::store::ObjectKey;
use super::podview::{PodView, owned_pods};
use super::{Work, Workloads, controller_opts, controller_ref, controller_user, failed, replicas, set_count, uid_of};

/// kube's `BurstReplicas`: at most this many creations or deletions per sync.
const BURST: usize = 500;
const USER: &str = "replicaset-controller";

pub async fn reconcile(w: &mut Workloads, key: &ObjectKey) -> ApiResult<()> {
    let Some(stored) = w.get(&w.types.replicasets, key) else { return Ok(()) };
    let rs = stored.value();
    let pods = owned_pods(&w.cluster, &w.types.pods.table, uid_of(&rs));
    let active: Vec<&PodView> = pods.iter().filter(|p| p.active()).collect();
    let diff = active.len() as i64 - replicas(&rs);
    let user = controller_user(USER);
    if !stored.deleting {
        if diff < 0 {
            let pod = pod_from_template(&rs, &format!("{}-", key.name));
            for _ in 0..(-diff).min(BURST as i64) {
                admission::create(
                    &w.cluster,
                    &w.types.pods,
                    &key.namespace,
                    pod.clone(),
                    &controller_opts(None),
                    &user,
                )
                .await
                .map_err(|e| failed("creating a pod for ReplicaSet", key, e))?;
            }
        } else if diff > 0 {
            for victim in to_delete(active, diff as usize) {
                let opts = DeleteOptions { precondition_uid: Some(victim.stored.uid.clone()), ..Default::default() };
                let gone =
                    admission::delete(&w.cluster, &w.types.pods, &key.namespace, victim.name(), &opts, &user).await;
                if let Err(e) = gone.filter_not_found() {
                    return Err(failed("deleting a pod of ReplicaSet", key, e));
                }
            }
        }
    }
    let pods = owned_pods(&w.cluster, &w.types.pods.table, uid_of(&rs));
    let (status, recheck) = status(&rs, &pods);
    if let Some(after) = recheck {
        w.later(after, Work::ReplicaSet(key.clone()));
    }
    super::write_status(w, &w.types.replicasets, &rs, status, &user).await
}

trait NotFoundIsFine {
    fn filter_not_found(self) -> ApiResult<()>;
}

impl<T> NotFoundIsFine for ApiResult<T> {
    fn filter_not_found(self) -> ApiResult<()> {
        match self {
            Err(e) if e.code != 404 => Err(e),
            _ => Ok(()),
        }
    }
}

/// A pod as `GetPodFromTemplate` builds it.
pub fn pod_from_template(owner: &Value, generate_name: &str) -> Value {
    let t = &owner["spec"]["template"];
    let mut meta = json!({"generateName": generate_name, "ownerReferences": [controller_ref(owner)]});
    for field in ["labels", "annotations", "finalizers"] {
        if !t["metadata"][field].is_null() {
            meta[field] = t["metadata"][field].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": t["spec"]})
}

/// The `n` pods to remove, in kube's `ActivePods` order: unassigned, pending, not ready, newest.
fn to_delete(mut pods: Vec<&PodView>, n: usize) -> Vec<&PodView> {
    let phase_rank = |p: &str| match p {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    pods.sort_by_key(|p| (!p.node.is_empty(), phase_rank(&p.phase), p.ready, Reverse(p.created.clone())));
    pods.truncate(n);
    pods
}

/// The status the pods give, and when to look again (a pod becoming available after minReadySeconds).
fn status(rs: &Value, pods: &[PodView]) -> (Value, Option<std::time::Duration>) {
    let min_ready = rs["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let now = time::OffsetDateTime::now_utc();
    let template_labels =
        LabelSelector::from_json(&json!({"matchLabels": rs["spec"]["template"]["metadata"]["labels"]}))
            .unwrap_or_else(|_| LabelSelector::everything());
    let active: Vec<&PodView> = pods.iter().filter(|p| p.active()).collect();
    let ready = active.iter().filter(|p| p.ready).count() as i64;
    let available = active.iter().filter(|p| p.available(min_ready, now)).count() as i64;
    let labeled = active.iter().filter(|p| template_labels.matches(&p.stored.labels)).count() as i64;
    let mut status = json!({"replicas": active.len()});
    set_count(&mut status, "fullyLabeledReplicas", labeled);
    set_count(&mut status, "readyReplicas", ready);
    set_count(&mut status, "availableReplicas", available);
    set_count(&mut status, "observedGeneration", rs["metadata"]["generation"].as_i64().unwrap_or(0));
    if let Some(c) = rs["status"]["conditions"].as_array().filter(|c| !c.is_empty()) {
        status["conditions"] = Value::Array(c.clone());
    }
    let recheck = (available < ready).then(|| std::time::Duration::from_secs(1));
    (status, recheck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_copy_the_template_and_point_at_their_owner() {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let pod = pod_from_template(&rs, "web-abc-");
        assert_eq!(pod["metadata"]["generateName"], "web-abc-");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["annotations"]["a"], "b");
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!((owner["kind"].as_str(), owner["uid"].as_str()), (Some("ReplicaSet"), Some("u1")));
        assert_eq!((owner["controller"].as_bool(), owner["blockOwnerDeletion"].as_bool()), (Some(true), Some(true)));
        assert_eq!(pod["spec"]["containers"][0]["image"], "i");
    }
}
