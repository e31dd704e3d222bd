//! Cluster profiles on devcluster: a labelled Deployment gets its managed DPA (name, label,
//! annotations, targetRef, template), template changes propagate, unlabelling or deleting the
//! profile deletes it; namespace labels are inherited (`excluded` opts out) with workloads watched
//! only by label or in labelled namespaces; profile status; built-ins kept and reverted.

use autoscaling_apiserver::workload::profile::{WorkloadKind, WorkloadRef};
use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::support::{api_for, cluster, create, deployment, eventually, recording_client, resource_of};

const LABEL: &str = "autoscaling.datadoghq.com/profile";
const HASH: &str = "autoscaling.datadoghq.com/profile-hash";
const PREVIEW: &str = "autoscaling.datadoghq.com/preview";

fn profile(name: &str, utilization: i32) -> Value {
    json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscalerClusterProfile",
        "metadata": {"name": name, "annotations": {PREVIEW: "{\"burstable\":true}"}},
        "spec": {"template": {
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": utilization}}}],
            "constraints": {"minReplicas": 2, "maxReplicas": 8}}}})
}

fn labelled(mut workload: Value, namespace: &str, profile: Option<&str>) -> Value {
    workload["metadata"]["namespace"] = json!(namespace);
    if let Some(p) = profile {
        workload["metadata"]["labels"] = json!({LABEL: p});
    }
    workload
}

fn statefulset(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}}})
}

fn dpas(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let probe = json!({"apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler"});
    Api::namespaced_with(client.clone(), namespace, &resource_of(&probe))
}

fn profiles(client: &kube::Client) -> Api<DynamicObject> {
    api_for(client, &profile("x", 1))
}

fn name_of(kind: WorkloadKind, namespace: &str, name: &str) -> String {
    WorkloadRef::new(kind, namespace, name).dpa_name()
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    api.get_opt(name).await.ok().flatten().map(|o| serde_json::to_value(o).unwrap())
}

