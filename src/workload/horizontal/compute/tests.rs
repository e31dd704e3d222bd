//! Table tests of the horizontal decision against spec §10.7, and step-by-step sequences whose
//! expected counts and requeue delays are the DCA's own test expectations.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::workload::horizontal::history;

const T0: i64 = 1_700_000_000;

fn at(s: f64) -> Timestamp {
    Timestamp::from_millisecond(T0 * 1000 + (s * 1000.0) as i64).unwrap()
}

fn policy(v: Value) -> ApplyPolicy {
    serde_json::from_value(v).unwrap()
}

fn rec(s: f64, replicas: i32) -> HorizontalTarget {
    HorizontalTarget { source: Some("Autoscaling".into()), generated_at: Some(Time(at(s))), desired_replicas: replicas }
}

fn act(s: f64, from: i32, to: i32) -> HorizontalAction {
    HorizontalAction {
        time: Time(at(s)),
        replicas: from,
        to_replicas: to,
        recommended_replicas: Some(to),
        limited_reason: None,
    }
}

/// One decision's inputs, owned.
struct S {
    current: i32,
    recommended: i32,
    source: ValueSource,
    bounds: Bounds,
    policy: Option<ApplyPolicy>,
    fallback: Option<FallbackDirection>,
    recs: Vec<HorizontalTarget>,
    actions: Vec<HorizontalAction>,
    now: f64,
}

impl S {
    fn new(current: i32, recommended: i32) -> Self {
        S {
            current,
            recommended,
            source: ValueSource::Autoscaling,
            bounds: Bounds { min: 1, max: i32::MAX },
            policy: None,
            fallback: None,
            recs: vec![],
            actions: vec![],
            now: 10_000.0,
        }
    }
    fn bounds(mut self, min: i32, max: i32) -> Self {
        self.bounds = Bounds { min, max };
        self
    }
    fn policy(mut self, v: Value) -> Self {
        self.policy = Some(policy(v));
        self
    }
    fn local(mut self, allowed: Option<FallbackDirection>) -> Self {
        self.source = ValueSource::Local;
        self.fallback = allowed;
        self
    }
    /// A recommendation `ago` seconds before now.
    fn rec(mut self, ago: f64, replicas: i32) -> Self {
        self.recs.push(rec(self.now - ago, replicas));
        self
    }
    /// An action `ago` seconds before now.
    fn act(mut self, ago: f64, from: i32, to: i32) -> Self {
        self.actions.push(act(self.now - ago, from, to));
        self
    }
    fn run(&self) -> Result<ScaleDecision, ConditionError> {
        compute_scale_action(&ScaleInputs {
            current: self.current,
            recommended: self.recommended,
            source: self.source,
            bounds: self.bounds,
            policy: self.policy.as_ref(),
            fallback_direction: self.fallback,
            recommendations: &self.recs,
            actions: &self.actions,
            now: at(self.now),
        })
    }
    /// `(to, limited reason, requeue seconds)` of a decision that must succeed.
    fn ok(&self) -> (i32, Option<String>, Option<u64>) {
        let d = self.run().unwrap_or_else(|e| panic!("unexpected error {e}"));
        assert_eq!(d.from, self.current);
        assert_eq!(d.recommended, Some(self.recommended));
        (d.to, d.limited_reason, d.requeue_after.map(|d| d.as_secs()))
    }
    fn err(&self) -> ConditionError {
        match self.run() {
            Ok(d) => panic!("expected an error, got {d:?}"),
            Err(e) => e,
        }
    }
}

fn limited(to: i32, reason: &str, requeue: Option<u64>) -> (i32, Option<String>, Option<u64>) {
    (to, Some(reason.to_string()), requeue)
}

fn free(to: i32) -> (i32, Option<String>, Option<u64>) {
    (to, None, None)
}

fn policy_msg(to: i32, from: i32) -> String {
    format!("desired replica count limited to {to} (originally {from}) due to scaling policy")
}

