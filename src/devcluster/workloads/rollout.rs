//! The arithmetic of a Deployment's RollingUpdate, as `pkg/controller/deployment/rolling.go` does it:
//! maxSurge/maxUnavailable resolved against `spec.replicas` (surge rounded up, unavailable down,
//! both zero meaning one unavailable), then one step: scale the new ReplicaSet up within the surge,
//! or scale old ones down — unhealthy replicas first — within the availability budget.
//!
//! One difference, on purpose: a ReplicaSet counts as `max(spec.replicas, pods it has)` and its
//! availability as `min(available pods, spec.replicas)`, so bounds hold for the pods that exist even
//! while a ReplicaSet is still catching up with its spec.

use serde_json::Value;

/// One ReplicaSet as the rollout sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RsCounts {
    pub spec: i64,
    pub pods: i64,
    pub available: i64,
}

impl RsCounts {
    fn size(&self) -> i64 {
        self.spec.max(self.pods)
    }

    fn usable(&self) -> i64 {
        self.available.min(self.spec)
    }
}

/// An int-or-percent (`2`, `"25%"`) against `total`; None when malformed.
pub fn scaled_value(v: &Value, total: i64, round_up: bool) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let p: i64 = s.strip_suffix('%')?.parse().ok()?;
            let x = p * total;
            Some(if round_up { (x + 99).div_euclid(100) } else { x.div_euclid(100) })
        }
        _ => None,
    }
}

/// (maxSurge, maxUnavailable) of a RollingUpdate strategy (`ResolveFenceposts`), unavailable capped at replicas.
pub fn fenceposts(rolling: &Value, replicas: i64) -> (i64, i64) {
    let default = Value::String("25%".into());
    let surge_v = if rolling["maxSurge"].is_null() { &default } else { &rolling["maxSurge"] };
    let unavail_v = if rolling["maxUnavailable"].is_null() { &default } else { &rolling["maxUnavailable"] };
    let surge = scaled_value(surge_v, replicas, true).unwrap_or(0).max(0);
    let mut unavailable = scaled_value(unavail_v, replicas, false).unwrap_or(0).max(0);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable.min(replicas))
}

/// The new ReplicaSet's replicas after one step (`NewRSNewReplicas`).
pub fn new_replicas(want: i64, surge: i64, new: RsCounts, old: &[RsCounts]) -> i64 {
    if new.spec >= want {
        return want;
    }
    let max_total = want + surge;
    let current: i64 = new.size() + old.iter().map(RsCounts::size).sum::<i64>();
    if current >= max_total {
        return new.spec;
    }
    new.spec + (max_total - current).min(want - new.spec)
}

/// Old ReplicaSets' replicas after one step, oldest first as given (`reconcileOldReplicaSets`).
pub fn old_replicas(want: i64, unavailable: i64, new: RsCounts, old: &[RsCounts]) -> Vec<i64> {
    let mut out: Vec<i64> = old.iter().map(|o| o.spec).collect();
    if out.iter().sum::<i64>() == 0 {
        return out;
    }
    let all: i64 = new.size() + old.iter().map(RsCounts::size).sum::<i64>();
    let min_available = want - unavailable;
    let new_unavailable = (new.spec - new.available).max(0);
    let max_scaled_down = all - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return out;
    }
    // Unhealthy replicas of old ReplicaSets go first: removing them costs no availability.
    let mut cleaned = 0;
    for (i, o) in old.iter().enumerate() {
        let unhealthy = (out[i] - o.usable()).max(0);
        let n = unhealthy.min(max_scaled_down - cleaned);
        out[i] -= n;
        cleaned += n;
    }
    let available: i64 = new.usable() + old.iter().zip(&out).map(|(o, spec)| o.available.min(*spec)).sum::<i64>();
    if available <= min_available {
        return out;
    }
    let mut budget = available - min_available;
    for spec in out.iter_mut() {
        let n = (*spec).min(budget);
        *spec -= n;
        budget -= n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(spec: i64, pods: i64, available: i64) -> RsCounts {
        RsCounts { spec, pods, available }
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        assert_eq!(fenceposts(&json!({}), 3), (1, 0));
        assert_eq!(fenceposts(&json!({}), 4), (1, 1));
        assert_eq!(fenceposts(&json!({"maxSurge": 0, "maxUnavailable": 0}), 4), (0, 1));
        assert_eq!(fenceposts(&json!({"maxSurge": "50%", "maxUnavailable": 5}), 3), (2, 3));
    }

    #[test]
    fn new_replica_set_grows_within_the_surge() {
        // 4 wanted, surge 1: 4 old pods → one new.
        assert_eq!(new_replicas(4, 1, rs(0, 0, 0), &[rs(4, 4, 4)]), 1);
        // Old still holds 4 pods although scaled to 3: no room yet.
        assert_eq!(new_replicas(4, 1, rs(1, 1, 0), &[rs(3, 4, 3)]), 1);
        assert_eq!(new_replicas(4, 1, rs(1, 1, 1), &[rs(3, 3, 3)]), 2);
        // Scaling down is immediate.
        assert_eq!(new_replicas(2, 1, rs(5, 5, 5), &[]), 2);
    }

    #[test]
    fn old_replica_sets_shrink_within_the_availability_budget() {
        // 4 wanted, 1 unavailable allowed, new has 1 unready pod: nothing may go yet... except
        // that 5 pods exist with 4 available: one old may go.
        assert_eq!(old_replicas(4, 1, rs(1, 1, 0), &[rs(4, 4, 4)]), vec![3]);
        // maxUnavailable 0: only once the new pod is available.
        assert_eq!(old_replicas(4, 0, rs(1, 1, 0), &[rs(4, 4, 4)]), vec![4]);
        assert_eq!(old_replicas(4, 0, rs(1, 1, 1), &[rs(4, 4, 4)]), vec![3]);
        // Unhealthy old replicas go first, oldest ReplicaSet first.
        assert_eq!(old_replicas(4, 1, rs(4, 4, 4), &[rs(2, 2, 0), rs(1, 1, 1)]), vec![0, 0]);
    }
}
