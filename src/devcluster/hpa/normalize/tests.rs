use super::*;
use serde_json::json;

const FIVE_MIN: Duration = Duration::from_secs(300);

/// Far enough from boot that every window start is representable.
fn base() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

fn at(base: Instant, s: u64) -> Instant {
    base + Duration::from_secs(s)
}

fn defaults(downscale: Duration) -> Behavior {
    Behavior::from_spec(&json!({}), downscale).unwrap()
}

#[test]
fn behavior_defaults_are_the_api_defaults() {
    let b = defaults(FIVE_MIN);
    assert_eq!(b.scale_up.stabilization_seconds, 0);
    assert_eq!(b.scale_up.select, Select::Max);
    assert_eq!(
        b.scale_up.policies,
        vec![
            Policy { type_: PolicyType::Pods, value: 4, period_seconds: 15 },
            Policy { type_: PolicyType::Percent, value: 100, period_seconds: 15 }
        ]
    );
    assert_eq!(b.scale_down.stabilization_seconds, 300);
    assert_eq!(b.scale_down.policies, vec![Policy { type_: PolicyType::Percent, value: 100, period_seconds: 15 }]);
    assert!(Behavior::from_spec(&Value::Null, FIVE_MIN).is_none());
    let tol = Behavior::from_spec(&json!({"scaleUp": {"tolerance": "50m"}}), FIVE_MIN).unwrap();
    assert_eq!(tol.scale_up.tolerance, Some(0.05));
}

#[test]
fn without_behavior_the_recorded_42_over_10_case_goes_1_then_4_then_5() {
    let t0 = base();
    let mut m = HpaMemory::default();
    m.record_initial(1, t0);
    let n = m.normalize(1, 5, 1, 10, FIVE_MIN, t0);
    assert_eq!(n.replicas, 4);
    assert_eq!(n.limited, (true, SCALE_UP_LIMIT));
    assert_eq!(n.able, READY_FOR_NEW_SCALE);
    let n = m.normalize(4, 5, 1, 10, FIVE_MIN, at(t0, 15));
    assert_eq!(n.replicas, 5);
    assert_eq!(n.limited, (false, WITHIN_RANGE));
}

#[test]
fn without_behavior_downscale_waits_for_the_window() {
    let t0 = base();
    let mut m = HpaMemory::default();
    m.record_initial(5, t0);
    let n = m.normalize(5, 2, 1, 10, FIVE_MIN, at(t0, 60));
    assert_eq!(n.replicas, 5);
    assert_eq!(n.able, SCALE_DOWN_STABILIZED);
    let n = m.normalize(5, 2, 1, 10, FIVE_MIN, at(t0, 301));
    assert_eq!(n.replicas, 2);
    assert_eq!(n.able, READY_FOR_NEW_SCALE);
}

#[test]
fn min_and_max_clamp_with_their_reasons() {
    let now = base();
    let mut m = HpaMemory::default();
    let n = m.normalize(6, 20, 1, 8, Duration::ZERO, now);
    assert_eq!((n.replicas, n.limited), (8, (true, TOO_MANY)));
    let n = m.normalize(6, 0, 2, 8, Duration::ZERO, now + Duration::from_secs(1));
    assert_eq!((n.replicas, n.limited), (2, (true, TOO_FEW)));
    let b = defaults(Duration::ZERO);
    let mut m = HpaMemory::default();
    let n = m.normalize_with_behavior(&b, 3, 9, 1, 5, now);
    assert_eq!((n.replicas, n.limited), (5, (true, TOO_MANY)));
    let n = m.normalize_with_behavior(&b, 3, 0, 2, 5, now + Duration::from_secs(1));
    assert_eq!((n.replicas, n.limited), (2, (true, TOO_FEW)));
}

