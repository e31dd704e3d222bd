//! The horizontal controller against devcluster, called directly with a Context: a
//! recommendation scales a Deployment (and a StatefulSet) through the scale subresource and the
//! workload simulation creates the pods; constraints limit; Preview writes nothing; a missing
//! target is `TargetNotFound`; a refused write is `ScaleFailed` with a `FailedScale` Event;
//! `force-replicas` pins the count.

use std::sync::Arc;

use autoscaling_apiserver::workload::crd::DatadogPodAutoscalerSpec;
use autoscaling_apiserver::workload::{
    Context, HorizontalController, HorizontalValues, PodAutoscalerInternal, PodIndex, ProcessResult, Reason,
    ValueSource, WorkloadSettings,
};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use serde_json::{Value, json};

use super::support::{cluster, create, deployment, dpa, eventually, pods_of, recording_client};

fn context(client: kube::Client) -> Context {
    Context::new(client, Arc::new(PodIndex::default()), None, WorkloadSettings::default())
}

/// The internal DPA `name` with `spec` (JSON) and an active recommendation of `replicas`.
fn internal(name: &str, spec: Value, replicas: i32) -> PodAutoscalerInternal {
    let spec: DatadogPodAutoscalerSpec = serde_json::from_value(spec).unwrap();
    let now = Timestamp::now();
    let mut dpa = PodAutoscalerInternal::new("default", name, spec, now);
    dpa.active.horizontal = Some(HorizontalValues { source: ValueSource::Autoscaling, timestamp: now, replicas });
    dpa
}

fn spec_for(kind: &str, target: &str, extra: Value) -> Value {
    let mut spec = json!({"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        spec[k] = v.clone();
    }
    spec
}

async fn deployment_replicas(admin: &kube::Client, name: &str) -> Option<i32> {
    let api: Api<Deployment> = Api::namespaced(admin.clone(), "default");
    api.get(name).await.unwrap().spec.and_then(|s| s.replicas)
}

/// `(reason, note)` of the events regarding the DPA `name`.
async fn dpa_events(admin: &kube::Client, name: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(admin.clone(), "default");
    let list = api.list(&Default::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some("DatadogPodAutoscaler") && r.name.as_deref() == Some(name))
        })
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Deployment `web` with `replicas` pods, settled (all available, so its status no longer moves
/// under the controller's pinned scale write), and a DPA object `web` for the events.
async fn web_with_pods(admin: &kube::Client, replicas: i32) {
    create(admin, deployment("web", replicas)).await;
    web_settled_at(admin, replicas).await;
    create(admin, dpa("web", "web")).await;
}

/// Waits until `web` has exactly `replicas` pods, all available.
async fn web_settled_at(admin: &kube::Client, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(admin.clone(), "default");
    eventually(&format!("{replicas} web pods available"), || async {
        let status = api.get("web").await.ok().and_then(|d| d.status).unwrap_or_default();
        let settled = status.replicas == Some(replicas)
            && status.available_replicas == Some(replicas)
            && status.ready_replicas == Some(replicas);
        settled && pods_of(admin, "web").await.len() == replicas as usize
    })
    .await;
}

#[tokio::test]
async fn a_recommendation_scales_the_deployment_through_the_scale_subresource() {
    let (dc, admin) = cluster().await;
    web_with_pods(&admin, 2).await;
    let (client, log) = recording_client(&dc).await;
    let ctx = context(client);
    let controller = HorizontalController::default();
    let mut dpa = internal("web", spec_for("Deployment", "web", json!({})), 5);

    let result = controller.reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue, "{:?}", dpa.horizontal_action_error);
    assert_eq!(dpa.horizontal_action_error, None);
    assert_eq!(dpa.error, None);
    assert_eq!(deployment_replicas(&admin, "web").await, Some(5));
    assert_eq!(dpa.scaled_replicas, Some(5));
    assert_eq!(dpa.horizontal_last_actions.len(), 1);
    let action = &dpa.horizontal_last_actions[0];
    assert_eq!((action.replicas, action.to_replicas, action.recommended_replicas), (2, 5, Some(5)));
    assert_eq!(action.limited_reason, None);
    assert_eq!(dpa.horizontal_limit_reason, None);
    assert_eq!(dpa.horizontal_last_recommendations.len(), 1, "the active recommendation joined the history");

    let scale_calls: Vec<String> =
        log.for_resource("scale").iter().map(|r| r.split('?').next().unwrap_or_default().to_string()).collect();
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    assert_eq!(scale_calls, vec![format!("GET {path}"), format!("PUT {path}")]);
    eventually("5 web pods", || async { pods_of(&admin, "web").await.len() == 5 }).await;
    eventually("the SuccessfulScale event", || async {
        dpa_events(&admin, "web").await.contains(&(
            "SuccessfulScale".to_string(),
            "Scaled target: default/web from 2 replicas to 5 replicas".to_string(),
        ))
    })
    .await;

    // Reconciling again at 5: a read, no write, the history unchanged.
    let result = controller.reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue);
    assert_eq!(dpa.horizontal_last_actions.len(), 1);
    let puts = log.for_resource("scale").into_iter().filter(|r| r.starts_with("PUT")).count();
    assert_eq!(puts, 1, "no second write: {:?}", log.for_resource("scale"));
}

