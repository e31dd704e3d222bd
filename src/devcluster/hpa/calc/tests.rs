use super::*;
use serde_json::json;

const TOL: Tolerances = Tolerances { down: 0.1, up: 0.1 };

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn running(name: &str) -> PodView {
    let long_ago = now() - time::Duration::hours(1);
    PodView {
        name: name.into(),
        deleting: false,
        phase: "Running".into(),
        ready: Some((true, Some(long_ago))),
        start_time: Some(long_ago),
    }
}

fn samples(values: &[(&str, i64)]) -> BTreeMap<String, Sample> {
    values
        .iter()
        .map(|(n, v)| (n.to_string(), Sample { value: *v, timestamp: now(), window: Duration::ZERO }))
        .collect()
}

#[test]
fn tolerance_is_inclusive_and_per_direction() {
    assert!(TOL.is_within(1.1));
    assert!(TOL.is_within(0.9));
    assert!(!TOL.is_within(1.1000001));
    let t = Tolerances { down: 0.5, up: 0.0 };
    assert!(t.is_within(0.5));
    assert!(!t.is_within(1.01));
}

#[test]
fn average_value_is_value_over_target_per_pod() {
    // The recorded case: 42 against 10 per pod from 1 replica.
    assert_eq!(per_pod_replicas(42_000, 10_000, 1, TOL), (5, 42_000));
    // 5 replicas now: 42/50 = 0.84 is outside the tolerance → ceil(4.2) = 5 stays 5.
    assert_eq!(per_pod_replicas(42_000, 10_000, 5, TOL), (5, 8_400));
    // Within 10 %: 52/(10×5) = 1.04 keeps 5 even though ceil(5.2) = 6.
    assert_eq!(per_pod_replicas(52_000, 10_000, 5, TOL), (5, 10_400));
    assert_eq!(per_pod_replicas(5_000, 10_000, 0, TOL), (1, 5_000));
}

#[test]
fn value_target_scales_ready_pods_by_the_ratio() {
    // Value 42 vs target 10: ratio 4.2 × 2 ready pods → 9.
    assert_eq!(usage_ratio_replicas(2, 4.2, TOL, || Ok(2)), Ok(9));
    // Within tolerance the ready pods are not even counted.
    assert_eq!(usage_ratio_replicas(3, 1.05, TOL, || Err("unused".into())), Ok(3));
    assert_eq!(
        usage_ratio_replicas(3, 0.5, TOL, || Err(NO_PODS.into())),
        Err(format!("unable to calculate ready pods: {NO_PODS}"))
    );
    // Scale from zero ignores pods and tolerance.
    assert_eq!(usage_ratio_replicas(0, 1.05, TOL, || Ok(0)), Ok(2));
}

#[test]
fn cpu_utilization_from_requests() {
    let pods = [running("a"), running("b")];
    let s = samples(&[("a", 500), ("b", 700)]);
    let input = ResourceInput { pods: &pods, samples: &s, cpu: true, now: now(), current: 2, tol: TOL };
    let requests = || Ok(BTreeMap::from([("a".to_string(), 500), ("b".to_string(), 500)]));
    // 1200m of 1000m requested = 120 % against 60 % → ratio 2 → 4 pods; raw average 600m.
    assert_eq!(resource_replicas(&input, ResourceTarget::Utilization(60), requests), Ok((4, Some(120), 600)));
    let requests = || Ok(BTreeMap::from([("a".to_string(), 500), ("b".to_string(), 500)]));
    assert_eq!(resource_replicas(&input, ResourceTarget::Utilization(115), requests), Ok((2, Some(120), 600)));
}

#[test]
fn missing_metrics_count_conservatively() {
    let pods = [running("a"), running("b"), running("c")];
    let s = samples(&[("a", 100), ("b", 100)]);
    let input = ResourceInput { pods: &pods, samples: &s, cpu: false, now: now(), current: 3, tol: TOL };
    // Scale-down: ratio 0.2, the missing pod counts as using the target → (100+100+500)/3/500 = 0.466 → 2.
    assert_eq!(
        resource_replicas(&input, ResourceTarget::AverageValue(500), || Ok(BTreeMap::new())),
        Ok((2, None, 100))
    );
    // Scale-up: ratio 4, the missing pod counts as 0 → 200/3 = 66 per pod → 66/25 × 3 → 8 (not 3 × 4).
    assert_eq!(resource_replicas(&input, ResourceTarget::AverageValue(25), || Ok(BTreeMap::new())), Ok((8, None, 100)));
}

#[test]
fn unready_and_pending_pods_do_not_push_scale_up() {
    let mut unready = running("b");
    unready.ready = Some((false, Some(now() - time::Duration::seconds(10))));
    unready.start_time = Some(now() - time::Duration::seconds(20));
    let mut pending = running("c");
    pending.phase = "Pending".into();
    let pods = [running("a"), unready, pending];
    let s = samples(&[("a", 1000), ("b", 1000)]);
    let input = ResourceInput { pods: &pods, samples: &s, cpu: true, now: now(), current: 3, tol: TOL };
    let requests = || Ok(BTreeMap::from([("a".into(), 500), ("b".into(), 500), ("c".into(), 500)]));
    // a alone is at 200 % of 100 % → ratio 2; with b and c counted as 0: 1000/1500 = 66 % < 100 % flips direction → keep 3.
    assert_eq!(resource_replicas(&input, ResourceTarget::Utilization(100), requests), Ok((3, Some(200), 1000)));
}

#[test]
fn resource_errors_use_kube_texts() {
    let input = ResourceInput { pods: &[], samples: &BTreeMap::new(), cpu: true, now: now(), current: 1, tol: TOL };
    assert_eq!(resource_replicas(&input, ResourceTarget::Utilization(50), || Ok(BTreeMap::new())), Err(NO_PODS.into()));
    let pods = [running("a")];
    let input = ResourceInput { pods: &pods, samples: &BTreeMap::new(), cpu: true, now: now(), current: 1, tol: TOL };
    assert_eq!(
        resource_replicas(&input, ResourceTarget::Utilization(50), || Ok(BTreeMap::new())),
        Err("did not receive metrics for targeted pods (pods might be unready)".into())
    );
}

#[test]
fn requests_sum_containers_and_sidecars_or_use_pod_level() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "250m"}}}, {"name": "b", "resources": {"requests": {"cpu": "0.5"}}}],
        "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}}, {"name": "i"}]
    }});
    assert_eq!(pod_requests(std::slice::from_ref(&pod), "cpu"), Ok(BTreeMap::from([("p".into(), 850)])));
    assert_eq!(pod_requests(&[pod], "memory"), Err("missing request for memory in container a of Pod p".into()));
    let pod_level = json!({"metadata": {"name": "q"}, "spec": {"resources": {"requests": {"cpu": "2"}}, "containers": [{"name": "a"}]}});
    assert_eq!(pod_requests(std::slice::from_ref(&pod_level), "cpu"), Ok(BTreeMap::from([("q".into(), 2000)])));
    assert_eq!(pod_requests(&[pod_level], "memory"), Err("missing pod-level request for memory in Pod q".into()));
}
