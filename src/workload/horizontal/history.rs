//! The horizontal history a DPA keeps (spec §10.2): the scaling actions taken, read by the
//! scaling rules, kept for the longest rule period; and the active recommendations seen, read by
//! the stabilization windows, kept for the longest window. Both retentions are capped at 60
//! minutes; with a retention of zero only the newest entry is kept (the status shows it).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::workload::crd::{ApplyPolicy, HorizontalAction, HorizontalTarget, ScalingPolicy};
use crate::workload::model::PodAutoscalerInternal;

/// The longest scaling-rule period kept in memory.
pub const LONGEST_RULE_PERIOD: Duration = Duration::from_secs(60 * 60);
/// The longest stabilization window kept in memory.
pub const LONGEST_STABILIZATION_WINDOW: Duration = Duration::from_secs(60 * 60);

fn policies(policy: Option<&ApplyPolicy>) -> impl Iterator<Item = &ScalingPolicy> {
    policy.into_iter().flat_map(|p| [p.scale_up.as_ref(), p.scale_down.as_ref()]).flatten()
}

fn seconds(s: i32) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// How long actions are kept: the longest rule period of either direction, capped at 60 min.
pub fn actions_retention(policy: Option<&ApplyPolicy>) -> Duration {
    policies(policy)
        .flat_map(|p| p.rules.iter().flatten())
        .map(|r| seconds(r.period_seconds))
        .max()
        .unwrap_or_default()
        .min(LONGEST_RULE_PERIOD)
}

/// How long recommendations are kept: the longest stabilization window, capped at 60 min.
pub fn recommendations_retention(policy: Option<&ApplyPolicy>) -> Duration {
    policies(policy)
        .filter_map(|p| p.stabilization_window_seconds)
        .map(seconds)
        .max()
        .unwrap_or_default()
        .min(LONGEST_STABILIZATION_WINDOW)
}

/// `now - d` (saturating at the earliest representable instant).
pub(crate) fn before(now: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    now.checked_sub(d).unwrap_or(Timestamp::MIN)
}

/// Appends `entry` to `history` (oldest first) after dropping entries not newer than
/// `now - retention`; with a zero retention only `entry` remains.
fn push<T>(
    history: &mut Vec<T>,
    entry: T,
    retention: Duration,
    now: Timestamp,
    time: impl Fn(&T) -> Option<Timestamp>,
) {
    if retention.is_zero() {
        history.clear();
    } else {
        let cutoff = before(now, retention);
        let keep_from = history.iter().position(|e| time(e).is_some_and(|t| t > cutoff)).unwrap_or(history.len());
        history.drain(..keep_from);
    }
    history.push(entry);
}

/// Records a successful scaling action.
pub fn push_action(actions: &mut Vec<HorizontalAction>, action: HorizontalAction, retention: Duration, now: Timestamp) {
    push(actions, action, retention, now, |a| Some(a.time.0));
}

/// Records an active recommendation.
pub fn push_recommendation(
    history: &mut Vec<HorizontalTarget>,
    recommendation: HorizontalTarget,
    retention: Duration,
    now: Timestamp,
) {
    push(history, recommendation, retention, now, |r| r.generated_at.as_ref().map(|t| t.0));
}