#[tokio::test]
async fn max_replicas_limits_the_scale_up_and_says_why() {
    let (_dc, admin) = cluster().await;
    web_with_pods(&admin, 2).await;
    let ctx = context(admin.clone());
    let mut dpa = internal("web", spec_for("Deployment", "web", json!({"constraints": {"maxReplicas": 4}})), 5);
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue, "{:?}", dpa.horizontal_action_error);
    assert_eq!(deployment_replicas(&admin, "web").await, Some(4));
    let reason = "desired replica count limited to 4 (originally 5) due to max replicas constraint";
    assert_eq!(dpa.horizontal_limit_reason.as_deref(), Some(reason));
    assert_eq!(dpa.horizontal_last_actions[0].limited_reason.as_deref(), Some(reason));
    eventually("4 web pods", || async { pods_of(&admin, "web").await.len() == 4 }).await;
}

#[tokio::test]
async fn preview_mode_records_why_and_writes_nothing() {
    let (dc, admin) = cluster().await;
    web_with_pods(&admin, 2).await;
    let (client, log) = recording_client(&dc).await;
    let ctx = context(client);
    let mut dpa = internal("web", spec_for("Deployment", "web", json!({"applyPolicy": {"mode": "Preview"}})), 5);
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue);
    let error = dpa.horizontal_action_error.clone().expect("a policy error");
    assert_eq!(error.reason, Reason::PolicyRestricted);
    assert_eq!(
        error.message,
        "horizontal scaling disabled due to applyMode: Preview not allowing recommendations from source: Autoscaling"
    );
    assert!(dpa.horizontal_last_actions.is_empty());
    assert_eq!(dpa.scaled_replicas, Some(2));
    let writes: Vec<String> = log.all().into_iter().filter(|r| !r.starts_with("GET")).collect();
    assert_eq!(writes, Vec::<String>::new(), "Preview wrote");
    assert_eq!(deployment_replicas(&admin, "web").await, Some(2));
    assert_eq!(dpa_events(&admin, "web").await, vec![]);

    // force-replicas does not override Preview either.
    dpa.annotations.insert("autoscaling.datadoghq.com/force-replicas".into(), "3".into());
    HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(deployment_replicas(&admin, "web").await, Some(2));
    assert_eq!(dpa.horizontal_action_error.as_ref().map(|e| e.reason), Some(Reason::PolicyRestricted));

    // Both directions disabled: the horizontal state is cleared and the target not even read.
    let scale_reads = log.for_resource("scale").len();
    dpa.spec.apply_policy = Some(
        serde_json::from_value(json!({"scaleUp": {"strategy": "Disabled"}, "scaleDown": {"strategy": "Disabled"}}))
            .unwrap(),
    );
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue);
    assert_eq!(dpa.horizontal_action_error, None);
    assert!(dpa.horizontal_last_recommendations.is_empty());
    assert_eq!(log.for_resource("scale").len(), scale_reads);
}

#[tokio::test]
async fn a_missing_target_is_target_not_found() {
    let (_dc, admin) = cluster().await;
    let ctx = context(admin.clone());
    let mut dpa = internal("ghost", spec_for("Deployment", "ghost", json!({})), 5);
    dpa.current_replicas = Some(3);
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue);
    let error = dpa.error.clone().expect("TargetNotFound");
    assert_eq!(error.reason, Reason::TargetNotFound);
    assert!(error.message.contains("default/ghost"), "{}", error.message);
    assert_eq!((dpa.current_replicas, dpa.scaled_replicas), (None, None));
    assert!(dpa.horizontal_last_actions.is_empty());

    // A kind without a scale subresource is a scale failure naming the kind.
    let mut dpa = internal(
        "cm",
        json!({"owner": "Local", "targetRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}}),
        5,
    );
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::Requeue);
    let error = dpa.horizontal_action_error.expect("ScaleFailed");
    assert_eq!(error.reason, Reason::ScaleFailed);
    assert!(error.message.contains("v1 ConfigMap has no scale subresource"), "{}", error.message);
}

