//! Table tests of the active-source choice (spec §10.6) and of the recommendation history.

use serde_json::json;

use super::*;
use crate::workload::model::{HorizontalValues, ValueSource, VerticalValues};

const NOW: i64 = 1_700_000_000;

fn at(seconds_ago: i64) -> Timestamp {
    Timestamp::from_second(NOW - seconds_ago).unwrap()
}

fn now() -> Timestamp {
    at(0)
}

fn dpa(extra: serde_json::Value) -> PodAutoscalerInternal {
    let mut spec =
        json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let mut dpa = PodAutoscalerInternal::new("prod", "web", serde_json::from_value(spec).unwrap(), at(7200));
    dpa.creation_timestamp = at(7200);
    dpa
}

fn values(source: ValueSource, seconds_ago: i64, replicas: i32) -> HorizontalValues {
    HorizontalValues { source, timestamp: at(seconds_ago), replicas }
}

/// One row: main age, fallback age, active age (None: absent), DPA age, spec extras, annotation.
struct Row {
    name: &'static str,
    main: Option<i64>,
    fallback: Option<i64>,
    active: Option<i64>,
    created: i64,
    spec: serde_json::Value,
    force_fallback: Option<&'static str>,
    expected: Option<Pick>,
}

fn row(name: &'static str, main: Option<i64>, fallback: Option<i64>, expected: Option<Pick>) -> Row {
    Row { name, main, fallback, active: None, created: 7200, spec: json!({}), force_fallback: None, expected }
}

#[test]
fn horizontal_source_follows_staleness() {
    let fallback_300 = json!({"fallback": {"horizontal": {"triggers": {"staleRecommendationThresholdSeconds": 300}}}});
    let both_disabled =
        json!({"applyPolicy": {"scaleUp": {"strategy": "Disabled"}, "scaleDown": {"strategy": "Disabled"}}});
    let rows = [
        row("fresh main wins over fresh fallback", Some(60), Some(10), Some(Pick::Main)),
        row("main at the 30 min default threshold is fresh", Some(1800), Some(10), Some(Pick::Main)),
        row("stale main, fresh fallback", Some(1801), Some(10), Some(Pick::Fallback)),
        row("stale main, stale fallback: keep previous", Some(1801), Some(1801), None),
        row("stale main, no fallback: keep previous", Some(4000), None, None),
        Row {
            spec: fallback_300.clone(),
            ..row("threshold from the fallback section", Some(301), Some(10), Some(Pick::Fallback))
        },
        Row {
            spec: fallback_300.clone(),
            ..row("fresh under the fallback threshold", Some(299), Some(10), Some(Pick::Main))
        },
        Row {
            spec: json!({"fallback": {"horizontal": {}}}),
            ..row("fallback section without triggers: 600 s", Some(601), Some(10), Some(Pick::Fallback))
        },
        row("no main, no active, old DPA: fallback", None, Some(10), Some(Pick::Fallback)),
        Row { created: 60, ..row("no main, no active, young DPA: keep", None, Some(10), None) },
        Row { active: Some(3600), ..row("no main, stale active: fallback", None, Some(10), Some(Pick::Fallback)) },
        Row { active: Some(60), ..row("no main, fresh active: keep", None, Some(10), None) },
        Row {
            force_fallback: Some("true"),
            ..row("force-fallback skips fresh main", Some(10), Some(10), Some(Pick::Fallback))
        },
        Row { force_fallback: Some("true"), ..row("forced but fallback stale: keep", Some(10), Some(4000), None) },
        Row { force_fallback: Some("yes"), ..row("not a boolean: ignored", Some(10), Some(10), Some(Pick::Main)) },
        Row { force_fallback: Some("false"), ..row("forced off", Some(10), Some(10), Some(Pick::Main)) },
        Row {
            force_fallback: Some("true"),
            spec: json!({"fallback": {"horizontal": {"enabled": false}}}),
            ..row("fallback disabled: never local", Some(4000), Some(10), None)
        },
        Row { spec: both_disabled, ..row("both directions disabled: main", Some(9999), Some(10), Some(Pick::Main)) },
    ];
    for r in rows {
        let mut d = dpa(r.spec);
        d.creation_timestamp = at(r.created);
        d.main.horizontal = r.main.map(|age| values(ValueSource::Autoscaling, age, 3));
        d.fallback.horizontal = r.fallback.map(|age| values(ValueSource::Local, age, 5));
        d.active.horizontal = r.active.map(|age| values(ValueSource::Autoscaling, age, 2));
        if let Some(v) = r.force_fallback {
            d.annotations.insert(FORCE_FALLBACK_ANNOTATION.into(), v.into());
        }
        assert_eq!(choose(now(), &d).horizontal, r.expected, "{}", r.name);
    }
}