/// Appends the DPA's active horizontal recommendation to its history when it is newer than the
/// last one recorded (spec §10.6, last point); idempotent, so the source selection and the
/// horizontal controller may both call it.
pub fn observe_active_recommendation(dpa: &mut PodAutoscalerInternal, now: Timestamp) {
    let Some(active) = &dpa.active.horizontal else { return };
    let newer = dpa
        .horizontal_last_recommendations
        .last()
        .is_none_or(|last| last.generated_at.as_ref().is_none_or(|t| t.0 < active.timestamp));
    if !newer {
        return;
    }
    let entry = HorizontalTarget {
        source: Some(active.source.as_str().to_string()),
        generated_at: Some(Time(active.timestamp)),
        desired_replicas: active.replicas,
    };
    let retention = recommendations_retention(dpa.spec.apply_policy.as_ref());
    push_recommendation(&mut dpa.horizontal_last_recommendations, entry, retention, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::crd::{ScalingRule, ScalingRuleType};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn action(s: i64, from: i32, to: i32) -> HorizontalAction {
        HorizontalAction {
            time: Time(at(s)),
            replicas: from,
            to_replicas: to,
            recommended_replicas: Some(to),
            limited_reason: None,
        }
    }

    fn rule(period: i32) -> ScalingRule {
        ScalingRule { type_: ScalingRuleType::Pods, value: 1, period_seconds: period }
    }

    #[test]
    fn retentions_take_the_longest_period_and_window_capped_at_an_hour() {
        assert_eq!(actions_retention(None), Duration::ZERO);
        assert_eq!(recommendations_retention(None), Duration::ZERO);
        let policy = ApplyPolicy {
            scale_up: Some(ScalingPolicy {
                rules: Some(vec![rule(60), rule(300)]),
                stabilization_window_seconds: Some(120),
                ..Default::default()
            }),
            scale_down: Some(ScalingPolicy {
                rules: Some(vec![rule(30)]),
                stabilization_window_seconds: Some(600),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(actions_retention(Some(&policy)), Duration::from_secs(300));
        assert_eq!(recommendations_retention(Some(&policy)), Duration::from_secs(600));
        let long = ApplyPolicy {
            scale_down: Some(ScalingPolicy {
                rules: Some(vec![rule(7200)]),
                stabilization_window_seconds: Some(5400),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(actions_retention(Some(&long)), LONGEST_RULE_PERIOD);
        assert_eq!(recommendations_retention(Some(&long)), LONGEST_STABILIZATION_WINDOW);
    }

    #[test]
    fn pushing_drops_entries_out_of_retention() {
        let mut actions = vec![action(0, 1, 2), action(100, 2, 3), action(200, 3, 4)];
        push_action(&mut actions, action(300, 4, 5), Duration::from_secs(150), at(300));
        let times: Vec<i64> = actions.iter().map(|a| a.time.0.as_second() - at(0).as_second()).collect();
        assert_eq!(times, vec![200, 300]);

        // Everything is older than the retention: only the new entry stays.
        push_action(&mut actions, action(1000, 5, 6), Duration::from_secs(60), at(1000));
        assert_eq!(actions.len(), 1);

        // Zero retention keeps only the newest.
        push_action(&mut actions, action(1001, 6, 7), Duration::ZERO, at(1001));
        assert_eq!(actions, vec![action(1001, 6, 7)]);
    }

    #[test]
    fn active_recommendations_are_recorded_once_each() {
        use crate::workload::model::{HorizontalValues, ValueSource};
        let spec = serde_json::from_value(serde_json::json!({
            "owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "applyPolicy": {"scaleDown": {"stabilizationWindowSeconds": 300}}
        }))
        .unwrap();
        let mut dpa = PodAutoscalerInternal::new("default", "web", spec, at(0));
        observe_active_recommendation(&mut dpa, at(0));
        assert!(dpa.horizontal_last_recommendations.is_empty());
        dpa.active.horizontal =
            Some(HorizontalValues { source: ValueSource::Autoscaling, timestamp: at(10), replicas: 4 });
        observe_active_recommendation(&mut dpa, at(20));
        observe_active_recommendation(&mut dpa, at(30));
        assert_eq!(dpa.horizontal_last_recommendations.len(), 1);
        let rec = &dpa.horizontal_last_recommendations[0];
        assert_eq!((rec.source.as_deref(), rec.desired_replicas), (Some("Autoscaling"), 4));
        dpa.active.horizontal = Some(HorizontalValues { source: ValueSource::Local, timestamp: at(400), replicas: 6 });
        observe_active_recommendation(&mut dpa, at(400));
        // The first one (t=10) is older than the 300 s window at t=400.
        let replicas: Vec<i32> = dpa.horizontal_last_recommendations.iter().map(|r| r.desired_replicas).collect();
        assert_eq!(replicas, vec![6]);
    }
}
