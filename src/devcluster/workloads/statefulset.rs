//! The StatefulSet controller: pods `<name>-<ordinal>` labelled with `controller-revision-hash`
//! (a ControllerRevision `<name>-<hash>` records the template), `statefulset.kubernetes.io/pod-name`
//! and `apps.kubernetes.io/pod-index`; OrderedReady creates the next ordinal only once every lower
//! one is Running and Ready and removes from the highest ordinal one at a time, Parallel does all at
//! once; RollingUpdate replaces pods of an old revision from the highest ordinal down to `partition`.
//!
//! Simplified: pods below the partition are recreated at the update revision too, and there are no
//! volume claims.

use serde_json::{Value, json};

use super::super::admission;
use super::super::ops::DeleteOptions;
use super::super::status::ApiResult;
use super::super::store::ObjectKey;
use super::hash::template_hash;
use super::podview::{PodView, owned_pods};
use super::replicaset::pod_from_template;
use super::{Workloads, controller_opts, controller_ref, controller_user, failed, replicas, set_count, uid_of};

const REVISION_LABEL: &str = "controller-revision-hash";
const USER: &str = "statefulset-controller";

pub async fn reconcile(w: &mut Workloads, key: &ObjectKey) -> ApiResult<()> {
    let Some(stored) = w.get(&w.types.statefulsets, key) else { return Ok(()) };
    let sts = stored.value();
    // The StatefulSet controller always hashes with a collision count (0 until a collision).
    let hash = template_hash(&sts["spec"]["template"], Some(sts["status"]["collisionCount"].as_i64().unwrap_or(0)));
    let update_revision = format!("{}-{hash}", key.name);
    if !stored.deleting {
        ensure_revision(w, &sts, &update_revision, &hash, key).await?;
        let pods = owned_pods(&w.cluster, &w.types.pods.table, uid_of(&sts));
        manage(w, &sts, &pods, &update_revision, key).await?;
    }
    let pods = owned_pods(&w.cluster, &w.types.pods.table, uid_of(&sts));
    let status = status(&sts, &pods, &update_revision);
    super::write_status(w, &w.types.statefulsets, &sts, status, &controller_user(USER)).await
}

fn ordinal(sts_name: &str, pod: &PodView) -> Option<i64> {
    pod.name().strip_prefix(sts_name)?.strip_prefix('-')?.parse().ok()
}

/// Creates missing ordinals, removes surplus ones and replaces outdated ones, in the policy's order.
async fn manage(w: &Workloads, sts: &Value, pods: &[PodView], revision: &str, key: &ObjectKey) -> ApiResult<()> {
    let want = replicas(sts);
    let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
    let active: Vec<(i64, &PodView)> =
        pods.iter().filter(|p| p.active()).filter_map(|p| ordinal(&key.name, p).map(|o| (o, p))).collect();
    let healthy = |p: &PodView| p.phase == "Running" && p.ready;
    for i in 0..want {
        match active.iter().find(|(o, _)| *o == i) {
            None => {
                create(w, sts, i, revision, key).await?;
                if !parallel {
                    return Ok(());
                }
            }
            Some((_, p)) if !parallel && !healthy(p) => return Ok(()),
            Some(_) => {}
        }
    }
    let mut surplus: Vec<&(i64, &PodView)> = active.iter().filter(|(o, _)| *o >= want).collect();
    surplus.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    for (_, p) in surplus {
        delete(w, p, key).await?;
        if !parallel {
            return Ok(());
        }
    }
    let rolling = sts["spec"]["updateStrategy"]["type"].as_str().unwrap_or("RollingUpdate") == "RollingUpdate";
    let all_healthy = active.len() as i64 == want && active.iter().all(|(_, p)| healthy(p));
    if rolling && all_healthy {
        let partition = sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"].as_i64().unwrap_or(0);
        let outdated = active
            .iter()
            .filter(|(o, p)| *o >= partition && p.label(REVISION_LABEL) != Some(revision))
            .max_by_key(|(o, _)| *o);
        if let Some((_, p)) = outdated {
            delete(w, p, key).await?;
        }
    }
    Ok(())
}

