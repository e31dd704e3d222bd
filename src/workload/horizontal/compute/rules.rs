//! Step 6 of the decision: the `scaleUp` / `scaleDown` rules. Each rule bounds the change over
//! its period from the count at the period's start (the current count minus the changes recorded
//! within the period); the strategy picks among rules (`Max`, the default, the largest change;
//! `Min` the smallest); a decision is never pushed back past the current count.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::ScaleInputs;
use crate::workload::crd::{HorizontalAction, ScalingPolicy, ScalingRuleType, ScalingStrategy};
use crate::workload::horizontal::history::before;

/// The longest any in-window action can take to leave its period.
const LONGEST_EXPIRY: Duration = Duration::from_secs(60 * 60);

/// A decision the rules limited.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Limited {
    pub replicas: i32,
    pub reason: String,
    /// Until the oldest action within a rule's period leaves it (the shortest over rules).
    pub expires_in: Duration,
}

/// Replicas added and removed by the actions within `period` before `now`, and when the oldest
/// of them leaves the period (the whole period when there is none).
fn accumulate(now: Timestamp, actions: &[HorizontalAction], period: Duration) -> (i64, i64, Duration) {
    let earliest = before(now, period);
    let (mut added, mut removed, mut expires_in) = (0i64, 0i64, None);
    for action in actions.iter().filter(|a| a.time.0 > earliest) {
        if expires_in.is_none() {
            expires_in = Duration::try_from(action.time.0.duration_since(earliest)).ok();
        }
        let diff = i64::from(action.to_replicas) - i64::from(action.replicas);
        if diff > 0 {
            added += diff;
        } else {
            removed -= diff;
        }
    }
    (added, removed, expires_in.filter(|d| !d.is_zero()).unwrap_or(period))
}

fn period(seconds: i32) -> Duration {
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// Applies `rule_bound` to each rule and picks with `pick`; `None` without rules.
fn bound_over_rules(
    i: &ScaleInputs<'_>,
    policy: &ScalingPolicy,
    pick: fn(i64, i64) -> i64,
    rule_bound: impl Fn(ScalingRuleType, i64, i64) -> i64,
) -> Option<(i64, Duration)> {
    let mut bound: Option<i64> = None;
    let mut expires_in = LONGEST_EXPIRY;
    for rule in policy.rules.iter().flatten() {
        let (added, removed, expiry) = accumulate(i.now, i.actions, period(rule.period_seconds));
        expires_in = expires_in.min(expiry);
        let period_start = i64::from(i.current) - added + removed;
        let b = rule_bound(rule.type_, period_start, i64::from(rule.value));
        bound = Some(bound.map_or(b, |current| pick(current, b)));
    }
    bound.map(|b| (b, expires_in))
}

fn reason(limit: i32, target: i32) -> String {
    format!("desired replica count limited to {limit} (originally {target}) due to scaling policy")
}

/// Scale up: Pods → start + value; Percent → ⌈start × (1 + value/100)⌉ (always at least one more).
pub(super) fn limit_scale_up(i: &ScaleInputs<'_>, policy: Option<&ScalingPolicy>, target: i32) -> Option<Limited> {
    let policy = policy?;
    let pick = if policy.strategy == Some(ScalingStrategy::Min) { i64::min } else { i64::max };
    let (bound, expires_in) = bound_over_rules(i, policy, pick, |kind, start, value| match kind {
        ScalingRuleType::Pods => start + value,
        ScalingRuleType::Percent => (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64,
    })?;
    let limit = bound.max(i64::from(i.current));
    (i64::from(target) > limit).then(|| {
        // limit < target, so it fits.
        let limit = i32::try_from(limit).unwrap_or(target);
        Limited { replicas: limit, reason: reason(limit, target), expires_in }
    })
}

/// Scale down: Pods → start − value; Percent → start × (1 − value/100) truncated, as the DCA
/// converts it. Strategy `Max` (the default) is the largest change, so the lowest bound.
pub(super) fn limit_scale_down(i: &ScaleInputs<'_>, policy: Option<&ScalingPolicy>, target: i32) -> Option<Limited> {
    let policy = policy?;
    let pick = if policy.strategy == Some(ScalingStrategy::Min) { i64::max } else { i64::min };
    let (bound, expires_in) = bound_over_rules(i, policy, pick, |kind, start, value| match kind {
        ScalingRuleType::Pods => start - value,
        ScalingRuleType::Percent => (start as f64 * (1.0 - value as f64 / 100.0)) as i64,
    })?;
    let limit = bound.min(i64::from(i.current));
    (i64::from(target) < limit).then(|| {
        // target < limit ≤ current, so it fits.
        let limit = i32::try_from(limit).unwrap_or(target);
        Limited { replicas: limit, reason: reason(limit, target), expires_in }
    })
}
