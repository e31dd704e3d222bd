//! Which recommendations are acted upon (spec §10.6): the main values (Datadog, or the external
//! recommender) while they are fresh, the local fallback's when the main ones are stale (or
//! absent long enough, or forced by annotation) and the fallback's are fresh, else the previous
//! active values unchanged. [`choose`] is the pure decision; [`apply`] records it in the DPA and
//! appends new horizontal recommendations to the history.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::workload::crd::HorizontalTarget;
use crate::workload::model::{FORCE_FALLBACK_ANNOTATION, PodAutoscalerInternal, parse_bool};

/// Stale threshold without a `fallback` section.
pub const DEFAULT_STALE_THRESHOLD: Duration = Duration::from_secs(30 * 60);
/// `fallback.horizontal.triggers.staleRecommendationThresholdSeconds` when unset (CRD default).
pub const DEFAULT_FALLBACK_STALE_SECONDS: i32 = 600;
/// Longest stabilization window kept in the recommendation history.
pub const LONGEST_HISTORY: Duration = Duration::from_secs(60 * 60);

/// Where active values are taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Main,
    Fallback,
}

/// The decision for one reconcile; `None` keeps the previous active values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub horizontal: Option<Pick>,
    pub vertical: Option<Pick>,
}

/// The stale threshold of a DPA's recommendations.
pub fn stale_threshold(dpa: &PodAutoscalerInternal) -> Duration {
    match &dpa.spec.fallback {
        None => DEFAULT_STALE_THRESHOLD,
        Some(fallback) => {
            let triggers = fallback.horizontal.as_ref().and_then(|h| h.triggers.as_ref());
            let seconds = triggers.and_then(|t| t.stale_recommendation_threshold_seconds);
            Duration::from_secs(seconds.unwrap_or(DEFAULT_FALLBACK_STALE_SECONDS).max(0) as u64)
        }
    }
}

/// `now - at > threshold` (a timestamp from the future is fresh).
fn is_stale(now: Timestamp, at: Timestamp, threshold: Duration) -> bool {
    now.duration_since(at) > jiff_span(threshold)
}

fn fallback_enabled(dpa: &PodAutoscalerInternal) -> bool {
    let horizontal = dpa.spec.fallback.as_ref().and_then(|f| f.horizontal.as_ref());
    horizontal.and_then(|h| h.enabled) != Some(false)
}

/// The active sources for `now` (spec §10.6).
pub fn choose(now: Timestamp, dpa: &PodAutoscalerInternal) -> Choice {
    let vertical = dpa.main.vertical.as_ref().map(|_| Pick::Main);
    if !dpa.horizontal_enabled() {
        return Choice { horizontal: Some(Pick::Main), vertical };
    }
    let threshold = stale_threshold(dpa);
    let stale = |at: Timestamp| is_stale(now, at, threshold);
    let forced = fallback_enabled(dpa) && dpa.annotation(FORCE_FALLBACK_ANNOTATION).and_then(parse_bool) == Some(true);
    let main = dpa.main.horizontal.as_ref();
    if main.is_some_and(|m| !forced && !stale(m.timestamp)) {
        return Choice { horizontal: Some(Pick::Main), vertical };
    }
    let active = dpa.active.horizontal.as_ref();
    let main_unusable = forced
        || main.is_some_and(|m| stale(m.timestamp))
        || (main.is_none() && active.is_some_and(|a| stale(a.timestamp)))
        || (main.is_none() && active.is_none() && stale(dpa.creation_timestamp));
    let fallback_fresh = dpa.fallback.horizontal.as_ref().is_some_and(|f| !stale(f.timestamp));
    if main_unusable && fallback_fresh && fallback_enabled(dpa) {
        return Choice { horizontal: Some(Pick::Fallback), vertical };
    }
    Choice { horizontal: None, vertical }
}

/// Sets the active values as `choice` says, takes the errors of the main values, and appends a
/// newer active horizontal recommendation to the history (kept for the longest stabilization
/// window, at most an hour; only the latest without a window).
pub fn apply(dpa: &mut PodAutoscalerInternal, now: Timestamp, choice: Choice) {
    let pick = |dpa: &PodAutoscalerInternal, p: Pick| match p {
        Pick::Main => dpa.main.clone(),
        Pick::Fallback => dpa.fallback.clone(),
    };
    if let Some(p) = choice.horizontal {
        dpa.active.horizontal = pick(dpa, p).horizontal;
    }
    if let Some(p) = choice.vertical {
        dpa.active.vertical = pick(dpa, p).vertical;
    }
    dpa.active.horizontal_error = dpa.main.horizontal_error.clone();
    dpa.active.vertical_error = dpa.main.vertical_error.clone();
    dpa.active.error = dpa.main.error.clone();
    record_recommendation(dpa, now);
}

fn record_recommendation(dpa: &mut PodAutoscalerInternal, now: Timestamp) {
    let Some(active) = dpa.active.horizontal.clone() else { return };
    let seconds = |t: &Timestamp| t.as_second();
    let last = dpa.horizontal_last_recommendations.last().and_then(|r| r.generated_at.as_ref());
    if last.is_some_and(|l| seconds(&l.0) >= seconds(&active.timestamp)) {
        return;
    }
    let retention = recommendation_retention(dpa);
    let history = &mut dpa.horizontal_last_recommendations;
    if retention.is_zero() {
        history.clear();
    } else {
        let cutoff = now.checked_sub(jiff_span(retention)).unwrap_or(Timestamp::MIN);
        let first_kept = history.iter().position(|r| r.generated_at.as_ref().is_some_and(|t| t.0 > cutoff));
        history.drain(..first_kept.unwrap_or(history.len()));
    }
    history.push(HorizontalTarget {
        source: Some(active.source.as_str().to_string()),
        generated_at: Some(Time(active.timestamp)),
        desired_replicas: active.replicas,
    });
}

fn jiff_span(d: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::try_from(d).unwrap_or(k8s_openapi::jiff::SignedDuration::MAX)
}

/// How long recommendations stay in the history: the longest stabilization window, ≤ 1 h.
pub fn recommendation_retention(dpa: &PodAutoscalerInternal) -> Duration {
    let Some(policy) = dpa.spec.apply_policy.as_ref() else { return Duration::ZERO };
    let window = |p: Option<&crate::workload::crd::ScalingPolicy>| {
        p.and_then(|p| p.stabilization_window_seconds).unwrap_or(0).max(0) as u64
    };
    let longest = window(policy.scale_up.as_ref()).max(window(policy.scale_down.as_ref()));
    Duration::from_secs(longest).min(LONGEST_HISTORY)
}

#[cfg(test)]
mod tests;
