//! From the metrics' proposal to the replica count to set, as kube-controller-manager's
//! `normalizeDesiredReplicas` (no `behavior`: downscale stabilization window, scale-up limit
//! max(2×current, 4)) and `normalizeDesiredReplicasWithBehaviors` (stabilization windows, then the
//! rate policies over the recorded scale events). The memory of recommendations and scale events
//! is per HPA and lives only in the controller, as in kube.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::apimachinery::quantity::milli_value;

/// `HPAScalingPolicy` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Pods,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub type_: PolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

/// `selectPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

/// One direction of `spec.behavior`, with the API defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRules {
    pub stabilization_seconds: i64,
    pub select: Select,
    pub policies: Vec<Policy>,
    /// `tolerance` (HPAConfigurableTolerance), as a fraction.
    pub tolerance: Option<f64>,
}

/// `spec.behavior` with both directions defaulted, or `None` when the HPA has no behavior.
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

impl Behavior {
    /// Reads `spec.behavior`; a missing scaleDown stabilization window takes the controller's
    /// downscale stabilization (as `maybeInitScaleDownStabilizationWindow` does).
    pub fn from_spec(behavior: &Value, downscale_window: Duration) -> Option<Behavior> {
        if !behavior.is_object() {
            return None;
        }
        let up_default = vec![
            Policy { type_: PolicyType::Pods, value: 4, period_seconds: 15 },
            Policy { type_: PolicyType::Percent, value: 100, period_seconds: 15 },
        ];
        let down_default = vec![Policy { type_: PolicyType::Percent, value: 100, period_seconds: 15 }];
        Some(Behavior {
            scale_up: rules(&behavior["scaleUp"], 0, up_default),
            scale_down: rules(&behavior["scaleDown"], downscale_window.as_secs() as i64, down_default),
        })
    }
}

fn rules(v: &Value, default_window: i64, default_policies: Vec<Policy>) -> ScalingRules {
    let select = match v["selectPolicy"].as_str() {
        Some("Min") => Select::Min,
        Some("Disabled") => Select::Disabled,
        _ => Select::Max,
    };
    let policies = match v["policies"].as_array() {
        Some(list) => list
            .iter()
            .map(|p| Policy {
                type_: if p["type"] == "Percent" { PolicyType::Percent } else { PolicyType::Pods },
                value: int(&p["value"]),
                period_seconds: int(&p["periodSeconds"]),
            })
            .collect(),
        None => default_policies,
    };
    let tolerance = match &v["tolerance"] {
        Value::String(s) => milli_value(s).ok().map(|m| m as f64 / 1000.0),
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    ScalingRules {
        stabilization_seconds: v["stabilizationWindowSeconds"].as_i64().unwrap_or(default_window),
        select,
        policies,
        tolerance,
    }
}

fn int(v: &Value) -> i32 {
    v.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
struct Recommendation {
    replicas: i32,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct ScaleEvent {
    change: i32,
    at: Instant,
    outdated: bool,
}

/// What the controller remembers about one HPA between syncs.
#[derive(Debug, Default, Clone)]
pub struct HpaMemory {
    recommendations: Vec<Recommendation>,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
}

/// A reason and message for the AbleToScale / ScalingLimited conditions.
pub type Why = (&'static str, &'static str);

pub const WITHIN_RANGE: Why = ("DesiredWithinRange", "the desired count is within the acceptable range");
const SCALE_UP_LIMIT: Why =
    ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate");
const SCALE_DOWN_LIMIT: Why =
    ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate");
const TOO_MANY: Why = ("TooManyReplicas", "the desired replica count is more than the maximum replica count");
const TOO_FEW: Why = ("TooFewReplicas", "the desired replica count is less than the minimum replica count");
pub const READY_FOR_NEW_SCALE: Why = ("ReadyForNewScale", "recommended size matches current size");
const SCALE_DOWN_STABILIZED: Why = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);
const SCALE_UP_STABILIZED: Why = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);

/// The outcome of normalization: the replica count and the two conditions it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized {
    pub replicas: i32,
    /// AbleToScale=True with this reason/message.
    pub able: Why,
    /// ScalingLimited with this status, reason and message.
    pub limited: (bool, Why),
}

fn before(at: Instant, now: Instant, window: Duration) -> bool {
    now.checked_sub(window).is_some_and(|cutoff| at < cutoff)
}

fn after(at: Instant, now: Instant, window: Duration) -> bool {
    now.checked_sub(window).is_none_or(|cutoff| at > cutoff)
}

fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

impl HpaMemory {
    /// `recordInitialRecommendation`: the first sync remembers the current size.
    pub fn record_initial(&mut self, current: i32, now: Instant) {
        if self.recommendations.is_empty() {
            self.recommendations.push(Recommendation { replicas: current, at: now });
        }
    }