#[test]
fn zero_current_replicas_disable_scaling() {
    let e = S::new(0, 5).err();
    assert_eq!(e, ConditionError::new(Reason::ScalingDisabled, "scaling disabled as current replicas is set to 0"));
    assert_eq!(pinned_decision(0, 3, Some(5)).unwrap_err().reason, Reason::ScalingDisabled);
}

#[test]
fn unconstrained_recommendations_are_followed() {
    assert_eq!(S::new(5, 7).ok(), free(7));
    assert_eq!(S::new(7, 5).ok(), free(5));
    assert_eq!(S::new(5, 5).ok(), free(5));
}

#[test]
fn outside_bounds_jump_to_the_closest_bound_ignoring_rules_and_windows() {
    let outside = |n| {
        format!(
            "current replica count is outside of min/max constraints, scaling back to closest boundary: {n} replicas"
        )
    };
    assert_eq!(S::new(10, 10).bounds(2, 8).ok(), limited(8, &outside(8), None));
    assert_eq!(S::new(6, 7).bounds(8, 10).ok(), limited(8, &outside(8), None));
    // A 1-pod rule and a long window would limit a normal decision; not this one.
    let s = S::new(130, 140)
        .bounds(90, 120)
        .policy(json!({"scaleDown": {"rules": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
            "stabilizationWindowSeconds": 600}}))
        .rec(10.0, 140)
        .act(10.0, 100, 130);
    assert_eq!(s.ok(), limited(120, &outside(120), None));
    // Even with the direction's strategy disabled (the DCA checks no policy on this path).
    let s = S::new(1, 1).bounds(3, 10).policy(json!({"scaleUp": {"strategy": "Disabled"}}));
    assert_eq!(s.ok(), limited(3, &outside(3), None));
}

#[test]
fn min_and_max_clamp_the_recommendation() {
    let max = "desired replica count limited to 8 (originally 9) due to max replicas constraint";
    let min = "desired replica count limited to 8 (originally 7) due to min replicas constraint";
    assert_eq!(S::new(8, 9).bounds(2, 8).ok(), limited(8, max, None));
    assert_eq!(S::new(8, 7).bounds(8, 10).ok(), limited(8, min, None));
    assert_eq!(
        S::new(5, 20).bounds(2, 8).ok(),
        limited(8, "desired replica count limited to 8 (originally 20) due to max replicas constraint", None)
    );
}

#[test]
fn bounds_default_to_one_and_unbounded_and_ignore_a_max_below_min() {
    let c = |v: Value| serde_json::from_value::<Constraints>(v).unwrap();
    assert_eq!(Bounds::of(None), Bounds { min: 1, max: i32::MAX });
    assert_eq!(Bounds::of(Some(&c(json!({"minReplicas": 2, "maxReplicas": 8})))), Bounds { min: 2, max: 8 });
    assert_eq!(Bounds::of(Some(&c(json!({"minReplicas": 5, "maxReplicas": 3})))), Bounds { min: 5, max: i32::MAX });
    assert_eq!(Bounds::of(Some(&c(json!({"maxReplicas": 4})))), Bounds { min: 1, max: 4 });
}

#[test]
fn scale_up_window_holds_to_the_lowest_recent_recommendation() {
    let up = json!({"scaleUp": {"stabilizationWindowSeconds": 300}});
    let s = S::new(5, 10).policy(up.clone()).rec(400.0, 3).rec(200.0, 6).rec(100.0, 8).rec(0.0, 10);
    let msg = "desired replica count adjusted to 6 (originally 10) due to stabilization window";
    assert_eq!(s.ok(), limited(6, msg, None));
    // Every recent recommendation at or above the current one: no limit.
    let s = S::new(5, 10).policy(up.clone()).rec(200.0, 12).rec(0.0, 10);
    assert_eq!(s.ok(), free(10));
    // A recent recommendation below the current count: stay put.
    let s = S::new(5, 10).policy(up).rec(100.0, 2).rec(0.0, 10);
    let msg = "desired replica count adjusted to 5 (originally 10) due to stabilization window";
    assert_eq!(s.ok(), limited(5, msg, None));
}

