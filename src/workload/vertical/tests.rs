//! Unit tests of the vertical controller's pure parts: forced resources, constraints, the
//! recommendation ID (`parity`: the webhook computes the same one), pod classification, the rollout
//! decision and the in-place resize body.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

mod parity;

use super::constraints::{REMOVE_LIMIT, apply_forced};
use super::pods::{PodStatus, allowed_disruptions, classify};
use super::rollout::{Decision, decide};
use super::*;
use crate::workload::crd::{ContainerConstraints, ContainerResources};
use crate::workload::hash::stable_hash;
use crate::workload::model::ValueSource;
use crate::workload::pod_index::{ContainerResourceEntry, PodEntry, PodFields, PodOwner, PodPhase, ResizeState};

fn resources(v: Value) -> Vec<ContainerResources> {
    serde_json::from_value(v).unwrap()
}

fn recommendation() -> Vec<ContainerResources> {
    resources(json!([
        {"name": "app", "requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        {"name": "sidecar", "requests": {"cpu": "100m"}}]))
}

fn constraints(v: Value) -> Vec<ContainerConstraints> {
    serde_json::from_value(v).unwrap()
}

fn inputs(constraints: Vec<ContainerConstraints>, forced: &str, burstable: bool) -> VerticalInputs {
    VerticalInputs { constraints, forced: parse_forced(Some(forced)), burstable }
}

/// `container/kind/resource` → quantity.
fn flat(list: &[ContainerResources]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in list {
        for (kind, values) in [("requests", &c.requests), ("limits", &c.limits)] {
            for (name, q) in values.iter().flatten() {
                out.insert(format!("{}/{kind}/{name}", c.name), q.0.clone());
            }
        }
    }
    out
}

fn with(changes: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out = flat(&recommendation());
    for (k, v) in changes {
        out.insert(k.to_string(), v.to_string());
    }
    out
}

#[test]
fn forced_values_win_and_keep_requests_below_limits() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (r#"[{"name": "app", "requests": {"cpu": "750m"}}]"#, &[("app/requests/cpu", "750m")]),
        (r#"[{"name": "worker", "limits": {"memory": "1Gi"}}]"#, &[("worker/limits/memory", "1Gi")]),
        (r#"[{"name": "app", "requests": {"cpu": "2"}}]"#, &[("app/requests/cpu", "2"), ("app/limits/cpu", "2")]),
        (
            r#"[{"name": "app", "limits": {"memory": "128Mi"}}]"#,
            &[("app/requests/memory", "128Mi"), ("app/limits/memory", "128Mi")],
        ),
    ];
    for (annotation, changes) in cases {
        let out = constrain(&recommendation(), "reco", &inputs(vec![], annotation, false)).unwrap();
        assert_eq!(flat(&out.resources), with(changes), "{annotation}");
        assert_eq!(out.id, stable_hash(&out.resources), "{annotation}: the ID reflects the forced values");
        assert!(out.forced);
        let limited = out.limited.unwrap();
        assert_eq!(limited.reason, Reason::ForcedByAnnotation);
        let forced_name = if annotation.contains("worker") { "worker" } else { "app" };
        assert_eq!(
            limited.message,
            format!(
                "resources overridden for containers {forced_name} by the autoscaling.datadoghq.com/force-resources annotation"
            )
        );
    }
}

#[test]
fn only_usable_forced_values_are_overlaid() {
    let forced = parse_forced(Some(
        r#"[{"name": "app", "requests": {"cpu": "0", "nvidia.com/gpu": "1", "memory": "300Mi"}, "limits": {"cpu": "-1"},
             "runtime": {"gomemlimit": "1Gi"}},
            {"requests": {"cpu": "1"}}, {"name": "other", "requests": {"cpu": "-2", "memory": "lots"}}]"#,
    ));
    assert_eq!(forced, resources(json!([{"name": "app", "requests": {"memory": "300Mi"}}])));
    assert!(parse_forced(Some(r#"{"name": "app"}"#)).is_empty(), "not a list: ignored");
    assert!(parse_forced(Some("garbage")).is_empty());
    let nothing =
        constrain(&recommendation(), "reco", &inputs(vec![], r#"[{"name": "app", "requests": {"cpu": "0"}}]"#, false));
    let nothing = nothing.unwrap();
    assert_eq!((nothing.id.as_str(), nothing.limited, nothing.forced), ("reco", None, false));
    assert_eq!(nothing.resources, recommendation());
}

#[test]
fn every_ignored_forced_value_is_named() {
    use super::constraints::forced_problems;
    let problems = forced_problems(
        r#"[{"name": "app", "requests": {"cpu": "0", "nvidia.com/gpu": "1", "memory": "300Mi"}, "limits": {"cpu": "-1"}},
            {"requests": {"cpu": "1"}}, {"name": "other", "requests": {"cpu": "-2", "memory": "lots"}, "limits": 5}]"#,
    );
    assert_eq!(
        problems.as_deref(),
        Some(
            "[0] (app): requests.cpu (0) must be positive; [0] (app): requests.nvidia.com/gpu cannot be forced (only \
             cpu and memory); [0] (app): limits.cpu (-1) must be positive; [1]: a container name is required; \
             [2] (other): requests.cpu (-2) must be positive; [2] (other): requests.memory (lots) is not a quantity: \
             quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'; \
             [2] (other): limits is not a map of quantities"
        )
    );
    let not_a_list = forced_problems(r#"{"name": "app"}"#).unwrap();
    assert!(not_a_list.starts_with("not a JSON list of container resources: invalid type: map"), "{not_a_list}");
    assert_eq!(forced_problems(r#"[{"name": "app", "requests": {"cpu": 2, "memory": "1Gi"}, "limits": null}]"#), None);
    assert_eq!(forced_problems("[]"), None);
}

#[test]
fn forcing_twice_changes_nothing_more() {
    let forced = parse_forced(Some(
        r#"[{"name": "app", "requests": {"cpu": "2"}}, {"name": "w", "limits": {"memory": "1Gi"}}]"#,
    ));
    let mut once = recommendation();
    apply_forced(&mut once, &forced);
    let mut twice = once.clone();
    apply_forced(&mut twice, &forced);
    assert_eq!(once, twice);
}

#[test]
fn constraints_resolve_named_before_wildcard_and_clamp_numerically() {
    let c = constraints(json!([
        {"name": "*", "maxAllowed": {"cpu": "200m"}},
        {"name": "app", "minAllowed": {"cpu": "1500m", "memory": "300Mi"}, "maxAllowed": {"memory": "0.5Gi"}}]));
    let out = constrain(&recommendation(), "reco", &inputs(c, "[]", false)).unwrap();
    // app: cpu 500m < 1500m → 1500m (request) and limit 1 < 1500m → 1500m; memory 256Mi → 300Mi,
    // limit 512Mi = 0.5Gi stays. sidecar: the wildcard caps 100m at 200m: unchanged.
    assert_eq!(
        flat(&out.resources),
        with(&[("app/requests/cpu", "1500m"), ("app/limits/cpu", "1500m"), ("app/requests/memory", "300Mi")])
    );
    let limited = out.limited.unwrap();
    assert_eq!(limited.reason, Reason::LimitedByConstraint);
    assert_eq!(limited.message, "recommendation clamped to min/max bounds for containers: app");
    assert_eq!(out.id, stable_hash(&out.resources));

    let both = constraints(json!([{"name": "*", "maxAllowed": {"cpu": "50m"}}]));
    let out = constrain(&recommendation(), "reco", &inputs(both, "[]", false)).unwrap();
    assert_eq!(out.limited.unwrap().message, "recommendation clamped to min/max bounds for containers: app, sidecar");
}

#[test]
fn deprecated_request_bounds_leave_limits_alone_but_limits_follow_requests() {
    let c = constraints(
        json!([{"name": "app", "requests": {"minAllowed": {"cpu": "2"}, "maxAllowed": {"memory": "128Mi"}}}]),
    );
    let out = constrain(&recommendation(), "reco", &inputs(c, "[]", false)).unwrap();
    assert_eq!(
        flat(&out.resources),
        with(&[("app/requests/cpu", "2"), ("app/limits/cpu", "2"), ("app/requests/memory", "128Mi")]),
        "the cpu limit rises to the clamped request; the memory limit is not a request"
    );
}

#[test]
fn constraints_drop_disable_and_strip() {
    let c = constraints(json!([
        {"name": "sidecar", "enabled": false},
        {"name": "app", "controlledResources": ["cpu"], "controlledValues": "RequestsOnly"}]));
    let out = constrain(&recommendation(), "reco", &inputs(c, "[]", false)).unwrap();
    assert_eq!(out.resources, resources(json!([{"name": "app", "requests": {"cpu": "500m"}}])));
    assert_eq!(out.limited, None, "dropping is not clamping");
    assert_eq!(out.id, stable_hash(&out.resources));

    let empty = constraints(json!([{"name": "*", "controlledResources": []}]));
    assert!(constrain(&recommendation(), "reco", &inputs(empty, "[]", false)).unwrap().resources.is_empty());

    let unconstrained = constrain(&recommendation(), "reco", &inputs(vec![], "[]", false)).unwrap();
    assert_eq!((unconstrained.id.as_str(), unconstrained.resources), ("reco", recommendation()));
}

#[test]
fn cpu_limit_removal_is_a_sentinel_that_changes_the_id() {
    let c = constraints(json!([{"name": "app", "controlledValues": "CPURequestsRemoveLimitsMemoryRequestsAndLimits"}]));
    let out = constrain(&recommendation(), "reco", &inputs(c, "[]", false)).unwrap();
    assert_eq!(flat(&out.resources), with(&[("app/limits/cpu", REMOVE_LIMIT)]));
    assert_ne!(out.id, "reco");

    let burstable = constrain(&recommendation(), "reco", &inputs(vec![], "[]", true)).unwrap();
    assert_eq!(
        flat(&burstable.resources),
        with(&[("app/limits/cpu", REMOVE_LIMIT), ("sidecar/limits/cpu", REMOVE_LIMIT)])
    );
    assert_eq!(burstable.id, format!("{}-burstable", stable_hash(&burstable.resources)));

    // The sentinel survives clamping and the limit ≥ request rule, and a later forced limit.
    let c = constraints(json!([{"name": "*", "minAllowed": {"cpu": "3"}}]));
    let out =
        constrain(&recommendation(), "reco", &inputs(c, r#"[{"name": "app", "limits": {"cpu": "4"}}]"#, true)).unwrap();
    assert_eq!(out.resources[0].limits.as_ref().unwrap()["cpu"], Quantity(REMOVE_LIMIT.into()));
    assert_eq!(out.resources[0].requests.as_ref().unwrap()["cpu"], Quantity("3".into()));
}

#[test]
fn duplicate_constraints_are_an_invalid_spec() {
    for (c, message) in [
        (json!([{"name": "*"}, {"name": "*"}]), "duplicate wildcard (*) constraint in containers list"),
        (json!([{"name": "app"}, {"name": "app"}]), "duplicate constraint for container \"app\""),
    ] {
        let err = constrain(&recommendation(), "reco", &inputs(constraints(c), "[]", false)).unwrap_err();
        assert_eq!((err.reason, err.message.as_str()), (Reason::InvalidSpec, message));
    }
}

#[test]
fn absurd_quantities_never_panic() {
    let reco = resources(json!([{"name": "app", "requests": {"cpu": "99999999999999999999E", "memory": "garbage"},
        "limits": {"cpu": "1e-40", "memory": "9Ei"}}]));
    let c = constraints(json!([{"name": "*", "minAllowed": {"cpu": "nope"}, "maxAllowed": {"memory": "1Ei"}}]));
    let out = constrain(&reco, "reco", &inputs(c, r#"[{"name": "app", "requests": {"cpu": 3}}]"#, true)).unwrap();
    assert_eq!(out.resources[0].requests.as_ref().unwrap()["cpu"], Quantity("3".into()));
}

fn pod(rs: &str, rec_id: Option<&str>, resize: ResizeState, cpu_limit: Option<&str>) -> PodEntry {
    PodEntry {
        owner: Some(std::sync::Arc::new(PodOwner { kind: "ReplicaSet".into(), name: rs.into() })),
        rec_id: rec_id.map(Into::into),
        containers: vec![ContainerResourceEntry {
            name: "app".into(),
            cpu_request: Some("500m".into()),
            cpu_limit: cpu_limit.map(Into::into),
            ..Default::default()
        }]
        .into(),
        phase: PodPhase::Running,
        ready: true,
        resize,
        resize_since: if resize == ResizeState::None { 0 } else { 1_700_000_000 },
        ..Default::default()
    }
}

#[test]
fn pods_are_classified_against_the_recommendation() {
    let mut gone = pod("web-a", Some("id"), ResizeState::None, None);
    gone.terminating = true;
    let pods = classify(
        vec![
            ("a".into(), pod("web-a", Some("id"), ResizeState::None, None)),
            ("b".into(), pod("web-a", Some("old"), ResizeState::None, None)),
            ("c".into(), pod("web-a", Some("id"), ResizeState::Deferred, None)),
            ("d".into(), pod("web-b", Some("id"), ResizeState::Infeasible, None)),
            ("e".into(), pod("web-b", Some("id"), ResizeState::Error, None)),
            ("f".into(), pod("web-b", Some("id"), ResizeState::InProgress, None)),
            ("g".into(), gone),
        ],
        "id",
    );
    let statuses: Vec<PodStatus> = pods.pods.iter().map(|p| p.status).collect();
    use PodStatus::*;
    assert_eq!(statuses, [Completed, NeedsPatch, Deferred, Infeasible, Error, InProgress], "terminating g left out");
    assert_eq!(pods.completed(), 1);
    assert!(pods.several_owners());
    assert_eq!(pods.disrupted(), 4);
    assert_eq!(pods.pods[2].since, 1_700_000_000);

    // StatefulSet pods: one owner, a rollout shows as two template revisions.
    let of_revision = |revision: &str| {
        let mut p = pod("db", Some("id"), ResizeState::None, None);
        p.revision = crate::workload::pod_index::revision_hash(revision);
        p
    };
    let same = classify(vec![("db-0".into(), of_revision("db-1")), ("db-1".into(), of_revision("db-1"))], "id");
    assert!(!same.several_revisions() && !same.several_owners());
    let rolling = classify(vec![("db-0".into(), of_revision("db-1")), ("db-1".into(), of_revision("db-2"))], "id");
    assert!(rolling.several_revisions());
}

#[test]
fn a_limit_increase_is_measured_on_pods_of_older_recommendations() {
    let reco = resources(json!([{"name": "app", "limits": {"cpu": "2"}}]));
    let on_old =
        |limit: &str| classify(vec![("a".into(), pod("rs", Some("old"), ResizeState::None, Some(limit)))], "new");
    assert!(on_old("1").limit_increase(&reco, "new"));
    assert!(!on_old("2000m").limit_increase(&reco, "new"));
    assert!(!on_old("3").limit_increase(&reco, "new"));
    let removed = resources(json!([{"name": "app", "limits": {"cpu": "-1"}}]));
    assert!(on_old("3").limit_increase(&removed, "new"), "removing a limit raises it");
    let never_patched = classify(vec![("a".into(), pod("rs", None, ResizeState::None, Some("1")))], "new");
    assert!(!never_patched.limit_increase(&reco, "new"));
}

#[test]
fn disruption_budget() {
    assert_eq!(allowed_disruptions(10, 0, 15), 1);
    assert_eq!(allowed_disruptions(20, 1, 15), 2);
    assert_eq!(allowed_disruptions(3, 0, 15), 1, "a healthy small workload still progresses");
    assert_eq!(allowed_disruptions(3, 1, 15), 0);
    assert_eq!(allowed_disruptions(0, 0, 15), 0);
}

fn internal(last: Option<(&str, &str, Timestamp)>) -> PodAutoscalerInternal {
    let spec = serde_json::from_value(json!({"owner": "Local",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}))
    .unwrap();
    let mut dpa = PodAutoscalerInternal::new("prod", "web", spec, Timestamp::UNIX_EPOCH);
    dpa.vertical_last_action = last.map(|(type_, version, at)| crate::workload::crd::VerticalAction {
        time: Time(at),
        version: version.into(),
        type_: type_.into(),
    });
    dpa
}

fn plan(id: &str, forced: bool, limits: Value) -> Plan {
    Plan {
        target: target_of(&internal(None)),
        gvk: "apps/v1, Kind=Deployment".into(),
        constrained: Constrained {
            resources: resources(json!([{"name": "app", "limits": limits}])),
            id: id.into(),
            limited: None,
            forced,
        },
    }
}

#[test]
fn rollout_decisions() {
    let now: Timestamp = "2025-06-01T12:00:00Z".parse().unwrap();
    let minutes_ago = |m: i64| now.checked_sub(SignedDuration::from_mins(m)).unwrap();
    let pods = |ids: &[&str]| {
        classify(
            ids.iter()
                .enumerate()
                .map(|(i, id)| (format!("p{i}"), pod(&format!("rs{i}"), Some(id), ResizeState::None, Some("1"))))
                .collect(),
            "new",
        )
    };
    let no_limit_change = plan("new", false, json!({"cpu": "1"}));
    let dpa = internal(None);
    assert_eq!(decide(&dpa, &no_limit_change, &pods(&["new", "new"]), true, now), Decision::Complete);
    assert_eq!(decide(&dpa, &no_limit_change, &pods(&["old", "old"]), false, now), Decision::Trigger);
    assert_eq!(decide(&dpa, &no_limit_change, &pods(&["old", "new"]), true, now), Decision::Wait, "another rollout");
    let triggered = internal(Some((ROLLOUT_TRIGGERED, "new", minutes_ago(30))));
    assert_eq!(decide(&triggered, &no_limit_change, &pods(&["old", "old"]), false, now), Decision::Wait);

    let raises = plan("new", false, json!({"cpu": "2"}));
    let recent = internal(Some((ROLLOUT_TRIGGERED, "older", minutes_ago(5))));
    let long_ago = internal(Some((ROLLOUT_TRIGGERED, "older", minutes_ago(11))));
    assert_eq!(decide(&recent, &raises, &pods(&["old", "older"]), true, now), Decision::Wait, "bypass throttled");
    assert_eq!(decide(&long_ago, &raises, &pods(&["old", "older"]), true, now), Decision::Trigger, "bypass");
    let forced = plan("new", true, json!({"cpu": "1"}));
    assert_eq!(decide(&long_ago, &forced, &pods(&["old", "older"]), true, now), Decision::Trigger, "forced bypass");
}

#[test]
fn the_resize_body_deletes_removed_limits_and_follows_the_pod() {
    let entry = pod("rs", None, ResizeState::None, Some("1"));
    let reco =
        resources(json!([{"name": "app", "requests": {"cpu": "250m"}, "limits": {"cpu": "-1", "memory": "1Gi"}},
        {"name": "absent", "requests": {"cpu": "1"}}]));
    assert_eq!(
        inplace::resize_patch(&entry, &reco).unwrap(),
        json!({"spec": {"containers": [{"name": "app",
            "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": null, "memory": "1Gi"}}}]}})
    );
    assert_eq!(inplace::resize_patch(&entry, &resources(json!([{"name": "other"}]))), None);

    let mut restarting = entry.clone();
    assert!(!inplace::disruptive(&restarting, &reco), "no RestartContainer policy");
    let mut containers = restarting.containers.to_vec();
    containers[0].restart_on_resize = crate::workload::pod_index::RESTART_ON_CPU;
    restarting.containers = containers.into();
    assert!(inplace::disruptive(&restarting, &reco));
    let same = resources(json!([{"name": "app", "requests": {"cpu": "0.5"}, "limits": {"cpu": "1000m"}}]));
    assert!(!inplace::disruptive(&restarting, &same), "equal quantities written differently");
}

#[test]
fn the_pod_index_reads_resize_conditions_revisions_and_due_events() {
    let pod: PodFields = serde_json::from_value(json!({
        "metadata": {"name": "db-0", "namespace": "prod", "labels": {"controller-revision-hash": "db-5d8c"},
            "annotations": {"autoscaling.datadoghq.com/rec-id": "abc", "autoscaling.datadoghq.com/autoscaler-id": "prod/db"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u"}]},
        "spec": {"containers": [{"name": "app", "resizePolicy": [{"resourceName": "memory", "restartPolicy": "RestartContainer"}]}]},
        "status": {"phase": "Running", "conditions": [
            {"type": "PodResizePending", "status": "True", "reason": "Infeasible", "lastTransitionTime": "2025-01-01T00:00:10Z"}]}}))
    .unwrap();
    let entry = pod.entry();
    assert_eq!(entry.resize, ResizeState::Infeasible);
    assert_eq!(entry.resize_since, 1_735_689_610);
    assert_ne!(entry.revision, 0);
    assert_eq!(entry.containers[0].restart_on_resize, crate::workload::pod_index::RESTART_ON_MEMORY);
    let notice = pod.applied_notice().unwrap();
    assert_eq!(
        (notice.autoscaler_id.as_str(), notice.rec_id.as_str(), notice.pod.as_str()),
        ("prod/db", "abc", "db-0")
    );

    let mut recorded = pod.clone();
    recorded.metadata.annotations.as_mut().unwrap().insert("autoscaling.datadoghq.com/event".into(), "true".into());
    assert_eq!(recorded.applied_notice(), None);
}

#[test]
fn preview_and_pause_restrict_patching() {
    let values = VerticalValues {
        source: ValueSource::Autoscaling,
        timestamp: Timestamp::UNIX_EPOCH,
        resources: vec![],
        hash: "h".into(),
    };
    let mut dpa = internal(None);
    assert_eq!(patching_strategy(&dpa, &values), Ok(()));
    dpa.annotations.insert(PAUSE_ANNOTATION.into(), "true".into());
    assert_eq!(
        patching_strategy(&dpa, &values).unwrap_err(),
        "vertical scaling disabled: autoscaling locally paused by the autoscaling.datadoghq.com/pause annotation"
    );
    dpa.annotations.clear();
    dpa.spec.apply_policy = Some(serde_json::from_value(json!({"mode": "Preview"})).unwrap());
    assert_eq!(
        patching_strategy(&dpa, &values).unwrap_err(),
        "vertical scaling disabled due to applyMode: Preview not allowing recommendations from source: Autoscaling"
    );
    assert!(vertical_enabled(&dpa));
    dpa.spec.apply_policy = Some(serde_json::from_value(json!({"update": {"strategy": "Disabled"}})).unwrap());
    assert!(!vertical_enabled(&dpa));
}
