//! Deterministic heap measure of the workload autoscaling stack (issue #6, "bytes per tracked pod
//! ≤ 300"): the real structures built in-process on the test thread under a counting allocator
//! (`memory/alloc.rs`: live bytes, blocks and glibc chunk bytes per thread), fed with objects
//! shaped as kube-apiserver returns them in the workload bench (`memory/shapes.rs`).
//!
//! - Per tracked pod: one target's [`PodIndex`] entries, pods decoded as the pod watch decodes
//!   them (`PodFields` from list pages and watch lines) and fed through the watch's
//!   [`TargetFeed`]: 2,500 pods listed, then 2,500 more as watch events (the bench's `large-0`
//!   scale-up); the marginal bytes per pod must stay ≤ 300 (the target).
//! - Per DPA target, 1,000 DPAs of the bench's fleet: the controller's typed object
//!   ([`ObjectStore`]), the webhook's [`DpaEntry`] ([`DpaStore`]), the leader's
//!   [`PodAutoscalerInternal`] ([`InternalStore`]) and the pod index's per-target part, each
//!   guarded against regressions (measured value + 25 %).
//!
//! `cargo test --test memory -- --nocapture` prints the figures. Memory, not time: the counts are
//! the same on every run, so asserting on them is safe. Every figure is taken before anything is
//! printed (the harness's output capture allocates on the test thread).

mod memory {
    pub mod alloc;
    pub mod shapes;
}

use std::sync::Arc;

use autoscaling_apiserver::workload::controller::{ObjectStore, build_status, from_object};
use autoscaling_apiserver::workload::crd::DatadogPodAutoscalerSpec;
use autoscaling_apiserver::workload::pod_index::{PodFields, TargetFeed};
use autoscaling_apiserver::workload::{
    DpaEntry, DpaKey, DpaStore, InternalStore, PodAutoscalerInternal, PodIndex, TargetKey,
};
use k8s_openapi::jiff::Timestamp;
use kube::api::DynamicObject;
use kube::core::{ObjectList, WatchEvent};
use kube::runtime::watcher::Event;
use memory::alloc::{Counting, Heap, live};
use memory::shapes;

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes per tracked pod the issue allows (marginal: no per-target cost).
const POD_TARGET: f64 = 300.0;
const PAGE: usize = 500;
const DPAS: usize = 1_000;
const PODS_PER_DPA: usize = 10;

/// Regression guards, chunk bytes per DPA target: the values measured when they were set + 25 %.
const OBJECT_STORE_GUARD: f64 = 1.25 * 2_453.0;
const DPA_STORE_GUARD: f64 = 1.25 * 1_295.0;
const INTERNAL_GUARD: f64 = 1.25 * 2_117.0;
const POD_INDEX_TARGET_GUARD: f64 = 1.25 * 640.0;

fn target(ns: &str, name: &str) -> TargetKey {
    TargetKey::new(ns, "apps/v1", "Deployment", name)
}

/// Pods `from..to` of Deployment `app` listed in pages of 500, as the pod watch lists them.
fn list(feed: &mut TargetFeed, ns: &str, app: &str, from: usize, to: usize) {
    feed.apply(Event::Init);
    for start in (from..to).step_by(PAGE) {
        let end = (start + PAGE).min(to);
        let next = (end < to).then_some("next-page");
        let page = shapes::pod_list((start..end).map(|i| shapes::pod(ns, app, i)).collect(), "5000", next);
        let page: ObjectList<PodFields> = serde_json::from_slice(&page).expect("a pod list page decodes");
        page.items.into_iter().for_each(|pod| feed.apply(Event::InitApply(pod)));
    }
    feed.apply(Event::InitDone);
}

/// Pods `from..to` of Deployment `app` arriving as watch lines (`ADDED`), as the watch decodes them.
fn watch(feed: &mut TargetFeed, ns: &str, app: &str, from: usize, to: usize) {
    for i in from..to {
        let line = shapes::watch_line("ADDED", shapes::pod(ns, app, i));
        match serde_json::from_slice::<WatchEvent<PodFields>>(&line).expect("a watch line decodes") {
            WatchEvent::Added(pod) => feed.apply(Event::Apply(pod)),
            other => panic!("pod {i}: decoded as {other:?}"),
        }
    }
}

fn row(what: &str, heap: Heap, n: usize) {
    println!(
        "{what:<58} {:>8.0} B  ({:>7.0} requested, {:>5.1} blocks)",
        heap.per(n),
        heap.requested as f64 / n as f64,
        heap.blocks as f64 / n as f64
    );
}

