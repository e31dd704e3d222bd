//! CustomResourceDefinitions: served versions, schema validation (422 with causes), pruning,
//! defaulting, status subresource rules, discovery.

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::support::{example_path, get, install_crds, raw, start, yaml_docs};

fn dpa_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("datadoghq.com", "v1alpha2", "DatadogPodAutoscaler"),
        "datadogpodautoscalers",
    )
}

fn dpa(name: &str) -> Value {
    json!({
        "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "constraints": {"minReplicas": 1, "maxReplicas": 10}}
    })
}

async fn create(dc: &autoscaling_apiserver::devcluster::DevCluster, obj: &Value) -> (u16, Value) {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
    let (group, version) = obj["apiVersion"].as_str().unwrap().split_once('/').unwrap();
    let plural = match obj["kind"].as_str().unwrap() {
        "DatadogPodAutoscaler" => "datadogpodautoscalers",
        _ => "datadogmetrics",
    };
    raw(
        dc,
        reqwest::Method::POST,
        &format!("/apis/{group}/{version}/namespaces/{ns}/{plural}"),
        "application/json",
        obj.to_string(),
    )
    .await
}

#[tokio::test]
async fn reference_examples_are_accepted() {
    let dc = start().await;
    install_crds(&dc).await;
    let (code, _) = raw(
        &dc,
        reqwest::Method::POST,
        "/api/v1/namespaces",
        "application/json",
        json!({"metadata":{"name":"my-namespace"}}).to_string(),
    )
    .await;
    assert_eq!(code, 201);
    let files = [
        "dpa/v1alpha2_annotated-skeleton.yaml",
        "dpa/v1alpha2_optimize-cost.yaml",
        "dpa/v1alpha2_rightsize-cpu-and-memory.yaml",
        "datadogmetric/nginx-requests.yaml",
        "datadogmetric/operator-sample.yaml",
    ];
    for (i, f) in files.iter().enumerate() {
        for (j, mut doc) in yaml_docs(&example_path(f)).into_iter().enumerate() {
            // Placeholders like <WORKLOAD_NAME> are not valid names, and two examples share a name.
            doc["metadata"]["name"] = json!(format!("example-{i}-{j}"));
            if doc["metadata"]["namespace"].as_str().is_some_and(|n| n.contains('<')) {
                doc["metadata"]["namespace"] = json!("default");
            }
            let (code, body) = create(&dc, &doc).await;
            assert_eq!(code, 201, "{f}: {body}");
        }
    }
}

#[tokio::test]
async fn invalid_dpas_get_422_with_causes() {
    let dc = start().await;
    install_crds(&dc).await;
    let mut bad = dpa("ten");
    bad["spec"]["constraints"]["maxReplicas"] = json!("ten");
    let (code, status) = create(&dc, &bad).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    let causes = status["details"]["causes"].as_array().unwrap();
    assert!(
        causes.iter().any(|c| c["field"] == "spec.constraints.maxReplicas"
            && c["reason"] == "FieldValueTypeInvalid"
            && c["message"].as_str().unwrap().contains("must be of type integer")),
        "{status}"
    );
    assert!(
        status["message"].as_str().unwrap().starts_with("DatadogPodAutoscaler.datadoghq.com \"ten\" is invalid"),
        "{status}"
    );

    let mut ownerless = dpa("ownerless");
    ownerless["spec"].as_object_mut().unwrap().remove("owner");
    let (code, status) = create(&dc, &ownerless).await;
    assert_eq!(code, 422);
    let causes = status["details"]["causes"].as_array().unwrap();
    assert!(causes.iter().any(|c| c["field"] == "spec.owner" && c["reason"] == "FieldValueRequired"), "{status}");
}