    /// Replaces the oldest-outside-the-window sample (or appends) with this recommendation.
    fn record(&mut self, replicas: i32, old: Option<usize>, now: Instant) {
        let rec = Recommendation { replicas, at: now };
        match old {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// Without behavior: the highest recommendation of the downscale window, then the min/max and
    /// the fixed scale-up limit.
    pub fn normalize(
        &mut self,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        window: Duration,
        now: Instant,
    ) -> Normalized {
        let mut stabilized = desired;
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            if before(r.at, now, window) {
                old = Some(i);
            } else if r.replicas > stabilized {
                stabilized = r.replicas;
            }
        }
        self.record(desired, old, now);
        let able = if stabilized != desired { SCALE_DOWN_STABILIZED } else { READY_FOR_NEW_SCALE };
        let (replicas, why) = limit_with_rules(current, stabilized, min, max);
        Normalized { replicas, able, limited: (replicas != stabilized, why) }
    }

    /// With behavior: stabilization over both windows, then the rate policies.
    pub fn normalize_with_behavior(
        &mut self,
        b: &Behavior,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        now: Instant,
    ) -> Normalized {
        let (stabilized, why) = self.stabilize(b, current, desired, now);
        let able = if stabilized != desired { why } else { READY_FOR_NEW_SCALE };
        let (replicas, why) = self.limit_with_behavior(b, current, stabilized, min, max, now);
        Normalized { replicas, able, limited: (replicas != stabilized, why) }
    }

    fn stabilize(&mut self, b: &Behavior, current: i32, desired: i32, now: Instant) -> (i32, Why) {
        let up_window = secs(b.scale_up.stabilization_seconds);
        let down_window = secs(b.scale_down.stabilization_seconds);
        let (mut up, mut down) = (desired, desired);
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            if after(r.at, now, up_window) {
                up = up.min(r.replicas);
            }
            if after(r.at, now, down_window) {
                down = down.max(r.replicas);
            }
            if before(r.at, now, up_window) && before(r.at, now, down_window) {
                old = Some(i);
            }
        }
        let recommendation = current.max(up).min(down);
        self.record(desired, old, now);
        let why = if desired >= current { SCALE_UP_STABILIZED } else { SCALE_DOWN_STABILIZED };
        (recommendation, why)
    }

    fn limit_with_behavior(
        &self,
        b: &Behavior,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        now: Instant,
    ) -> (i32, Why) {
        if desired > current {
            let limit = scale_up_limit(current, &self.up_events, &self.down_events, &b.scale_up, now).max(current);
            let (allowed, why) = if max > limit { (limit, SCALE_UP_LIMIT) } else { (max, TOO_MANY) };
            if desired > allowed {
                return (allowed, why);
            }
        } else if desired < current {
            let limit = scale_down_limit(current, &self.up_events, &self.down_events, &b.scale_down, now).min(current);
            let (allowed, why) = if min < limit { (limit, SCALE_DOWN_LIMIT) } else { (min, TOO_FEW) };
            if desired < allowed {
                return (allowed, why);
            }
        }
        (desired, WITHIN_RANGE)
    }

    /// `storeScaleEvent`: remembered only with behavior, reusing a slot outdated by the longest period.
    pub fn store_scale_event(&mut self, b: Option<&Behavior>, prev: i32, new: i32, now: Instant) {
        let Some(b) = b else { return };
        let (events, rules, change) = if new > prev {
            (&mut self.up_events, &b.scale_up, new - prev)
        } else {
            (&mut self.down_events, &b.scale_down, prev - new)
        };
        let longest = rules.policies.iter().map(|p| p.period_seconds).max().unwrap_or(0).max(0);
        let mut old = None;
        for (i, e) in events.iter_mut().enumerate() {
            if before(e.at, now, secs(i64::from(longest))) {
                e.outdated = true;
            }
            if e.outdated {
                old = Some(i);
            }
        }
        let event = ScaleEvent { change, at: now, outdated: false };
        match old {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

/// `convertDesiredReplicasWithRules` (no behavior).
fn limit_with_rules(current: i32, desired: i32, min: i32, max: i32) -> (i32, Why) {
    let scale_up_limit = (2.0 * f64::from(current)).max(4.0) as i32;
    let (allowed_max, why) = if max > scale_up_limit { (scale_up_limit, SCALE_UP_LIMIT) } else { (max, TOO_MANY) };
    if desired < min {
        (min, TOO_FEW)
    } else if desired > allowed_max {
        (allowed_max, why)
    } else {
        (desired, WITHIN_RANGE)
    }
}

fn changes_in_period(period_seconds: i32, events: &[ScaleEvent], now: Instant) -> i32 {
    let window = secs(i64::from(period_seconds));
    events.iter().filter(|e| after(e.at, now, window)).map(|e| e.change).sum()
}

fn period_start(current: i32, p: &Policy, up: &[ScaleEvent], down: &[ScaleEvent], now: Instant) -> i32 {
    current - changes_in_period(p.period_seconds, up, now) + changes_in_period(p.period_seconds, down, now)
}

/// `calculateScaleUpLimitWithScalingRules`.
fn scale_up_limit(current: i32, up: &[ScaleEvent], down: &[ScaleEvent], rules: &ScalingRules, now: Instant) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select {
        Select::Disabled => return current,
        Select::Min => (i32::MAX, std::cmp::min),
        Select::Max => (i32::MIN, std::cmp::max),
    };
    for p in &rules.policies {
        let start = period_start(current, p, up, down, now);
        let proposed = match p.type_ {
            PolicyType::Pods => start.saturating_add(p.value),
            PolicyType::Percent => (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32,
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(current: i32, up: &[ScaleEvent], down: &[ScaleEvent], rules: &ScalingRules, now: Instant) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select {
        Select::Disabled => return current,
        Select::Min => (i32::MIN, std::cmp::max),
        Select::Max => (i32::MAX, std::cmp::min),
    };
    for p in &rules.policies {
        let start = period_start(current, p, up, down, now);
        let proposed = match p.type_ {
            PolicyType::Pods => start.saturating_sub(p.value),
            PolicyType::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}

#[cfg(test)]
mod tests;
