//! The vertical controller against devcluster, called directly with a DPA whose internal state the
//! test builds (a vertical recommendation for the Deployment `web`), with our `/autoscaling` webhook
//! registered so pods created by rollouts and evictions get the recommendation: a rollout, an
//! in-place resize (with transient errors retried), Deferred resizes evicted only after the pending
//! period, Infeasible ones evicted within a PDB, and a forbidden `pods/resize` falling back to a rollout.

use std::sync::Arc;
use std::time::Duration;

use autoscaling_apiserver::devcluster::{self, DevCluster, RequestFault};
use autoscaling_apiserver::server::RunningServer;
use autoscaling_apiserver::workload::context::{Context, WorkloadSettings};
use autoscaling_apiserver::workload::crd::{ContainerResources, DatadogPodAutoscalerSpec};
use autoscaling_apiserver::workload::hash::stable_hash;
use autoscaling_apiserver::workload::model::{ProcessResult, ScalingStep, ValueSource, VerticalValues};
use autoscaling_apiserver::workload::pod_index::ResizeState;
use autoscaling_apiserver::workload::vertical::{self, VerticalInputs, constrain};
use autoscaling_apiserver::workload::{AutoscalingStack, PodAutoscalerInternal, StackConfig, VerticalController};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::support::{api_for, cluster_with, create, deployment, eventually, pods_of};
use super::webhook::{register, server};

struct Fixture {
    dc: DevCluster,
    admin: kube::Client,
    stack: AutoscalingStack,
    server: RunningServer,
    ctx: Arc<Context>,
    controller: VerticalController,
    dpa: PodAutoscalerInternal,
    id: String,
}

fn recommendation() -> Vec<ContainerResources> {
    serde_json::from_value(json!([{"name": "app", "requests": {"cpu": "200m", "memory": "192Mi"},
        "limits": {"memory": "256Mi"}}]))
    .unwrap()
}

/// devcluster with our webhook, the Deployment `web` (2 pods, `template_annotations` on them) and
/// the DPA `web` whose published status carries the constrained recommendation; the controller's
/// context acts as admin.
async fn fixture(template_annotations: Value, settings: WorkloadSettings, config: devcluster::Config) -> Fixture {
    let (dc, admin) = cluster_with(config).await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    let server = server(&admin, &stack).await;
    register(&admin, &server).await;
    let mut web = deployment("web", 2);
    web["spec"]["template"]["metadata"]["annotations"] = template_annotations;
    create(&admin, web).await;

    let spec = json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}});
    create(
        &admin,
        json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"}, "spec": spec}),
    )
    .await;
    let spec: DatadogPodAutoscalerSpec = serde_json::from_value(spec).unwrap();
    let now = Timestamp::now();
    let mut dpa = PodAutoscalerInternal::new("default", "web", spec.clone(), now);
    let reco = recommendation();
    dpa.active.vertical = Some(VerticalValues {
        source: ValueSource::Autoscaling,
        timestamp: now,
        resources: reco.clone(),
        hash: stable_hash(&reco),
    });

    // What the status writer publishes from the controller's constrained values.
    let constrained = constrain(&reco, &stable_hash(&reco), &VerticalInputs::of(&spec, &Default::default())).unwrap();
    let id = constrained.id.clone();
    let status = json!({"status": {"vertical": {"target": {"source": "Autoscaling", "version": id,
        "podCPURequest": "200m", "podMemoryRequest": "192Mi", "desiredResources": constrained.resources}}}});
    let dpas = api_for(
        &admin,
        &json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"namespace": "default"}}),
    );
    dpas.patch_status("web", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    eventually("the webhook has the recommendation", || async {
        stack.dpas.get("default", "web").and_then(|d| d.vertical.clone()).is_some_and(|v| v.version == id)
    })
    .await;
    let target = vertical::target_of(&dpa);
    eventually("the pod index has web's 2 running pods", || async {
        let pods = stack.pods.pods_of(&target);
        pods.len() == 2 && pods.iter().all(|(_, p)| p.ready)
    })
    .await;
    let ctx = Arc::new(Context::new(admin.clone(), stack.pods.clone(), None, settings));
    Fixture { dc, admin, stack, server, ctx, controller: VerticalController::default(), dpa, id }
}