#[tokio::test]
async fn unknown_fields_are_pruned_or_rejected_and_defaults_applied() {
    let dc = start().await;
    install_crds(&dc).await;
    let mut obj = dpa("pruned");
    obj["spec"]["bogus"] = json!(1);
    let (code, status) = create(&dc, &obj).await;
    assert_eq!(code, 201, "fieldValidation defaults to Strict only for kubectl, which asks for it: {status}");
    assert!(status["spec"].get("bogus").is_none());
    assert_eq!(status["spec"]["applyPolicy"]["mode"], "Apply", "default applied: {status}");
    let mut strict = dpa("strict");
    strict["spec"]["bogus"] = json!(1);
    let (code, status) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/datadoghq.com/v1alpha2/namespaces/default/datadogpodautoscalers?fieldValidation=Strict",
        "application/json",
        strict.to_string(),
    )
    .await;
    assert_eq!(code, 400);
    assert!(status["message"].as_str().unwrap().contains("unknown field \"spec.bogus\""), "{status}");
}

#[tokio::test]
async fn status_subresource_splits_writes_and_v1alpha1_is_served() {
    let dc = start().await;
    install_crds(&dc).await;
    let api: Api<DynamicObject> = Api::namespaced_with(dc.client().await.unwrap(), "default", &dpa_resource());
    let mut obj: DynamicObject = serde_json::from_value(dpa("s")).unwrap();
    obj.data["status"] = json!({"currentReplicas": 3});
    let made = api.create(&PostParams::default(), &obj).await.unwrap();
    assert!(made.data.get("status").is_none(), "create drops status");
    assert_eq!(made.metadata.generation, Some(1));
    let mut with_status = made.clone();
    with_status.data["status"] = json!({"currentReplicas": 3});
    with_status.data["spec"]["constraints"]["maxReplicas"] = json!(99);
    let after = api.replace_status("s", &PostParams::default(), &with_status).await.unwrap();
    assert_eq!(after.data["status"]["currentReplicas"], 3);
    assert_eq!(after.data["spec"]["constraints"]["maxReplicas"], 10, "/status ignores spec");
    assert_eq!(after.metadata.generation, Some(1), "status writes never bump generation");
    let mut spec_change = after.clone();
    spec_change.data["spec"]["constraints"]["maxReplicas"] = json!(20);
    spec_change.data["status"] = json!({"currentReplicas": 7});
    let after = api.replace("s", &PostParams::default(), &spec_change).await.unwrap();
    assert_eq!(after.data["status"]["currentReplicas"], 3, "main resource ignores status");
    assert_eq!(after.metadata.generation, Some(2));

    let (code, v1) = get(&dc, "/apis/datadoghq.com/v1alpha1/namespaces/default/datadogpodautoscalers/s").await;
    assert_eq!(code, 200);
    assert_eq!(v1["apiVersion"], "datadoghq.com/v1alpha1");
    let (code, disc) = get(&dc, "/apis/datadoghq.com/v1alpha2").await;
    assert_eq!(code, 200);
    let dpa = disc["resources"].as_array().unwrap().iter().find(|r| r["name"] == "datadogpodautoscalers").unwrap();
    assert_eq!(dpa["shortNames"], json!(["dpa"]));
    assert!(disc["resources"].as_array().unwrap().iter().any(|r| r["name"] == "datadogpodautoscalers/status"));
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_first() {
    let dc = start().await;
    install_crds(&dc).await;
    let (code, _) = create(&dc, &dpa("doomed")).await;
    assert_eq!(code, 201);
    let (code, crd) =
        get(&dc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/datadogpodautoscalers.datadoghq.com").await;
    assert_eq!(code, 200);
    assert_eq!(crd["metadata"]["finalizers"], json!(["customresourcecleanup.apiextensions.k8s.io"]));
    let (code, _) = raw(
        &dc,
        reqwest::Method::DELETE,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/datadogpodautoscalers.datadoghq.com",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 200);
    for _ in 0..50 {
        let (code, _) =
            get(&dc, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/datadogpodautoscalers.datadoghq.com")
                .await;
        if code == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (code, _) = get(&dc, "/apis/datadoghq.com/v1alpha2/namespaces/default/datadogpodautoscalers/doomed").await;
    assert_eq!(code, 404, "group no longer served");
    // Recreating the CRD does not resurrect old objects.
    super::support::create_crd_file(&dc, "datadoghq.com_datadogpodautoscalers.yaml").await;
    let (code, list) = get(&dc, "/apis/datadoghq.com/v1alpha2/datadogpodautoscalers").await;
    assert_eq!(code, 200, "{list}");
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}
