//! The Deployment controller: one ReplicaSet per pod template (`<deploy>-<pod-template-hash>`,
//! revision annotations), RollingUpdate within maxSurge/maxUnavailable or Recreate, old revisions
//! pruned to `revisionHistoryLimit`, and the status with kube's Available/Progressing conditions.
//!
//! Simplified: a replica change in the middle of a rollout is not spread proportionally over the
//! ReplicaSets (the rollout step absorbs it), `paused` only stops new rollouts steps, and there is
//! no progress deadline (pods always become ready here).

mod status;

use serde_json::{Map, Value, json};

use super::super::admission;
use super::super::ops::DeleteOptions;
use super::super::status::ApiResult;
use super::super::store::ObjectKey;
use super::hash::template_hash;
use super::podview::owned_pods;
use super::rollout::{self, RsCounts};
use super::{Workloads, controller_opts, controller_ref, controller_user, failed, name_of, replicas, uid_of};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX: &str = "deployment.kubernetes.io/max-replicas";
const HASH_LABEL: &str = "pod-template-hash";
const USER: &str = "deployment-controller";

/// An owned ReplicaSet with the counts the rollout uses.
pub struct OwnedSet {
    pub obj: Value,
    pub counts: RsCounts,
}

/// What this sync did, for the Progressing condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    CreatedNew,
    Scaled,
}

pub async fn reconcile(w: &mut Workloads, key: &ObjectKey) -> ApiResult<()> {
    let Some(stored) = w.get(&w.types.deployments, key) else { return Ok(()) };
    if stored.deleting {
        return Ok(());
    }
    let d = stored.value();
    let step = if d["spec"]["paused"] == true { Step::Nothing } else { rollout_step(w, &d, key).await? };
    let sets = owned_sets(w, &d);
    let new = sets.iter().find(|s| same_template(&s.obj, &d["spec"]["template"])).map(|s| &s.obj);
    if step == Step::Nothing && d["spec"]["paused"] != true {
        prune_history(w, &d, &sets, new).await?;
    }
    status::write(w, &d, &sets, new, step).await
}

/// One step of the strategy; creates the new ReplicaSet when the template has none.
async fn rollout_step(w: &mut Workloads, d: &Value, key: &ObjectKey) -> ApiResult<Step> {
    let sets = owned_sets(w, d);
    let want = replicas(d);
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let (surge, unavailable) =
        if recreate { (0, 0) } else { rollout::fenceposts(&d["spec"]["strategy"]["rollingUpdate"], want) };
    let new_pos = sets.iter().position(|s| same_template(&s.obj, &d["spec"]["template"]));
    let old: Vec<&OwnedSet> = sets.iter().enumerate().filter(|(i, _)| Some(*i) != new_pos).map(|(_, s)| s).collect();
    let old_counts: Vec<RsCounts> = old.iter().map(|s| s.counts).collect();
    let max_old_revision = old.iter().map(|s| revision(&s.obj)).max().unwrap_or(0);
    if recreate {
        let mut scaled = false;
        for s in old.iter().filter(|s| replicas(&s.obj) > 0) {
            scale(w, d, &s.obj, 0, 0, key).await?;
            scaled = true;
        }
        if scaled || old.iter().any(|s| s.counts.pods > 0) {
            return Ok(if scaled { Step::Scaled } else { Step::Nothing });
        }
    }
    let Some(new_pos) = new_pos else {
        let n = if recreate { want } else { rollout::new_replicas(want, surge, RsCounts::default(), &old_counts) };
        return create_new(w, d, n, surge, max_old_revision + 1, key).await;
    };
    let new = &sets[new_pos];
    if revision(&new.obj) <= max_old_revision {
        set_revision(w, &new.obj, max_old_revision + 1, key).await?;
        return Ok(Step::Scaled);
    }
    let target = if recreate { want } else { rollout::new_replicas(want, surge, new.counts, &old_counts) };
    if target != new.counts.spec || annotations_stale(&new.obj, d, surge) {
        scale(w, d, &new.obj, target, surge, key).await?;
        if target > new.counts.spec {
            return Ok(Step::Scaled);
        }
    }
    let mut step = Step::Nothing;
    for (s, n) in old.iter().zip(rollout::old_replicas(want, unavailable, new.counts, &old_counts)) {
        if n != s.counts.spec {
            scale(w, d, &s.obj, n, surge, key).await?;
            step = Step::Scaled;
        }
    }
    Ok(step)
}

/// The ReplicaSets this Deployment controls, oldest first, with their pods counted.
pub fn owned_sets(w: &Workloads, d: &Value) -> Vec<OwnedSet> {
    let min_ready = d["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let now = time::OffsetDateTime::now_utc();
    let uid = uid_of(d);
    let mut sets: Vec<OwnedSet> = w
        .cluster
        .store
        .dependents_of(uid)
        .into_iter()
        .filter(|(table, _)| *table == w.types.replicasets.table)
        .filter_map(|(table, key)| w.cluster.store.get(&table, &key))
        .filter(|s| !s.deleting && s.owners.iter().any(|o| o.uid == uid))
        .map(|s| {
            let obj = s.value();
            let pods: Vec<_> =
                owned_pods(&w.cluster, &w.types.pods.table, &s.uid).into_iter().filter(|p| p.active()).collect();
            let available = pods.iter().filter(|p| p.available(min_ready, now)).count() as i64;
            let counts = RsCounts { spec: replicas(&obj), pods: pods.len() as i64, available };
            OwnedSet { obj, counts }
        })
        .collect();
    sets.sort_by(|a, b| {
        let at = |s: &OwnedSet| s.obj["metadata"]["creationTimestamp"].as_str().unwrap_or_default().to_string();
        at(a).cmp(&at(b)).then_with(|| name_of(&a.obj).cmp(name_of(&b.obj)))
    });
    sets
}

/// The ReplicaSet's template without its `pod-template-hash` label equals the Deployment's.
fn same_template(rs: &Value, template: &Value) -> bool {
    let mut t = rs["spec"]["template"].clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH_LABEL);
    }
    &t == template
}