impl Fixture {
    async fn sync(&mut self, now: Timestamp) -> ProcessResult {
        self.controller.sync(&self.ctx, &mut self.dpa, now).await
    }

    /// Syncs until `done` holds of the result and the DPA (the pod index catches up in between).
    async fn sync_until(
        &mut self,
        what: &str,
        now: Timestamp,
        done: impl Fn(ProcessResult, &PodAutoscalerInternal) -> bool,
    ) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let result = self.sync(now).await;
            if done(result, &self.dpa) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out syncing until {what}: last {result:?}, {:?}",
                self.dpa
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn index_states(&self) -> Vec<(Option<String>, ResizeState)> {
        let pods = self.stack.pods.pods_of(&vertical::target_of(&self.dpa));
        pods.into_iter().map(|(_, p)| (p.rec_id.map(|r| r.to_string()), p.resize)).collect()
    }

    fn last_action(&self) -> (String, String) {
        let a = self.dpa.vertical_last_action.as_ref().expect("a vertical action");
        (a.type_.clone(), a.version.clone())
    }

    async fn shutdown(self) {
        self.server.shutdown().await;
        self.stack.shutdown().await;
        self.dc.shutdown().await;
    }
}

/// Live (not terminating) pods of `web`.
async fn live_pods(admin: &kube::Client) -> Vec<Pod> {
    pods_of(admin, "web").await.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

fn names(pods: &[Pod]) -> Vec<String> {
    let mut names: Vec<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
    names.sort();
    names
}

/// The pod carries the recommendation ID and the recommended resources.
fn on_recommendation(pod: &Pod, id: &str) -> bool {
    let rec_id = pod.metadata.annotations.as_ref().and_then(|a| a.get("autoscaling.datadoghq.com/rec-id"));
    let resources = serde_json::to_value(&pod.spec.as_ref().unwrap().containers[0].resources).unwrap();
    rec_id.map(String::as_str) == Some(id)
        && resources == json!({"requests": {"cpu": "200m", "memory": "192Mi"}, "limits": {"memory": "256Mi"}})
}

/// Notes of the Events with `reason`.
async fn events(admin: &kube::Client, reason: &str) -> Vec<String> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(admin.clone(), "default");
    let list = api.list(&Default::default()).await.map(|l| l.items).unwrap_or_default();
    list.into_iter().filter(|e| e.reason.as_deref() == Some(reason)).filter_map(|e| e.note).collect()
}

fn later(now: Timestamp, minutes: i64) -> Timestamp {
    now.checked_add(SignedDuration::from_mins(minutes)).unwrap()
}