async fn set_label(client: &kube::Client, obj: &Value, value: Value) {
    let name = obj["metadata"]["name"].as_str().unwrap();
    let patch = json!({"metadata": {"labels": {LABEL: value}}});
    api_for(client, obj).patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

/// The `Valid` condition and the counters of a profile's status, once written.
async fn status_of(client: &kube::Client, name: &str) -> Option<Value> {
    get(&profiles(client), name).await.map(|p| p["status"].clone()).filter(|s| s.is_object())
}

#[tokio::test]
async fn a_labelled_deployment_gets_a_managed_dpa_that_follows_its_profile() {
    let (dc, admin) = cluster().await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    create(&admin, profile("rightsize", 70)).await;
    let web = labelled(deployment("web", 1), "default", Some("rightsize"));
    create(&admin, web.clone()).await;
    let name = name_of(WorkloadKind::Deployment, "default", "web");
    assert_eq!(name, "web-8e0d645d");
    let api = dpas(&admin, "default");
    eventually("the managed DPA created", || async { get(&api, &name).await.is_some() }).await;
    assert!(stack.gate.is_open());

    let dpa = get(&api, &name).await.unwrap();
    assert_eq!(dpa["metadata"]["labels"][LABEL], "rightsize");
    assert_eq!(dpa["metadata"]["annotations"][PREVIEW], "{\"burstable\":true}");
    let hash = dpa["metadata"]["annotations"][HASH].as_str().unwrap().to_string();
    assert_eq!(dpa["spec"]["owner"], "Local");
    assert_eq!(dpa["spec"]["targetRef"], json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}));
    assert_eq!(dpa["spec"]["objectives"][0]["podResource"]["value"]["utilization"], 70);
    assert_eq!(dpa["spec"]["constraints"], json!({"minReplicas": 2, "maxReplicas": 8}));
    // The DPA watch of the stack sees it like any other DPA.
    eventually("the DPA store has it", || async { stack.dpas.get("default", &name).is_some() }).await;

    eventually("profile status written", || async {
        status_of(&admin, "rightsize").await.is_some_and(|s| s["controlledAutoscalers"] == 1)
    })
    .await;
    let status = status_of(&admin, "rightsize").await.unwrap();
    assert_eq!(status["templateHash"], hash.as_str());
    let valid = &status["conditions"][0];
    assert_eq!(
        (&valid["type"], &valid["status"], &valid["reason"]),
        (&json!("Valid"), &json!("True"), &json!("Valid"))
    );
    assert_eq!(valid["observedGeneration"], 1);

    // A template change reaches the DPA (new hash, new objective, dropped constraint).
    let change = json!({"spec": {"template": {"objectives": [{"type": "PodResource",
        "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 55}}}],
        "constraints": {"minReplicas": 2, "maxReplicas": null}}}});
    profiles(&admin).patch("rightsize", &PatchParams::default(), &Patch::Merge(&change)).await.unwrap();
    eventually("the DPA updated", || async {
        get(&api, &name).await.is_some_and(|d| d["spec"]["objectives"][0]["podResource"]["value"]["utilization"] == 55)
    })
    .await;
    let dpa = get(&api, &name).await.unwrap();
    assert_ne!(dpa["metadata"]["annotations"][HASH], hash.as_str());
    assert_eq!(dpa["spec"]["constraints"], json!({"minReplicas": 2}));
    eventually("status hash follows", || async {
        status_of(&admin, "rightsize").await.is_some_and(|s| s["templateHash"] == dpa["metadata"]["annotations"][HASH])
    })
    .await;

    // Unlabelled → deleted; labelled again → back; profile deleted → deleted.
    set_label(&admin, &web, Value::Null).await;
    eventually("the DPA deleted with the label", || async { get(&api, &name).await.is_none() }).await;
    set_label(&admin, &web, json!("rightsize")).await;
    eventually("the DPA back with the label", || async { get(&api, &name).await.is_some() }).await;
    profiles(&admin).delete("rightsize", &DeleteParams::default()).await.unwrap();
    eventually("the DPA deleted with the profile", || async { get(&api, &name).await.is_none() }).await;

    // A label naming no profile is ignored; a StatefulSet works like a Deployment.
    create(&admin, labelled(statefulset("db"), "default", Some("nope"))).await;
    create(&admin, profile("steady", 80)).await;
    let db = labelled(statefulset("db"), "default", None);
    set_label(&admin, &db, json!("steady")).await;
    let db_name = name_of(WorkloadKind::StatefulSet, "default", "db");
    eventually("the StatefulSet's DPA", || async {
        get(&api, &db_name).await.is_some_and(|d| d["spec"]["targetRef"]["kind"] == "StatefulSet")
    })
    .await;
    let all = api.list(&Default::default()).await.unwrap();
    assert_eq!(
        all.items.len(),
        1,
        "only db's DPA: {:?}",
        all.items.iter().map(|d| &d.metadata.name).collect::<Vec<_>>()
    );

    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn namespace_labels_are_inherited_unless_excluded_and_only_labelled_namespaces_are_listed() {
    let (dc, admin) = cluster().await;
    let (client, log) = recording_client(&dc).await;
    let stack = AutoscalingStack::start(client, StackConfig::default());
    create(&admin, profile("team-profile", 70)).await;
    create(&admin, profile("own-profile", 50)).await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {LABEL: "team-profile"}}});
    create(&admin, ns.clone()).await;
    create(&admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "quiet"}})).await;
    create(&admin, labelled(deployment("api", 1), "team", None)).await;
    create(&admin, labelled(deployment("batch", 1), "team", Some("excluded"))).await;
    create(&admin, labelled(deployment("mine", 1), "team", Some("own-profile"))).await;
    create(&admin, labelled(statefulset("db"), "team", None)).await;
    create(&admin, labelled(deployment("elsewhere", 1), "quiet", None)).await;

    let api = dpas(&admin, "team");
    let api_name = name_of(WorkloadKind::Deployment, "team", "api");
    let db_name = name_of(WorkloadKind::StatefulSet, "team", "db");
    let mine_name = name_of(WorkloadKind::Deployment, "team", "mine");
    eventually("three managed DPAs in team", || async {
        api.list(&Default::default()).await.unwrap().items.len() == 3
    })
    .await;
    assert_eq!(get(&api, &api_name).await.unwrap()["metadata"]["labels"][LABEL], "team-profile");
    assert_eq!(get(&api, &db_name).await.unwrap()["metadata"]["labels"][LABEL], "team-profile");
    assert_eq!(get(&api, &mine_name).await.unwrap()["metadata"]["labels"][LABEL], "own-profile", "workload label wins");
    assert!(get(&api, &name_of(WorkloadKind::Deployment, "team", "batch")).await.is_none(), "excluded");
    assert!(dpas(&admin, "quiet").list(&Default::default()).await.unwrap().items.is_empty());
    eventually("controlledAutoscalers counted", || async {
        status_of(&admin, "team-profile").await.is_some_and(|s| s["controlledAutoscalers"] == 2)
    })
    .await;

    // Workloads were listed by label cluster-wide, or whole only in the labelled namespace.
    for resource in ["deployments", "statefulsets"] {
        let requests = log.for_resource(resource);
        assert!(!requests.is_empty());
        for r in requests {
            let by_label = r.contains("labelSelector=autoscaling.datadoghq.com%2Fprofile");
            assert!(by_label || r.contains("/namespaces/team/"), "a workload request beyond labels and team: {r}");
            assert!(!r.contains("/namespaces/quiet/"), "{r}");
        }
    }

    // The namespace loses its label: inherited DPAs go, the workload's own stays.
    set_label(&admin, &ns, Value::Null).await;
    eventually("inherited DPAs deleted", || async {
        let names: Vec<String> =
            api.list(&Default::default()).await.unwrap().items.into_iter().filter_map(|d| d.metadata.name).collect();
        names == vec![mine_name.clone()]
    })
    .await;
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn an_invalid_profile_says_why_and_makes_no_dpa() {
    let (dc, admin) = cluster().await;
    let stack = AutoscalingStack::start(admin.clone(), StackConfig::default());
    let mut bad = profile("broken", 70);
    bad["spec"]["template"]["constraints"] = json!({"minReplicas": 5, "maxReplicas": 2});
    create(&admin, bad).await;
    create(&admin, labelled(deployment("web", 1), "default", Some("broken"))).await;
    eventually("status written", || async { status_of(&admin, "broken").await.is_some() }).await;
    let status = status_of(&admin, "broken").await.unwrap();
    let valid = &status["conditions"][0];
    assert_eq!(valid["type"], "Valid");
    assert_eq!(valid["status"], "False");
    assert_eq!(valid["reason"], "InvalidSpec");
    assert_eq!(
        valid["message"],
        "constraints.maxReplicas (2) must be greater than or equal to constraints.minReplicas (5)"
    );
    assert_eq!(status["controlledAutoscalers"], 1);

    // Fixed: the DPA appears and the condition turns True.
    let fix = json!({"spec": {"template": {"constraints": {"maxReplicas": 9}}}});
    profiles(&admin).patch("broken", &PatchParams::default(), &Patch::Merge(&fix)).await.unwrap();
    let api = dpas(&admin, "default");
    let name = name_of(WorkloadKind::Deployment, "default", "web");
    eventually("the DPA once valid", || async { get(&api, &name).await.is_some() }).await;
    eventually("condition True", || async {
        status_of(&admin, "broken").await.is_some_and(|s| s["conditions"][0]["status"] == "True")
    })
    .await;
    assert_eq!(status_of(&admin, "broken").await.unwrap()["conditions"][0]["observedGeneration"], 2);
    stack.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn builtin_profiles_are_created_kept_and_do_not_open_the_gate() {
    let (dc, admin) = cluster().await;
    let config = StackConfig { builtin_profiles: true, ..Default::default() };
    let stack = AutoscalingStack::start(admin.clone(), config);
    let names =
        ["datadog-optimize-cost", "datadog-optimize-balance", "datadog-optimize-performance", "datadog-vertical-only"];
    let api = profiles(&admin);
    for name in names {
        eventually(&format!("{name} created"), || async { get(&api, name).await.is_some() }).await;
        let p = get(&api, name).await.unwrap();
        assert_eq!(p["metadata"]["labels"]["autoscaling.datadoghq.com/managed-by"], "datadog");
    }
    let balance = get(&api, "datadog-optimize-balance").await.unwrap();
    assert_eq!(balance["spec"]["template"]["constraints"]["minReplicas"], 2);
    assert_eq!(balance["spec"]["template"]["objectives"][0]["podResource"]["value"]["utilization"], 70);
    assert!(!stack.gate.is_open(), "built-ins alone are no use of autoscaling");

    let tamper = json!({"spec": {"template": {"constraints": {"minReplicas": 7}}}});
    api.patch("datadog-optimize-cost", &PatchParams::default(), &Patch::Merge(&tamper)).await.unwrap();
    eventually("the tampered built-in reverted", || async {
        get(&api, "datadog-optimize-cost")
            .await
            .is_some_and(|p| p["spec"]["template"]["constraints"]["minReplicas"] == 1)
    })
    .await;
    api.delete("datadog-optimize-performance", &DeleteParams::default()).await.unwrap();
    eventually("a deleted built-in recreated", || async { get(&api, "datadog-optimize-performance").await.is_some() })
        .await;

    // A workload labelled with a built-in opens the gate and gets its DPA.
    create(&admin, labelled(deployment("web", 1), "default", Some("datadog-optimize-balance"))).await;
    eventually("gate open", || async { stack.gate.is_open() }).await;
    let name = name_of(WorkloadKind::Deployment, "default", "web");
    eventually("the DPA from the built-in", || async { get(&dpas(&admin, "default"), &name).await.is_some() }).await;
    stack.shutdown().await;
    dc.shutdown().await;
}