async fn create(w: &Workloads, sts: &Value, i: i64, revision: &str, key: &ObjectKey) -> ApiResult<()> {
    let name = format!("{}-{i}", key.name);
    let mut pod = pod_from_template(sts, "");
    let m = &mut pod["metadata"];
    if let Some(obj) = m.as_object_mut() {
        obj.remove("generateName");
    }
    m["name"] = json!(name);
    m["labels"][REVISION_LABEL] = json!(revision);
    m["labels"]["statefulset.kubernetes.io/pod-name"] = json!(name);
    m["labels"]["apps.kubernetes.io/pod-index"] = json!(i.to_string());
    pod["spec"]["hostname"] = json!(name);
    if let Some(svc) = sts["spec"]["serviceName"].as_str().filter(|s| !s.is_empty()) {
        pod["spec"]["subdomain"] = json!(svc);
    }
    let user = controller_user(USER);
    match admission::create(&w.cluster, &w.types.pods, &key.namespace, pod, &controller_opts(None), &user).await {
        Err(e) if e.code != 409 => Err(failed("creating a pod of StatefulSet", key, e)),
        _ => Ok(()),
    }
}

async fn delete(w: &Workloads, pod: &PodView, key: &ObjectKey) -> ApiResult<()> {
    let opts = DeleteOptions { precondition_uid: Some(pod.stored.uid.clone()), ..Default::default() };
    let user = controller_user(USER);
    match admission::delete(&w.cluster, &w.types.pods, &key.namespace, pod.name(), &opts, &user).await {
        Err(e) if e.code != 404 => Err(failed("deleting a pod of StatefulSet", key, e)),
        _ => Ok(()),
    }
}

/// The ControllerRevision holding the template of `revision`, created when missing.
async fn ensure_revision(w: &Workloads, sts: &Value, revision: &str, hash: &str, key: &ObjectKey) -> ApiResult<()> {
    let rev_key = ObjectKey::new(key.namespace.as_str(), revision);
    if w.get(&w.types.revisions, &rev_key).is_some() {
        return Ok(());
    }
    let previous = w
        .cluster
        .store
        .dependents_of(uid_of(sts))
        .into_iter()
        .filter(|(t, _)| *t == w.types.revisions.table)
        .filter_map(|(t, k)| w.cluster.store.get(&t, &k))
        .filter_map(|s| s.value()["revision"].as_i64())
        .max()
        .unwrap_or(0);
    let mut labels = sts["spec"]["template"]["metadata"]["labels"].clone();
    labels["controller.kubernetes.io/hash"] = json!(hash);
    let mut template = sts["spec"]["template"].clone();
    template["$patch"] = json!("replace");
    let obj = json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": revision, "namespace": key.namespace, "labels": labels, "ownerReferences": [controller_ref(sts)]},
        "data": {"spec": {"template": template}},
        "revision": previous + 1,
    });
    let user = controller_user(USER);
    match admission::create(&w.cluster, &w.types.revisions, &key.namespace, obj, &controller_opts(None), &user).await {
        Err(e) if e.code != 409 => Err(failed("creating the ControllerRevision of StatefulSet", key, e)),
        _ => Ok(()),
    }
}

fn status(sts: &Value, pods: &[PodView], update_revision: &str) -> Value {
    let active: Vec<&PodView> = pods.iter().filter(|p| p.active()).collect();
    let old = &sts["status"];
    let current_revision = old["currentRevision"].as_str().filter(|r| !r.is_empty()).unwrap_or(update_revision);
    let with = |rev: &str| active.iter().filter(|p| p.label(REVISION_LABEL) == Some(rev)).count() as i64;
    let ready = active.iter().filter(|p| p.ready).count() as i64;
    let min_ready = sts["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let now = time::OffsetDateTime::now_utc();
    let available = active.iter().filter(|p| p.available(min_ready, now)).count() as i64;
    let updated = with(update_revision);
    let total = active.len() as i64;
    // A finished rolling update makes the update revision current (`completeRollingUpdate`).
    let (current_revision, current) = if updated == replicas(sts) && ready == total && total == replicas(sts) {
        (update_revision, updated)
    } else {
        (current_revision, with(current_revision))
    };
    let mut status = json!({"replicas": total, "availableReplicas": available});
    set_count(&mut status, "observedGeneration", sts["metadata"]["generation"].as_i64().unwrap_or(0));
    set_count(&mut status, "readyReplicas", ready);
    set_count(&mut status, "currentReplicas", current);
    set_count(&mut status, "updatedReplicas", updated);
    status["currentRevision"] = json!(current_revision);
    status["updateRevision"] = json!(update_revision);
    status["collisionCount"] = json!(old["collisionCount"].as_i64().unwrap_or(0));
    status
}