#[test]
fn scale_down_window_holds_to_the_highest_recent_recommendation() {
    let down = json!({"scaleDown": {"stabilizationWindowSeconds": 600}});
    let s = S::new(10, 4).policy(down.clone()).rec(700.0, 20).rec(500.0, 9).rec(100.0, 7);
    let msg = "desired replica count adjusted to 9 (originally 4) due to stabilization window";
    assert_eq!(s.ok(), limited(9, msg, None));
    let s = S::new(8, 4).policy(down).rec(500.0, 9);
    let msg = "desired replica count adjusted to 8 (originally 4) due to stabilization window";
    assert_eq!(s.ok(), limited(8, msg, None));
    // Without windows, history does not matter.
    assert_eq!(S::new(8, 4).rec(1.0, 9).ok(), free(4));
}

#[test]
fn a_constraint_after_stabilization_names_the_constraint() {
    let s = S::new(4, 10).bounds(1, 5).policy(json!({"scaleUp": {"stabilizationWindowSeconds": 60}})).rec(30.0, 7);
    let msg = "desired replica count limited to 5 (originally 10) due to max replicas constraint";
    assert_eq!(s.ok(), limited(5, msg, None));
}

#[test]
fn fallback_recommendations_only_move_in_the_allowed_direction() {
    use FallbackDirection::*;
    let restricted = |dir: &str| {
        ConditionError::new(
            Reason::FallbackRestricted,
            format!("scaling disabled as fallback in the scaling direction ({dir}) is disabled"),
        )
    };
    assert_eq!(S::new(5, 3).local(Some(ScaleUp)).err(), restricted("scaleDown"));
    assert_eq!(S::new(5, 8).local(Some(ScaleUp)).ok(), free(8));
    assert_eq!(S::new(5, 8).local(Some(ScaleDown)).err(), restricted("scaleUp"));
    assert_eq!(S::new(5, 3).local(Some(ScaleDown)).ok(), free(3));
    assert_eq!(S::new(5, 3).local(Some(All)).ok(), free(3));
    assert_eq!(S::new(5, 8).local(Some(All)).ok(), free(8));
    // No fallback section: no restriction; a steady count is never restricted.
    assert_eq!(S::new(5, 3).local(None).ok(), free(3));
    assert_eq!(S::new(5, 5).local(Some(ScaleDown)).ok(), free(5));
    // The direction is the one after stabilization: held at 5 by the window, nothing to restrict.
    let s = S::new(5, 3).policy(json!({"scaleDown": {"stabilizationWindowSeconds": 60}})).rec(30.0, 7);
    let s = s.local(Some(ScaleUp));
    let msg = "desired replica count adjusted to 5 (originally 3) due to stabilization window";
    assert_eq!(s.ok(), limited(5, msg, None));
    // Datadog's recommendations are not restricted by the fallback direction.
    let mut s = S::new(5, 3);
    s.fallback = Some(ScaleUp);
    assert_eq!(s.ok(), free(3));
}

#[test]
fn fallback_direction_defaults_to_scale_up_when_fallback_is_set() {
    let spec = |fallback: Value| -> DatadogPodAutoscalerSpec {
        let mut v =
            json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"}});
        if !fallback.is_null() {
            v["fallback"] = fallback;
        }
        serde_json::from_value(v).unwrap()
    };
    assert_eq!(fallback_direction(&spec(Value::Null)), None);
    assert_eq!(fallback_direction(&spec(json!({}))), Some(FallbackDirection::ScaleUp));
    assert_eq!(fallback_direction(&spec(json!({"horizontal": {"enabled": true}}))), Some(FallbackDirection::ScaleUp));
    assert_eq!(fallback_direction(&spec(json!({"horizontal": {"direction": "All"}}))), Some(FallbackDirection::All));
}

