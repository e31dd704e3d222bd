//! A Deployment's status (`calculateStatus` + `syncRolloutStatus`): counts summed over its
//! ReplicaSets' statuses, and the Available/Progressing conditions with kube's reasons and messages.
//! The Deployment's own `deployment.kubernetes.io/revision` annotation is written with it, through
//! `/status` as the deployment controller does.

use serde_json::{Value, json};

use super::super::super::admission;
use super::super::super::meta::now_rfc3339;
use super::super::super::status::ApiResult;
use super::super::rollout;
use super::super::{Workloads, controller_opts, controller_user, name_of, replicas, set_count};
use super::{OwnedSet, REVISION, Step, USER, revision};

pub async fn write(w: &Workloads, d: &Value, sets: &[OwnedSet], new: Option<&Value>, step: Step) -> ApiResult<()> {
    let mut next = d.clone();
    next["status"] = compute(d, sets, new, step);
    if let Some(new) = new {
        next["metadata"]["annotations"][REVISION] = json!(revision(new).to_string());
    }
    if &next == d {
        return Ok(());
    }
    let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
    let user = controller_user(USER);
    admission::update(&w.cluster, &w.types.deployments, ns, name_of(d), next, &controller_opts(Some("status")), &user)
        .await
        .map(|_| ())
}

fn count(rs: &Value, field: &str) -> i64 {
    rs["status"][field].as_i64().unwrap_or(0)
}

fn compute(d: &Value, sets: &[OwnedSet], new: Option<&Value>, step: Step) -> Value {
    let want = replicas(d);
    let sum = |field: &str| sets.iter().map(|s| count(&s.obj, field)).sum::<i64>();
    let available = sum("availableReplicas");
    let total_spec: i64 = sets.iter().map(|s| s.counts.spec).sum();
    let actual = sum("replicas");
    let updated = new.map_or(0, |n| count(n, "replicas"));
    let mut status = json!({});
    set_count(&mut status, "observedGeneration", d["metadata"]["generation"].as_i64().unwrap_or(0));
    set_count(&mut status, "replicas", actual);
    set_count(&mut status, "updatedReplicas", updated);
    set_count(&mut status, "readyReplicas", sum("readyReplicas"));
    set_count(&mut status, "availableReplicas", available);
    set_count(&mut status, "unavailableReplicas", (total_spec - available).max(0));
    let mut conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let max_unavailable = max_unavailable(d, want);
    if available >= want - max_unavailable {
        set_condition(
            &mut conditions,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_condition(
            &mut conditions,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    if let Some(new) = new {
        let name = name_of(new);
        let complete = updated == want && actual == want && available == want;
        let old = &d["status"];
        let progressed = updated > count(d, "updatedReplicas")
            || actual < count(d, "replicas")
            || sum("readyReplicas") > count(d, "readyReplicas")
            || available > count(d, "availableReplicas");
        if complete {
            let msg = format!("ReplicaSet \"{name}\" has successfully progressed.");
            set_condition(&mut conditions, "Progressing", "True", "NewReplicaSetAvailable", &msg);
        } else if step == Step::CreatedNew {
            let msg = format!("Created new replica set \"{name}\"");
            set_condition(&mut conditions, "Progressing", "True", "NewReplicaSetCreated", &msg);
        } else if progressed || step == Step::Scaled || !has_condition(old, "Progressing") {
            let msg = format!("ReplicaSet \"{name}\" is progressing.");
            set_condition(&mut conditions, "Progressing", "True", "ReplicaSetUpdated", &msg);
        }
    }
    if !conditions.is_empty() {
        status["conditions"] = Value::Array(conditions);
    }
    if let Some(c) = d["status"]["collisionCount"].as_i64() {
        status["collisionCount"] = json!(c);
    }
    status
}

/// `deploymentutil.MaxUnavailable`: 0 for Recreate or no replicas.
fn max_unavailable(d: &Value, want: i64) -> i64 {
    if d["spec"]["strategy"]["type"] == "Recreate" || want == 0 {
        return 0;
    }
    rollout::fenceposts(&d["spec"]["strategy"]["rollingUpdate"], want).1
}

fn has_condition(status: &Value, kind: &str) -> bool {
    status["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == kind))
}

/// `SetDeploymentCondition`: unchanged when status and reason are the same; the transition time
/// survives a reason change; the condition moves to the end.
fn set_condition(conditions: &mut Vec<Value>, kind: &str, status: &str, reason: &str, message: &str) {
    let existing = conditions.iter().position(|c| c["type"] == kind);
    let now = now_rfc3339();
    let mut transition = json!(now);
    if let Some(i) = existing {
        let c = &conditions[i];
        if c["status"] == status && c["reason"] == reason {
            return;
        }
        if c["status"] == status {
            transition = c["lastTransitionTime"].clone();
        }
        conditions.remove(i);
    }
    conditions.push(json!({
        "type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": transition,
        "reason": reason, "message": message,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_their_transition_time_when_only_the_reason_changes() {
        let mut c = vec![json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated",
                                "lastTransitionTime": "2020-01-01T00:00:00Z", "lastUpdateTime": "2020-01-01T00:00:00Z"})];
        set_condition(&mut c, "Progressing", "True", "NewReplicaSetCreated", "again");
        assert_eq!(c[0]["lastUpdateTime"], "2020-01-01T00:00:00Z", "same status and reason: untouched");
        set_condition(&mut c, "Available", "True", "MinimumReplicasAvailable", "m");
        set_condition(&mut c, "Progressing", "True", "NewReplicaSetAvailable", "done");
        assert_eq!(c[1]["type"], "Progressing", "moved after Available");
        assert_eq!(c[1]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(c[1]["message"], "done");
    }
}
