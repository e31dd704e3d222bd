//! The DPA controller on devcluster (spec §10.4, §10.5, §10.8): Remote DPAs created, updated and
//! deleted from the internal store; validation and the per-cluster limit in the `Error`
//! condition; a new leader restoring its state from `status` with no duplicate action; Preview
//! and pause computing and recording without acting. The horizontal and vertical steps are test
//! doubles that record what they were called with and "scale" by recording an action.

use std::sync::Arc;

use autoscaling_apiserver::workload::crd::{DatadogPodAutoscaler, HorizontalAction};
use autoscaling_apiserver::workload::model::ScalingStep;
use autoscaling_apiserver::workload::{
    AutoscalingStack, Context, DpaKey, HorizontalValues, InternalStore, PodAutoscalerInternal, ProcessResult,
    ScalingSteps, StackConfig, ValueSource, WorkloadSettings,
};
use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::support::{cluster, create, deployment, eventually};

/// What a step saw in one call.
#[derive(Clone, Debug)]
struct Call {
    dpa: String,
    may_act: bool,
    preview: bool,
    /// Main (feed) replicas present in the call.
    main: Option<i32>,
    recommended: Option<i32>,
    last_actions: Vec<HorizontalAction>,
}

/// A horizontal step double: records every call and, when allowed to act and the recommendation
/// differs from the last action's result, records a scale action as the real step would.
#[derive(Default)]
struct RecordingStep {
    calls: Mutex<Vec<Call>>,
    acted: Mutex<Vec<(String, i32)>>,
}

impl RecordingStep {
    fn calls_for(&self, dpa: &str) -> Vec<Call> {
        self.calls.lock().iter().filter(|c| c.dpa == dpa).cloned().collect()
    }
}

impl ScalingStep for RecordingStep {
    fn sync<'a>(
        &'a self,
        _ctx: &'a Context,
        dpa: &'a mut PodAutoscalerInternal,
        now: Timestamp,
    ) -> BoxFuture<'a, ProcessResult> {
        Box::pin(async move {
            let recommended = dpa.active.horizontal.as_ref().map(|h| h.replicas);
            self.calls.lock().push(Call {
                dpa: dpa.id(),
                may_act: dpa.may_act(),
                preview: dpa.is_preview(),
                main: dpa.main.horizontal.as_ref().map(|h| h.replicas),
                recommended,
                last_actions: dpa.horizontal_last_actions.clone(),
            });
            let current = dpa.horizontal_last_actions.last().map(|a| a.to_replicas).unwrap_or(1);
            if let Some(to) = recommended.filter(|r| *r != current && dpa.may_act()) {
                self.acted.lock().push((dpa.id(), to));
                dpa.horizontal_last_actions.push(HorizontalAction {
                    time: Time(now),
                    replicas: current,
                    to_replicas: to,
                    recommended_replicas: Some(to),
                    limited_reason: None,
                });
            }
            ProcessResult::NoRequeue
        })
    }
}

/// A step that does nothing but count calls (the vertical side).
#[derive(Default)]
struct CountingStep(Mutex<usize>);

impl ScalingStep for CountingStep {
    fn sync<'a>(
        &'a self,
        _: &'a Context,
        _: &'a mut PodAutoscalerInternal,
        _: Timestamp,
    ) -> BoxFuture<'a, ProcessResult> {
        *self.0.lock() += 1;
        Box::pin(async { ProcessResult::NoRequeue })
    }
}

struct Running {
    stack: AutoscalingStack,
    horizontal: Arc<RecordingStep>,
    store: Arc<InternalStore>,
}

fn start(client: &kube::Client, settings: WorkloadSettings) -> Running {
    let horizontal = Arc::new(RecordingStep::default());
    let store = Arc::new(InternalStore::default());
    let steps = ScalingSteps { horizontal: horizontal.clone(), vertical: Arc::new(CountingStep::default()) };
    let config = StackConfig { settings, steps: Some(steps), store: Some(store.clone()), ..Default::default() };
    Running { stack: AutoscalingStack::start(client.clone(), config), horizontal, store }
}

fn settings() -> WorkloadSettings {
    WorkloadSettings { own_namespace: None, own_pod_name: None, ..Default::default() }
}

fn dpas(client: &kube::Client) -> Api<DatadogPodAutoscaler> {
    Api::namespaced(client.clone(), "default")
}