#[tokio::test]
async fn a_rollout_gives_the_deployments_new_pods_the_recommendation() {
    let settings = WorkloadSettings { in_place_vertical_scaling: false, ..Default::default() };
    let mut f = fixture(json!({}), settings, Default::default()).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let applied = tokio::spawn(vertical::run_applied_events(f.ctx.clone(), stopped));
    let now = Timestamp::now();

    assert_eq!(f.sync(now).await, ProcessResult::RequeueAfter(vertical::ROLLOUT_CHECK_REQUEUE));
    assert_eq!(f.last_action(), ("RolloutTriggered".to_string(), f.id.clone()));
    assert_eq!(f.dpa.vertical_constrained.as_ref().map(|v| v.hash.clone()), Some(f.id.clone()));
    let web = api_for(&f.admin, &deployment("web", 0)).get("web").await.unwrap();
    let annotations = &web.data["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["autoscaling.datadoghq.com/rec-id"], f.id.as_str());
    assert!(
        annotations["autoscaling.datadoghq.com/rolloutAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{annotations}"
    );
    let notes = events(&f.admin, "SuccessfulTriggerRollout").await;
    assert_eq!(notes, ["Successfully triggered rollout on target:apps/v1, Kind=Deployment/web"]);

    let id = f.id.clone();
    eventually("the rollout's pods carry the recommendation", || async {
        let pods = live_pods(&f.admin).await;
        pods.len() == 2 && pods.iter().all(|p| on_recommendation(p, &id))
    })
    .await;
    f.sync_until("the rollout is complete", now, |r, d| r == ProcessResult::NoRequeue && d.vertical_scaled == Some(2))
        .await;
    assert_eq!(f.last_action().0, "RolloutTriggered", "a complete rollout is not triggered again");

    eventually("pods get their RecommendationApplied event", || async {
        let marked = live_pods(&f.admin).await.iter().all(|p| {
            p.metadata.annotations.as_ref().and_then(|a| a.get("autoscaling.datadoghq.com/event")).map(String::as_str)
                == Some("true")
        });
        let expected = format!("POD patched with recommendations from autoscaler default/web, recommendation id: {id}");
        marked && events(&f.admin, "RecommendationApplied").await.iter().filter(|n| **n == expected).count() >= 2
    })
    .await;
    let _ = stop.send(true);
    applied.await.unwrap();
    f.shutdown().await;
}

#[tokio::test]
async fn an_in_place_resize_retries_transient_errors_and_completes() {
    let mut f = fixture(json!({}), WorkloadSettings::default(), Default::default()).await;
    let before = names(&live_pods(&f.admin).await);
    let now = Timestamp::now();
    let fault =
        RequestFault { path_contains: "/resize".into(), status: Some(500), delay: Duration::ZERO, remaining: Some(2) };
    f.dc.faults().add(fault);

    assert_eq!(f.sync(now).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    assert_eq!(f.last_action(), ("ResizeTriggered".to_string(), f.id.clone()));
    assert!(live_pods(&f.admin).await.iter().all(|p| !on_recommendation(p, &f.id)), "both resizes failed (500)");
    assert_eq!(f.dpa.vertical_evicted, Some(0), "a transient error evicts nothing");

    assert_eq!(f.sync(now).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    let id = f.id.clone();
    eventually("the pods are resized in place", || async {
        let pods = live_pods(&f.admin).await;
        pods.iter().all(|p| on_recommendation(p, &id)) && names(&pods) == before
    })
    .await;
    f.sync_until("the resize completes", now, |r, _| r == ProcessResult::NoRequeue).await;
    assert_eq!(f.last_action(), ("ResizeCompleted".to_string(), f.id.clone()));
    assert_eq!(f.dpa.vertical_scaled, Some(2));
    assert_eq!(
        events(&f.admin, "ResizeSuccessful").await,
        ["All 2 pods resized successfully for autoscaler default/web"]
    );
    assert_eq!(names(&live_pods(&f.admin).await), before, "no pod was replaced");
    f.shutdown().await;
}

#[tokio::test]
async fn deferred_resizes_are_evicted_only_after_the_pending_period() {
    let hold = json!({"devcluster.io/resize-outcome": "Deferred"});
    let mut f = fixture(hold, WorkloadSettings::default(), Default::default()).await;
    let before = names(&live_pods(&f.admin).await);
    let t0 = Timestamp::now();
    assert_eq!(f.sync(t0).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    let id = f.id.clone();
    eventually("both resizes are deferred", || async {
        f.index_states().iter().all(|(r, s)| r.as_deref() == Some(id.as_str()) && *s == ResizeState::Deferred)
    })
    .await;

    assert_eq!(f.sync(later(t0, 5)).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    assert_eq!(f.sync(later(t0, 9)).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    assert_eq!(f.dpa.vertical_evicted, Some(0));
    assert_eq!(names(&live_pods(&f.admin).await), before, "deferred pods are retried, not evicted, within 600 s");
    assert!(events(&f.admin, "InPlaceEvicted").await.is_empty());

    assert_eq!(f.sync(later(t0, 11)).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    assert_eq!(f.dpa.vertical_evicted, Some(2));
    assert_eq!(events(&f.admin, "InPlaceEvicted").await, ["In-place resize eviction: 2 evicted (2 pods pending)"]);
    eventually("replacement pods are created with the recommendation", || async {
        let pods = live_pods(&f.admin).await;
        pods.len() == 2
            && pods.iter().all(|p| on_recommendation(p, &id) && !before.contains(p.metadata.name.as_ref().unwrap()))
    })
    .await;
    f.sync_until("the replacements complete the resize", later(t0, 12), |r, _| r == ProcessResult::NoRequeue).await;
    assert_eq!(f.last_action().0, "ResizeCompleted");
    f.shutdown().await;
}

#[tokio::test]
async fn infeasible_resizes_are_evicted_within_the_disruption_budget() {
    let hold = json!({"devcluster.io/resize-outcome": "Infeasible"});
    let mut f = fixture(hold, WorkloadSettings::default(), Default::default()).await;
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "web"}}}});
    create(&f.admin, pdb.clone()).await;
    let before = names(&live_pods(&f.admin).await);
    let now = Timestamp::now();
    f.sync(now).await;
    let id = f.id.clone();
    eventually("both resizes are infeasible", || async {
        f.index_states().iter().all(|(r, s)| r.as_deref() == Some(id.as_str()) && *s == ResizeState::Infeasible)
    })
    .await;

    assert_eq!(f.sync(now).await, ProcessResult::RequeueAfter(vertical::IN_PLACE_REQUEUE));
    assert_eq!(f.dpa.vertical_evicted, Some(0), "the PDB allows no eviction");
    assert_eq!(
        events(&f.admin, "FailedToEvict").await,
        ["In-place resize eviction: PDB blocked further evictions (2 pods pending)"]
    );
    assert_eq!(names(&live_pods(&f.admin).await), before);
    assert_eq!(f.last_action().0, "ResizeTriggered", "no rollout for an infeasible resize");

    let relaxed = json!({"spec": {"maxUnavailable": 1}});
    api_for(&f.admin, &pdb).patch("web", &PatchParams::default(), &Patch::Merge(&relaxed)).await.unwrap();
    f.sync_until("both pods are evicted, one at a time", now, |_, d| d.vertical_evicted == Some(2)).await;
    eventually("replacement pods carry the recommendation", || async {
        let pods = live_pods(&f.admin).await;
        pods.len() == 2
            && pods.iter().all(|p| on_recommendation(p, &id) && !before.contains(p.metadata.name.as_ref().unwrap()))
    })
    .await;
    f.sync_until("the resize cycle completes", now, |r, _| r == ProcessResult::NoRequeue).await;
    assert_eq!(f.last_action().0, "ResizeCompleted");
    f.shutdown().await;
}

#[tokio::test]
async fn a_forbidden_resize_falls_back_to_a_rollout() {
    let mut f = fixture(json!({}), WorkloadSettings::default(), Default::default()).await;
    // The controller's identity may patch pods and Deployments but not pods/resize.
    create(
        &f.admin,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "vpa", "namespace": "default"}}),
    )
    .await;
    create(
        &f.admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "vpa", "namespace": "default"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
            {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]}]}),
    )
    .await;
    create(
        &f.admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "vpa", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "vpa"},
        "subjects": [{"kind": "ServiceAccount", "name": "vpa", "namespace": "default"}]}),
    )
    .await;
    let token = f.dc.service_account_token("default", "vpa", &[]).unwrap();
    let client = f.dc.client_with_token(&token).await.unwrap();
    let core = client.list_core_api_resources("v1").await.unwrap();
    assert!(core.resources.iter().any(|r| r.name == "pods/resize"), "the in-place path is taken");
    f.ctx = Arc::new(Context::new(client, f.stack.pods.clone(), None, WorkloadSettings::default()));
    let before = names(&live_pods(&f.admin).await);

    assert_eq!(f.sync(Timestamp::now()).await, ProcessResult::RequeueAfter(vertical::ROLLOUT_CHECK_REQUEUE));
    assert_eq!(f.last_action(), ("RolloutTriggered".to_string(), f.id.clone()));
    let id = f.id.clone();
    eventually("the rollout replaces the pods with the recommendation", || async {
        let pods = live_pods(&f.admin).await;
        pods.len() == 2
            && pods.iter().all(|p| on_recommendation(p, &id) && !before.contains(p.metadata.name.as_ref().unwrap()))
    })
    .await;
    f.shutdown().await;
}