#[tokio::test]
async fn a_statefulset_target_scales_too() {
    let (_dc, admin) = cluster().await;
    create(
        &admin,
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
            "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}),
    )
    .await;
    let api: Api<StatefulSet> = Api::namespaced(admin.clone(), "default");
    eventually("db-0 ready", || async {
        api.get("db").await.ok().and_then(|s| s.status).is_some_and(|s| s.ready_replicas == Some(1))
    })
    .await;
    let ctx = context(admin.clone());
    let mut dpa = internal("db", spec_for("StatefulSet", "db", json!({})), 3);
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue, "{:?}", dpa.horizontal_action_error);
    assert_eq!(dpa.horizontal_action_error, None);
    assert_eq!(api.get("db").await.unwrap().spec.and_then(|s| s.replicas), Some(3));
    eventually("3 db pods", || async { pods_of(&admin, "db").await.len() == 3 }).await;
    eventually("the SuccessfulScale event", || async {
        dpa_events(&admin, "db").await.iter().any(|(reason, note)| {
            reason == "SuccessfulScale" && note == "Scaled target: default/db from 1 replicas to 3 replicas"
        })
    })
    .await;
}

#[tokio::test]
async fn force_replicas_pins_the_count_past_constraints() {
    let (_dc, admin) = cluster().await;
    web_with_pods(&admin, 2).await;
    let ctx = context(admin.clone());
    let mut dpa = internal("web", spec_for("Deployment", "web", json!({"constraints": {"maxReplicas": 2}})), 5);
    dpa.annotations.insert("autoscaling.datadoghq.com/force-replicas".into(), "3".into());
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue, "{:?}", dpa.horizontal_action_error);
    assert_eq!(deployment_replicas(&admin, "web").await, Some(3));
    let reason = dpa.horizontal_limit_reason.clone().unwrap();
    assert!(reason.starts_with("replica count pinned to 3 "), "{reason}");
    web_settled_at(&admin, 3).await;
    // An invalid value is ignored: 3 is outside the constraints (max 2), back to the bound.
    dpa.annotations.insert("autoscaling.datadoghq.com/force-replicas".into(), "lots".into());
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::NoRequeue, "{:?}", dpa.horizontal_action_error);
    assert_eq!(deployment_replicas(&admin, "web").await, Some(2));
    let outside =
        "current replica count is outside of min/max constraints, scaling back to closest boundary: 2 replicas";
    assert_eq!(dpa.horizontal_limit_reason.as_deref(), Some(outside));
    // Without rules, no action history is needed: only the last action is kept.
    let last: Vec<(i32, i32)> = dpa.horizontal_last_actions.iter().map(|a| (a.replicas, a.to_replicas)).collect();
    assert_eq!(last, vec![(3, 2)]);
}

#[tokio::test]
async fn a_refused_write_is_scale_failed_with_a_warning_event() {
    let (dc, admin) = cluster().await;
    web_with_pods(&admin, 2).await;
    // A ServiceAccount that may read the scale subresource and record events, not write scale.
    create(
        &admin,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader", "namespace": "default"}}),
    )
    .await;
    create(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader", "namespace": "default"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get"]},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}]}),
    )
    .await;
    create(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]}),
    )
    .await;
    let token = dc.service_account_token("default", "reader", &[]).unwrap();
    let ctx = context(dc.client_with_token(&token).await.unwrap());
    let mut dpa = internal("web", spec_for("Deployment", "web", json!({})), 5);
    let result = HorizontalController::default().reconcile(&ctx, &mut dpa, Timestamp::now()).await;
    assert_eq!(result, ProcessResult::Requeue);
    let error = dpa.horizontal_action_error.clone().expect("ScaleFailed");
    assert_eq!(error.reason, Reason::ScaleFailed);
    assert!(error.message.starts_with("failed to scale target: default/web to 5 replicas, err: "), "{}", error.message);
    assert!(dpa.horizontal_last_actions.is_empty());
    assert_eq!(deployment_replicas(&admin, "web").await, Some(2));
    eventually("the FailedScale event", || async {
        dpa_events(&admin, "web").await.iter().any(|(reason, note)| reason == "FailedScale" && *note == error.message)
    })
    .await;
}