pub fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION].as_str().and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// Deployment annotations a new ReplicaSet inherits (kube skips its own and kubectl's bookkeeping).
fn inherited_annotations(d: &Value) -> Map<String, Value> {
    const SKIPPED: [&str; 6] = [
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        DESIRED,
        MAX,
        "deprecated.deployment.rollback.to",
    ];
    let mut out = d["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
    out.retain(|k, _| !SKIPPED.contains(&k.as_str()));
    out
}

async fn create_new(w: &mut Workloads, d: &Value, n: i64, surge: i64, rev: i64, key: &ObjectKey) -> ApiResult<Step> {
    let ns = &key.namespace;
    let hash = template_hash(&d["spec"]["template"], d["status"]["collisionCount"].as_i64());
    let name = format!("{}-{hash}", key.name);
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut annotations = inherited_annotations(d);
    annotations.insert(REVISION.into(), json!(rev.to_string()));
    annotations.insert(DESIRED.into(), json!(replicas(d).to_string()));
    annotations.insert(MAX.into(), json!((replicas(d) + surge).to_string()));
    let mut spec = json!({"replicas": n, "selector": selector, "template": template});
    if let Some(m) = d["spec"]["minReadySeconds"].as_i64().filter(|m| *m > 0) {
        spec["minReadySeconds"] = json!(m);
    }
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": ns, "labels": template["metadata"]["labels"],
                     "annotations": annotations, "ownerReferences": [controller_ref(d)]},
        "spec": spec,
    });
    let user = controller_user(USER);
    match admission::create(&w.cluster, &w.types.replicasets, ns, rs, &controller_opts(None), &user).await {
        Ok(_) => Ok(Step::CreatedNew),
        Err(e) if e.code == 409 => {
            // A ReplicaSet of that name with another template: hash again with a higher collisionCount.
            let count = d["status"]["collisionCount"].as_i64().unwrap_or(0) + 1;
            let mut status = d["status"].clone();
            status["collisionCount"] = json!(count);
            super::write_status(w, &w.types.deployments, d, status, &user).await?;
            Ok(Step::Nothing)
        }
        Err(e) => Err(failed("creating the new ReplicaSet of Deployment", key, e)),
    }
}

fn annotations_stale(rs: &Value, d: &Value, surge: i64) -> bool {
    let a = &rs["metadata"]["annotations"];
    a[DESIRED].as_str() != Some(&replicas(d).to_string()) || a[MAX].as_str() != Some(&(replicas(d) + surge).to_string())
}

/// Sets a ReplicaSet's replicas and its desired/max annotations (a scale through the API).
async fn scale(w: &Workloads, d: &Value, rs: &Value, n: i64, surge: i64, key: &ObjectKey) -> ApiResult<()> {
    let mut next = rs.clone();
    next["spec"]["replicas"] = json!(n);
    next["metadata"]["annotations"][DESIRED] = json!(replicas(d).to_string());
    next["metadata"]["annotations"][MAX] = json!((replicas(d) + surge).to_string());
    if &next == rs {
        return Ok(());
    }
    update_replica_set(w, rs, next, key, "scaling a ReplicaSet of Deployment").await
}

async fn set_revision(w: &Workloads, rs: &Value, rev: i64, key: &ObjectKey) -> ApiResult<()> {
    let mut next = rs.clone();
    next["metadata"]["annotations"][REVISION] = json!(rev.to_string());
    update_replica_set(w, rs, next, key, "updating the revision of a ReplicaSet of Deployment").await
}

/// Writes `next` over ReplicaSet `rs` as the deployment controller, through admission.
async fn update_replica_set(w: &Workloads, rs: &Value, next: Value, key: &ObjectKey, what: &str) -> ApiResult<()> {
    let user = controller_user(USER);
    let opts = controller_opts(None);
    admission::update(&w.cluster, &w.types.replicasets, &key.namespace, name_of(rs), next, &opts, &user)
        .await
        .map(|_| ())
        .map_err(|e| failed(what, key, e))
}

/// Deletes the oldest empty old ReplicaSets beyond `revisionHistoryLimit`.
async fn prune_history(w: &Workloads, d: &Value, sets: &[OwnedSet], new: Option<&Value>) -> ApiResult<()> {
    let limit = d["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10).max(0) as usize;
    let mut empty: Vec<&OwnedSet> = sets
        .iter()
        .filter(|s| Some(&s.obj) != new && s.counts.spec == 0 && s.counts.pods == 0)
        .filter(|s| s.obj["status"]["observedGeneration"] == s.obj["metadata"]["generation"])
        .collect();
    if empty.len() <= limit {
        return Ok(());
    }
    empty.sort_by_key(|s| revision(&s.obj));
    let user = controller_user(USER);
    let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
    for s in &empty[..empty.len() - limit] {
        let opts = DeleteOptions { precondition_uid: Some(uid_of(&s.obj).to_string()), ..Default::default() };
        match admission::delete(&w.cluster, &w.types.replicasets, ns, name_of(&s.obj), &opts, &user).await {
            Err(e) if e.code != 404 => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