#[test]
fn default_scale_up_policies_allow_4_pods_or_double_per_15s_over_recorded_events() {
    let t0 = base();
    let b = defaults(FIVE_MIN);
    let mut m = HpaMemory::default();
    m.record_initial(1, t0);
    let n = m.normalize_with_behavior(&b, 1, 10, 1, 100, t0);
    assert_eq!(n.replicas, 5, "max(1+4, 1*2)");
    assert_eq!(n.limited, (true, SCALE_UP_LIMIT));
    m.store_scale_event(Some(&b), 1, 5, t0);
    // Inside the 15 s period the 4 pods already added count against the policy.
    let n = m.normalize_with_behavior(&b, 5, 10, 1, 100, at(t0, 5));
    assert_eq!(n.replicas, 5);
    assert_eq!(n.limited, (true, SCALE_UP_LIMIT));
    // After it, Percent 100 wins: 5 → 10.
    let n = m.normalize_with_behavior(&b, 5, 30, 1, 100, at(t0, 16));
    assert_eq!(n.replicas, 10);
}

#[test]
fn scale_down_stabilization_window_then_percent_policy() {
    let t0 = base();
    let b = Behavior::from_spec(&json!({"scaleDown": {"stabilizationWindowSeconds": 60}}), FIVE_MIN).unwrap();
    let mut m = HpaMemory::default();
    m.record_initial(10, t0);
    let n = m.normalize_with_behavior(&b, 10, 2, 1, 20, at(t0, 10));
    assert_eq!(n.replicas, 10);
    assert_eq!(n.able, SCALE_DOWN_STABILIZED);
    let n = m.normalize_with_behavior(&b, 10, 2, 1, 20, at(t0, 71));
    assert_eq!(n.replicas, 2);
    assert_eq!(n.able, READY_FOR_NEW_SCALE);
    assert_eq!(n.limited, (false, WITHIN_RANGE));
}

#[test]
fn scale_up_stabilization_takes_the_lowest_recent_recommendation() {
    let t0 = base();
    let b = Behavior::from_spec(&json!({"scaleUp": {"stabilizationWindowSeconds": 30}}), FIVE_MIN).unwrap();
    let mut m = HpaMemory::default();
    m.record_initial(2, t0);
    let n = m.normalize_with_behavior(&b, 2, 6, 1, 20, at(t0, 10));
    assert_eq!(n.replicas, 2);
    assert_eq!(n.able, SCALE_UP_STABILIZED);
    let n = m.normalize_with_behavior(&b, 2, 6, 1, 20, at(t0, 35));
    assert_eq!(n.replicas, 6, "the 2 fell out of the window; 6 from t0+10 is the lowest");
}

#[test]
fn pods_policy_limits_scale_down_per_period_and_disabled_freezes() {
    let t0 = base();
    let b = Behavior::from_spec(
        &json!({"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}),
        FIVE_MIN,
    )
    .unwrap();
    let mut m = HpaMemory::default();
    let n = m.normalize_with_behavior(&b, 5, 1, 1, 10, t0);
    assert_eq!((n.replicas, n.limited), (4, (true, SCALE_DOWN_LIMIT)));
    m.store_scale_event(Some(&b), 5, 4, t0);
    let n = m.normalize_with_behavior(&b, 4, 1, 1, 10, at(t0, 10));
    assert_eq!(n.replicas, 4, "one pod already removed in this 60 s period");
    let n = m.normalize_with_behavior(&b, 4, 1, 1, 10, at(t0, 61));
    assert_eq!(n.replicas, 3);

    let frozen = Behavior::from_spec(&json!({"scaleUp": {"selectPolicy": "Disabled"}}), FIVE_MIN).unwrap();
    let n = HpaMemory::default().normalize_with_behavior(&frozen, 3, 9, 1, 10, t0);
    assert_eq!((n.replicas, n.limited), (3, (true, SCALE_UP_LIMIT)));
}

#[test]
fn min_select_policy_picks_the_smallest_change() {
    let b = Behavior::from_spec(&json!({"scaleUp": {"selectPolicy": "Min"}}), FIVE_MIN).unwrap();
    let n = HpaMemory::default().normalize_with_behavior(&b, 10, 40, 1, 100, base());
    assert_eq!(n.replicas, 14, "min(10+4, 10*2)");
}