#[test]
fn scale_up_rules_pick_the_largest_change_by_default_and_the_smallest_with_min() {
    let rules = json!([{"type": "Pods", "value": 4, "periodSeconds": 60}, {"type": "Percent", "value": 50, "periodSeconds": 60}]);
    let s = S::new(10, 30).policy(json!({"scaleUp": {"rules": rules}}));
    assert_eq!(s.ok(), limited(15, &policy_msg(15, 30), Some(61)));
    let s = S::new(10, 30).policy(json!({"scaleUp": {"strategy": "Max", "rules": rules}}));
    assert_eq!(s.ok(), limited(15, &policy_msg(15, 30), Some(61)));
    let s = S::new(10, 30).policy(json!({"scaleUp": {"strategy": "Min", "rules": rules}}));
    assert_eq!(s.ok(), limited(14, &policy_msg(14, 30), Some(61)));
    // Within the rules: not limited, no requeue.
    let s = S::new(10, 13).policy(json!({"scaleUp": {"strategy": "Min", "rules": rules}}));
    assert_eq!(s.ok(), free(13));
    // scaleDown rules do not apply to a scale up.
    let s = S::new(10, 30).policy(json!({"scaleDown": {"rules": rules}}));
    assert_eq!(s.ok(), free(30));
    // A policy without rules does not limit.
    assert_eq!(S::new(10, 30).policy(json!({"scaleUp": {"strategy": "Min"}})).ok(), free(30));
}