#[test]
fn vertical_source_is_main_when_present() {
    let mut d = dpa(json!({}));
    assert_eq!(choose(now(), &d).vertical, None);
    d.main.vertical = Some(VerticalValues {
        source: ValueSource::Autoscaling,
        timestamp: at(99_999),
        resources: Vec::new(),
        hash: "h".into(),
    });
    assert_eq!(choose(now(), &d).vertical, Some(Pick::Main));
}

#[test]
fn apply_takes_values_and_errors_and_keeps_previous_when_undecided() {
    let mut d = dpa(json!({}));
    d.main.horizontal = Some(values(ValueSource::Manual, 10, 4));
    d.main.horizontal_error = Some("no data".into());
    d.fallback.horizontal = Some(values(ValueSource::Local, 10, 7));
    apply(&mut d, now(), Choice { horizontal: Some(Pick::Fallback), vertical: None });
    assert_eq!(d.active.horizontal.as_ref().map(|h| (h.source, h.replicas)), Some((ValueSource::Local, 7)));
    assert_eq!(d.active.horizontal_error.as_deref(), Some("no data"));
    apply(&mut d, now(), Choice { horizontal: None, vertical: None });
    assert_eq!(d.active.horizontal.as_ref().map(|h| h.replicas), Some(7), "undecided keeps the previous values");
    apply(&mut d, now(), Choice { horizontal: Some(Pick::Main), vertical: None });
    assert_eq!(d.active.horizontal.as_ref().map(|h| (h.source, h.replicas)), Some((ValueSource::Manual, 4)));
}

#[test]
fn newer_recommendations_are_appended_within_the_longest_window() {
    let windows = json!({"applyPolicy": {"scaleUp": {"stabilizationWindowSeconds": 60},
        "scaleDown": {"stabilizationWindowSeconds": 300}}});
    let mut d = dpa(windows);
    assert_eq!(recommendation_retention(&d), Duration::from_secs(300));
    for (age, replicas) in [(400, 2), (200, 3), (100, 4)] {
        d.main.horizontal = Some(values(ValueSource::Autoscaling, age, replicas));
        apply(&mut d, now(), Choice { horizontal: Some(Pick::Main), vertical: None });
    }
    // The same recommendation again is not a new one.
    apply(&mut d, now(), Choice { horizontal: Some(Pick::Main), vertical: None });
    let history: Vec<i32> = d.horizontal_last_recommendations.iter().map(|r| r.desired_replicas).collect();
    assert_eq!(history, vec![3, 4], "the one older than the 300 s window is dropped");
    assert_eq!(d.horizontal_last_recommendations[1].source.as_deref(), Some("Autoscaling"));

    let mut no_window = dpa(json!({}));
    for (age, replicas) in [(20, 2), (10, 3)] {
        no_window.main.horizontal = Some(values(ValueSource::Autoscaling, age, replicas));
        apply(&mut no_window, now(), Choice { horizontal: Some(Pick::Main), vertical: None });
    }
    let kept: Vec<i32> = no_window.horizontal_last_recommendations.iter().map(|r| r.desired_replicas).collect();
    assert_eq!(kept, vec![3], "without a window only the latest is kept");
}

#[test]
fn history_retention_is_capped_at_an_hour() {
    let d = dpa(json!({"applyPolicy": {"scaleUp": {"stabilizationWindowSeconds": 3600},
        "scaleDown": {"stabilizationWindowSeconds": 7200}}}));
    assert_eq!(recommendation_retention(&d), LONGEST_HISTORY);
}