fn local_dpa(name: &str, extra: Value) -> Value {
    let mut spec = json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

/// The `(status, reason, message)` of a condition of the DPA, once it has one.
async fn condition(client: &kube::Client, name: &str, type_: &str) -> Option<(String, Option<String>, Option<String>)> {
    let dpa = dpas(client).get_opt(name).await.ok()??;
    let conditions = dpa.status?.conditions?;
    let c = conditions.into_iter().find(|c| c.type_ == type_)?;
    Some((c.status.into_owned(), c.reason, c.message))
}

async fn wait_condition(
    client: &kube::Client,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) {
    let want = (status.to_string(), reason.map(String::from), message.map(String::from));
    eventually(&format!("{name}: {type_} {want:?}"), || {
        let (client, want) = (client.clone(), want.clone());
        async move { condition(&client, name, type_).await == Some(want) }
    })
    .await;
}

/// Sets fresh main horizontal values on a DPA once the controller has it, as the feed does.
async fn feed_replicas(store: &InternalStore, name: &str, replicas: i32) {
    let key = DpaKey::new("default", name);
    eventually(&format!("{name} in the internal store"), || async { store.get(&key).is_some() }).await;
    let entry = store.get(&key).expect("entry");
    entry.lock().await.main.horizontal =
        Some(HorizontalValues { source: ValueSource::Autoscaling, timestamp: Timestamp::now(), replicas });
    store.notify(&key, "feed");
}

#[tokio::test]
async fn remote_dpas_are_created_updated_and_deleted_from_the_store() {
    let (dc, admin) = cluster().await;
    let running = start(&admin, settings());
    let spec = json!({"owner": "Remote", "remoteVersion": 1,
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 60}}}]});
    let key = DpaKey::new("default", "remote-web");
    let remote =
        PodAutoscalerInternal::new("default", "remote-web", serde_json::from_value(spec).unwrap(), Timestamp::now());
    running.store.get_or_insert_with(&key, || remote);
    running.store.notify(&key, "feed");

    let api = dpas(&admin);
    eventually("the Remote DPA created with its spec and status", || {
        let api = api.clone();
        async move {
            let Ok(Some(dpa)) = api.get_opt("remote-web").await else { return false };
            let conditions = dpa.status.and_then(|s| s.conditions).unwrap_or_default();
            dpa.spec.remote_version == Some(1) && conditions.len() == 8
        }
    })
    .await;
    let created = api.get("remote-web").await.unwrap();
    assert_eq!(created.spec.target_ref.name, "web");
    let types: Vec<String> =
        created.status.unwrap().conditions.unwrap().into_iter().map(|c| c.type_.into_owned()).collect();
    assert_eq!(
        types,
        [
            "Error",
            "Active",
            "HorizontalAbleToRecommend",
            "VerticalAbleToRecommend",
            "HorizontalScalingLimited",
            "VerticalScalingLimited",
            "HorizontalAbleToScale",
            "VerticalAbleToApply"
        ]
    );

    {
        let entry = running.store.get(&key).unwrap();
        let mut dpa = entry.lock().await;
        dpa.spec.remote_version = Some(2);
        dpa.spec.constraints = Some(serde_json::from_value(json!({"minReplicas": 2, "maxReplicas": 7})).unwrap());
    }
    running.store.notify(&key, "feed");
    eventually("the newer remoteVersion pushed to Kubernetes", || {
        let api = api.clone();
        async move {
            let Ok(dpa) = api.get("remote-web").await else { return false };
            let max = dpa.spec.constraints.as_ref().and_then(|c| c.max_replicas);
            dpa.spec.remote_version == Some(2) && max == Some(7)
        }
    })
    .await;

    running.store.get(&key).unwrap().lock().await.deleted = true;
    running.store.notify(&key, "feed");
    eventually("the dropped Remote DPA deleted and forgotten", || {
        let (api, store, key) = (api.clone(), running.store.clone(), key.clone());
        async move { matches!(api.get_opt("remote-web").await, Ok(None)) && store.get(&key).is_none() }
    })
    .await;
    running.stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn invalid_local_specs_and_the_limit_show_in_the_error_condition() {
    let (dc, admin) = cluster().await;
    create(&admin, local_dpa("a-first", json!({}))).await;
    create(&admin, local_dpa("b-second", json!({}))).await;
    create(&admin, local_dpa("bad", json!({"constraints": {"minReplicas": 5, "maxReplicas": 2}}))).await;
    let running = start(&admin, WorkloadSettings { limit: 2, ..settings() });

    let limit_message = "Autoscaler disabled as maximum number per cluster reached (2)";
    wait_condition(&admin, "a-first", "Error", "False", None, None).await;
    wait_condition(&admin, "b-second", "Error", "False", None, None).await;
    // Created last (or equal time and later name): outside the limit, before its spec is even read.
    wait_condition(&admin, "bad", "Error", "True", Some("ClusterAutoscalerLimitReached"), Some(limit_message)).await;

    dpas(&admin).delete("a-first", &DeleteParams::default()).await.unwrap();
    let spec_message = "constraints.maxReplicas (2) must be greater than or equal to constraints.minReplicas (5)";
    wait_condition(&admin, "bad", "Error", "True", Some("InvalidSpec"), Some(spec_message)).await;
    assert!(running.horizontal.calls_for("default/bad").is_empty(), "no step runs for an invalid DPA");
    assert!(!running.horizontal.calls_for("default/b-second").is_empty());
    running.stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn a_new_leader_restores_from_status_and_does_not_act_again() {
    let (dc, admin) = cluster().await;
    create(&admin, deployment("web", 1)).await;
    create(&admin, local_dpa("web", json!({}))).await;
    let first = start(&admin, settings());
    feed_replicas(&first.store, "web", 3).await;
    eventually("the first leader's action in status", || {
        let api = dpas(&admin);
        async move {
            let Ok(dpa) = api.get("web").await else { return false };
            let actions = dpa.status.and_then(|s| s.horizontal).and_then(|h| h.last_actions).unwrap_or_default();
            actions.len() == 1 && actions[0].to_replicas == 3
        }
    })
    .await;
    assert_eq!(first.horizontal.acted.lock().clone(), vec![("default/web".to_string(), 3)]);
    first.stack.shutdown().await;

    // The new leader starts empty; the feed has not sent values yet, then sends the same ones.
    let second = start(&admin, settings());
    eventually("the new leader reconciled web", || async { !second.horizontal.calls_for("default/web").is_empty() })
        .await;
    let restored = second.horizontal.calls_for("default/web")[0].clone();
    assert_eq!((restored.main, restored.recommended), (None, Some(3)), "active values restored from status");
    assert_eq!(restored.last_actions.iter().map(|a| (a.replicas, a.to_replicas)).collect::<Vec<_>>(), vec![(1, 3)]);
    feed_replicas(&second.store, "web", 3).await;
    eventually("the new leader saw the feed's values", || async {
        second.horizontal.calls_for("default/web").iter().any(|c| c.main == Some(3) && c.recommended == Some(3))
    })
    .await;
    assert!(second.horizontal.acted.lock().is_empty(), "no duplicate scale action");
    let status = dpas(&admin).get("web").await.unwrap().status.unwrap();
    assert_eq!(status.horizontal.and_then(|h| h.last_actions).map(|a| a.len()), Some(1));
    second.stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn preview_and_pause_record_recommendations_without_acting() {
    let (dc, admin) = cluster().await;
    create(&admin, local_dpa("preview", json!({"applyPolicy": {"mode": "Preview"}}))).await;
    let mut paused = local_dpa("paused", json!({}));
    paused["metadata"]["annotations"] = json!({"autoscaling.datadoghq.com/pause": "true"});
    create(&admin, paused).await;
    let running = start(&admin, settings());
    feed_replicas(&running.store, "preview", 4).await;
    feed_replicas(&running.store, "paused", 6).await;

    for (name, replicas) in [("preview", 4), ("paused", 6)] {
        eventually(&format!("{name}: recommendation recorded in status"), || {
            let api = dpas(&admin);
            async move {
                let Ok(dpa) = api.get(name).await else { return false };
                let target = dpa.status.and_then(|s| s.horizontal).and_then(|h| h.target);
                target.map(|t| (t.source, t.desired_replicas)) == Some((Some("Autoscaling".into()), replicas))
            }
        })
        .await;
        let calls = running.horizontal.calls_for(&format!("default/{name}"));
        assert!(calls.iter().any(|c| c.recommended == Some(replicas)), "{name}: {calls:?}");
        assert!(calls.iter().all(|c| !c.may_act), "{name} may not act: {calls:?}");
        assert_eq!(calls.iter().all(|c| c.preview), name == "preview");
    }
    assert!(running.horizontal.acted.lock().is_empty());
    let paused_message = "Autoscaler paused by the autoscaling.datadoghq.com/pause annotation";
    wait_condition(&admin, "paused", "Active", "False", Some("LocallyPaused"), Some(paused_message)).await;
    wait_condition(&admin, "preview", "Active", "True", None, None).await;
    wait_condition(&admin, "preview", "HorizontalAbleToScale", "Unknown", None, None).await;
    running.stack.shutdown().await;
    dc.shutdown().await;
}