#[test]
fn percent_up_rounds_up_so_a_small_target_can_always_grow() {
    let s =
        S::new(3, 10).policy(json!({"scaleUp": {"rules": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}));
    assert_eq!(s.ok(), limited(4, &policy_msg(4, 10), Some(61)));
}

#[test]
fn rules_start_from_the_count_at_the_period_start() {
    let pods5 = json!({"scaleUp": {"rules": [{"type": "Pods", "value": 5, "periodSeconds": 60}]}});
    // 10 → 14 30 s ago: the period started at 10, so at most 15; the action leaves the period in 30 s.
    let s = S::new(14, 20).policy(pods5.clone()).act(30.0, 10, 14);
    assert_eq!(s.ok(), limited(15, &policy_msg(15, 20), Some(31)));
    // An action older than the period does not count.
    let s = S::new(14, 20).policy(pods5.clone()).act(90.0, 10, 14);
    assert_eq!(s.ok(), limited(19, &policy_msg(19, 20), Some(61)));
    // Removed replicas count too: 20 → 12 then 12 → 14 within the period: start 20, bound 25.
    let s = S::new(14, 30).policy(pods5.clone()).act(50.0, 20, 12).act(20.0, 12, 14);
    assert_eq!(s.ok(), limited(25, &policy_msg(25, 30), Some(11)));
    // Already above what the rules allow: stay at the current count, never below it.
    let s = S::new(10, 12)
        .policy(json!({"scaleUp": {"rules": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}))
        .act(10.0, 2, 10);
    assert_eq!(s.ok(), limited(10, &policy_msg(10, 12), Some(51)));
}

#[test]
fn scale_down_rules_mirror_scale_up() {
    let rules = json!([{"type": "Pods", "value": 5, "periodSeconds": 60}, {"type": "Percent", "value": 20, "periodSeconds": 300}]);
    let s = S::new(100, 50).policy(json!({"scaleDown": {"rules": rules}}));
    assert_eq!(s.ok(), limited(80, &policy_msg(80, 50), Some(61)));
    let s = S::new(100, 50).policy(json!({"scaleDown": {"strategy": "Min", "rules": rules}}));
    assert_eq!(s.ok(), limited(95, &policy_msg(95, 50), Some(61)));
    // Percent down truncates: 52 × 0.8 = 41.6 → 41.
    let s = S::new(52, 40)
        .policy(json!({"scaleDown": {"rules": [{"type": "Percent", "value": 20, "periodSeconds": 300}]}}));
    assert_eq!(s.ok(), limited(41, &policy_msg(41, 40), Some(301)));
    // Already below what the rules allow: stay at the current count, never above it.
    let s = S::new(10, 5)
        .policy(json!({"scaleDown": {"rules": [{"type": "Pods", "value": 5, "periodSeconds": 60}]}}))
        .act(20.0, 20, 10);
    assert_eq!(s.ok(), limited(10, &policy_msg(10, 5), Some(41)));
    // scaleUp rules do not apply to a scale down.
    let s = S::new(100, 50).policy(json!({"scaleUp": {"rules": rules}}));
    assert_eq!(s.ok(), free(50));
}

#[test]
fn requeue_waits_for_the_first_in_window_action_to_expire_in_whole_seconds_plus_one() {
    let two_rules = json!({"scaleUp": {"rules": [
        {"type": "Pods", "value": 5, "periodSeconds": 60}, {"type": "Pods", "value": 5, "periodSeconds": 300}]}});
    // Period 60: started at 103 (bound 108), the action 50 s ago leaves in 10 s; period 300:
    // started at 100 (bound 105), the one 250 s ago leaves in 50 s. Max picks 108, the
    // shortest expiry wins the requeue.
    let s = S::new(105, 120).policy(two_rules).act(250.0, 100, 103).act(50.0, 103, 105);
    assert_eq!(s.ok(), limited(108, &policy_msg(108, 120), Some(11)));
    // Sub-second remainders are dropped before adding the second: 29.6 s → 30 s.
    let pods5 = json!({"scaleUp": {"rules": [{"type": "Pods", "value": 5, "periodSeconds": 60}]}});
    let s = S::new(14, 20).policy(pods5).act(30.4, 10, 14);
    assert_eq!(s.run().unwrap().requeue_after, Some(Duration::from_secs(30)));
    // Never more than an hour (plus the rounding second), whatever the period.
    let long = json!({"scaleUp": {"rules": [{"type": "Pods", "value": 1, "periodSeconds": 7200}]}});
    assert_eq!(S::new(10, 20).policy(long).ok(), limited(11, &policy_msg(11, 20), Some(3601)));
}

#[test]
fn preview_mode_computes_but_refuses() {
    let preview = json!({"mode": "Preview"});
    let msg =
        "horizontal scaling disabled due to applyMode: Preview not allowing recommendations from source: Autoscaling";
    let expected = ConditionError::new(Reason::PolicyRestricted, msg);
    assert_eq!(S::new(2, 5).policy(preview.clone()).err(), expected);
    assert_eq!(S::new(5, 5).policy(preview.clone()).err(), expected);
    // Preview never acts, not even to come back within bounds.
    assert_eq!(S::new(12, 12).bounds(1, 10).policy(preview.clone()).err(), expected);
    let local = S::new(2, 5).policy(preview).local(Some(FallbackDirection::All)).err();
    assert!(local.message.ends_with("from source: Local"), "{local}");
    // Apply (explicit or default) acts.
    assert_eq!(S::new(2, 5).policy(json!({"mode": "Apply"})).ok(), free(5));
    assert_eq!(S::new(2, 5).policy(json!({})).ok(), free(5));
}

#[test]
fn disabled_strategies_forbid_their_direction_only() {
    let up_off = json!({"scaleUp": {"strategy": "Disabled"}});
    let down_off = json!({"scaleDown": {"strategy": "Disabled"}});
    assert_eq!(
        S::new(100, 120).policy(up_off.clone()).err(),
        ConditionError::new(Reason::PolicyRestricted, "upscaling disabled by strategy")
    );
    assert_eq!(S::new(100, 95).policy(up_off.clone()).ok(), free(95));
    assert_eq!(S::new(100, 100).policy(up_off).ok(), free(100));
    assert_eq!(
        S::new(95, 90).policy(down_off.clone()).err(),
        ConditionError::new(Reason::PolicyRestricted, "downscaling disabled by strategy")
    );
    assert_eq!(S::new(95, 100).policy(down_off).ok(), free(100));
}

#[test]
fn force_replicas_parses_a_positive_count_and_pins_it() {
    let ann = |v: &str| [(FORCE_REPLICAS_ANNOTATION.to_string(), v.to_string())].into_iter().collect();
    assert_eq!(pinned_replicas(&ann("28")), Some(28));
    assert_eq!(pinned_replicas(&ann(" 3 ")), Some(3));
    for bad in ["0", "-2", "x", "", "2.5", "99999999999"] {
        assert_eq!(pinned_replicas(&ann(bad)), None, "{bad:?}");
    }
    assert_eq!(pinned_replicas(&Default::default()), None);
    let d = pinned_decision(4, 28, Some(5)).unwrap();
    assert_eq!((d.from, d.to, d.recommended, d.requeue_after), (4, 28, Some(5), None));
    let reason = d.limited_reason.unwrap();
    assert!(reason.starts_with("replica count pinned to 28 "), "{reason}");
    assert_eq!(reason, "replica count pinned to 28 by the autoscaling.datadoghq.com/force-replicas annotation");
    assert_eq!(pinned_decision(4, 2, None).unwrap().recommended, None);
}

/// Runs decisions every `step` seconds from `start`, applying each (as the controller records a
/// successful scale), with recommendation `rec` each time; returns `(to, requeue)` per step.
fn run_sequence(policy: Value, bounds: Bounds, start: i32, recs: &[i32], step: f64) -> Vec<(i32, Option<u64>)> {
    let policy: ApplyPolicy = serde_json::from_value(policy).unwrap();
    let retention = history::actions_retention(Some(&policy));
    let (mut current, mut actions, mut out) = (start, Vec::new(), Vec::new());
    for (n, &r) in recs.iter().enumerate() {
        let now = at(n as f64 * step);
        let inputs = ScaleInputs {
            current,
            recommended: r,
            source: ValueSource::Autoscaling,
            bounds,
            policy: Some(&policy),
            fallback_direction: None,
            recommendations: &[],
            actions: &actions,
            now,
        };
        let d = compute_scale_action(&inputs).unwrap();
        if d.to != d.from {
            history::push_action(&mut actions, d.action(now), retention, now);
        }
        current = d.to;
        out.push((d.to, d.requeue_after.map(|d| d.as_secs())));
    }
    out
}

#[test]
fn upscale_sequence_with_min_strategy_matches_the_dca() {
    let policy = json!({"scaleUp": {"strategy": "Min", "rules": [
        {"type": "Pods", "value": 5, "periodSeconds": 60},
        {"type": "Percent", "value": 20, "periodSeconds": 300},
        {"type": "Percent", "value": 100, "periodSeconds": 1800}]}});
    let recs = [104, 108, 125, 125, 125, 125, 125, 125, 125];
    let got = run_sequence(policy, Bounds::of(None), 100, &recs, 30.0);
    let to: Vec<i32> = got.iter().map(|g| g.0).collect();
    assert_eq!(to, vec![104, 105, 109, 110, 114, 115, 119, 120, 120]);
    let requeues: Vec<Option<u64>> = got.iter().map(|g| g.1).collect();
    assert_eq!(requeues, [vec![None], vec![Some(31); 8]].concat());
}

#[test]
fn downscale_sequence_with_min_strategy_matches_the_dca() {
    let policy = json!({"scaleDown": {"strategy": "Min", "rules": [
        {"type": "Pods", "value": 5, "periodSeconds": 60},
        {"type": "Percent", "value": 20, "periodSeconds": 300},
        {"type": "Percent", "value": 50, "periodSeconds": 1800}]}});
    let recs = [96, 92, 75, 75, 75, 75, 75, 75, 75];
    let got = run_sequence(policy, Bounds::of(None), 100, &recs, 30.0);
    let to: Vec<i32> = got.iter().map(|g| g.0).collect();
    assert_eq!(to, vec![96, 95, 91, 90, 86, 85, 81, 80, 80]);
    let requeues: Vec<Option<u64>> = got.iter().map(|g| g.1).collect();
    assert_eq!(requeues, [vec![None], vec![Some(31); 8]].concat());
}

#[test]
fn both_directions_share_the_action_history_as_in_the_dca() {
    let policy = json!({
        "scaleUp": {"rules": [{"type": "Pods", "value": 5, "periodSeconds": 300}]},
        "scaleDown": {"rules": [{"type": "Pods", "value": 5, "periodSeconds": 300}]}});
    let got = run_sequence(policy, Bounds { min: 90, max: 120 }, 100, &[103, 97, 92, 110], 30.0);
    assert_eq!(got, vec![(103, None), (97, None), (95, Some(241)), (105, Some(211))]);
}