#[test]
fn a_tracked_pod_costs_at_most_300_bytes() {
    // Warm-up: whatever the decode path initialises once (lazy statics) is not a pod's cost.
    let warm = Arc::new(PodIndex::default());
    list(&mut warm.follow(target("warm", "warm")), "warm", "warm", 0, 10);
    drop(warm);

    let created = live();
    let index = Arc::new(PodIndex::default());
    let start = live();
    let mut feed = index.follow(target("bench-0", "large-0"));
    let followed = live();
    list(&mut feed, "bench-0", "large-0", 0, 2_500);
    let listed = live();
    assert_eq!(index.count(feed.target()), 2_500);
    watch(&mut feed, "bench-0", "large-0", 2_500, 5_000);
    let scaled = live();
    assert_eq!(index.count(feed.target()), 5_000);
    drop(feed);
    drop(index);
    // Taken before printing: the harness's output capture allocates on this thread.
    let left = live().since(created);

    println!("\npod index, one target (chunk bytes per item):");
    row("target followed, no pod", followed.since(start), 1);
    row("per pod, 2,500 listed (with the target's table)", listed.since(followed), 2_500);
    let marginal = scaled.since(listed);
    row("marginal per pod, 2,500 -> 5,000 by watch events", marginal, 2_500);
    row("per pod at 5,000", scaled.since(followed), 5_000);
    assert!(
        marginal.per(2_500) <= POD_TARGET,
        "marginal bytes per tracked pod {:.0} > {POD_TARGET}",
        marginal.per(2_500)
    );
    let all = scaled.since(followed).per(5_000);
    assert!(all <= POD_TARGET, "bytes per tracked pod at 5,000 {all:.0} > {POD_TARGET}");
    assert_eq!(left.chunks, 0, "the index frees what it held");
}

/// The status our controller writes for a fleet DPA (10 pods, no recommendation yet).
fn fleet_status(now: Timestamp) -> serde_json::Value {
    let spec: DatadogPodAutoscalerSpec =
        serde_json::from_value(shapes::dpa(1, &serde_json::Value::Null)["spec"].clone()).expect("fleet spec");
    let mut internal = PodAutoscalerInternal::new("bench-1", "app-1", spec, now);
    internal.current_replicas = Some(PODS_PER_DPA as i32);
    serde_json::to_value(build_status(&internal, now, None)).expect("status serializes")
}

#[test]
fn the_parts_of_a_dpa_target_stay_within_their_guards() {
    let now: Timestamp = "2026-01-01T00:01:05Z".parse().expect("timestamp");
    let status = fleet_status(now);
    let keys: Vec<DpaKey> = (1..=DPAS).map(|i| DpaKey::new(shapes::namespace_of(i), format!("app-{i}"))).collect();
    let (objects, dpas, internal) = (ObjectStore::default(), DpaStore::default(), InternalStore::default());
    let index = Arc::new(PodIndex::default());
    // Warm-up on a throw-away set of stores (lazy statics, first-use tables).
    let warm = ObjectStore::default();
    warm.apply(&Event::Apply(serde_json::from_value(shapes::dpa(0, &status)).expect("DPA decodes")));
    let typed = warm.get(&DpaKey::new("bench-0", "app-0")).expect("stored");
    let typed = typed.object.as_ref().expect("readable");
    DpaStore::default().upsert(DpaEntry::from_object(typed).expect("entry"));
    drop(from_object(typed, now));
    drop(warm);

    let start = live();
    for i in 1..=DPAS {
        let object: DynamicObject = serde_json::from_value(shapes::dpa(i, &status)).expect("DPA decodes");
        objects.apply(&Event::Apply(object));
    }
    let stored = live();
    for key in &keys {
        let object = objects.get(key).expect("stored");
        dpas.upsert(DpaEntry::from_object(object.object.as_ref().expect("readable")).expect("entry"));
    }
    let entries = live();
    for key in &keys {
        let object = objects.get(key).expect("stored");
        internal.get_or_insert_with(key, || from_object(object.object.as_ref().expect("readable"), now));
    }
    let internals = live();
    let targets: Vec<TargetKey> = dpas.subscribe_targets().borrow().iter().cloned().collect();
    assert_eq!(targets.len(), DPAS);
    let followed_at = live();
    let mut feeds: Vec<TargetFeed> = targets.into_iter().map(|t| index.follow(t)).collect();
    feeds.iter_mut().for_each(|f| f.apply(Event::Init));
    feeds.iter_mut().for_each(|f| f.apply(Event::InitDone));
    let followed = live();
    for feed in &mut feeds {
        let (ns, app) = (feed.target().namespace.clone(), feed.target().name.clone());
        list(feed, &ns, &app, 0, PODS_PER_DPA);
    }
    let indexed = live();
    assert_eq!(index.len(), DPAS * PODS_PER_DPA);

    let parts = [
        ("typed DPA in the controller's ObjectStore", stored.since(start), OBJECT_STORE_GUARD),
        ("DpaEntry in the webhook's DpaStore (+ targets set)", entries.since(stored), DPA_STORE_GUARD),
        ("PodAutoscalerInternal in the InternalStore", internals.since(entries), INTERNAL_GUARD),
        ("pod index per-target map (+ the watch's feed)", followed.since(followed_at), POD_INDEX_TARGET_GUARD),
    ];
    println!("\nper DPA target, {DPAS} DPAs of the bench's fleet (chunk bytes per target):");
    for (what, heap, _) in &parts {
        row(what, *heap, DPAS);
    }
    row("the target's 10 pods in the index", indexed.since(followed), DPAS);
    let all = indexed.since(start);
    row("all of the above", all, DPAS);
    println!("all of the above per tracked pod ({PODS_PER_DPA} per target): {:.0} B", all.per(DPAS * PODS_PER_DPA));
    for (what, heap, guard) in parts {
        assert!(heap.per(DPAS) <= guard, "{what}: {:.0} B per target > guard {guard:.0} B", heap.per(DPAS));
    }
}
