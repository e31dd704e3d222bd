//! All patch types through kube-rs: merge, JSON, strategic (lists merged by key), server-side apply
//! (create, conflict, force, field removal).

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::support::start;

fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "side:1"}
            ]}}
        }
    }))
    .unwrap()
}

async fn api() -> (autoscaling_apiserver::devcluster::DevCluster, Api<Deployment>) {
    let dc = start().await;
    let api = Api::namespaced(dc.client().await.unwrap(), "default");
    (dc, api)
}

fn containers(d: &Deployment) -> Vec<(String, Option<String>)> {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.image.clone()))
        .collect()
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let (_dc, api) = api().await;
    api.create(&PostParams::default(), &deployment()).await.unwrap();
    let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]}]}}}});
    let d = api.patch("web", &PatchParams::default(), &Patch::Strategic(&p)).await.unwrap();
    assert_eq!(
        containers(&d),
        [("app".to_string(), Some("app:2".to_string())), ("sidecar".to_string(), Some("side:1".to_string()))]
    );
    let env: Vec<String> = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0]
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(env.len(), 2, "env merged by name: {env:?}");
    assert_eq!(d.metadata.generation, Some(2), "template change bumps generation");
    let del = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
    let d = api.patch("web", &PatchParams::default(), &Patch::Strategic(&del)).await.unwrap();
    assert_eq!(containers(&d).len(), 1);
}

#[tokio::test]
async fn merge_and_json_patches() {
    let (_dc, api) = api().await;
    api.create(&PostParams::default(), &deployment()).await.unwrap();
    let merge = json!({"metadata": {"labels": {"app": null, "tier": "front"}}, "spec": {"replicas": 5}});
    let d = api.patch("web", &PatchParams::default(), &Patch::Merge(&merge)).await.unwrap();
    assert_eq!(d.metadata.labels.unwrap().into_iter().collect::<Vec<_>>(), [("tier".to_string(), "front".to_string())]);
    assert_eq!(d.spec.unwrap().replicas, Some(5));
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 5},
        {"op": "replace", "path": "/spec/replicas", "value": 7}
    ]))
    .unwrap();
    let d = api.patch("web", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(7));
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 1}])).unwrap();
    let err = api.patch("web", &PatchParams::default(), &Patch::<()>::Json(failing)).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 422), "failed test op is 422");
}

#[tokio::test]
async fn server_side_apply_creates_conflicts_and_forces() {
    let (_dc, api) = api().await;
    let mine = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "owner": "me"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}
    });
    let pp = PatchParams::apply("tool-a");
    let d = api.patch("web", &pp, &Patch::Apply(&mine)).await.unwrap();
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(2));
    let managers: Vec<String> = d.metadata.managed_fields.unwrap().iter().filter_map(|m| m.manager.clone()).collect();
    assert_eq!(managers, ["tool-a"]);

    // Another manager changing a field tool-a owns conflicts, unless forced.
    let theirs =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}});
    let err = api.patch("web", &PatchParams::apply("tool-b"), &Patch::Apply(&theirs)).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!() };
    assert_eq!(status.code, 409);
    assert!(status.message.contains("conflict with \"tool-a\""), "{}", status.message);
    assert!(status.message.contains(".spec.replicas"), "{}", status.message);
    let d = api.patch("web", &PatchParams::apply("tool-b").force(), &Patch::Apply(&theirs)).await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(5));

    // Re-applying without a label removes it.
    let mut less = mine.clone();
    less["metadata"]["labels"].as_object_mut().unwrap().remove("owner");
    less["spec"].as_object_mut().unwrap().remove("replicas");
    let d = api.patch("web", &pp, &Patch::Apply(&less)).await.unwrap();
    assert!(!d.metadata.labels.unwrap().contains_key("owner"));
    assert_eq!(d.spec.unwrap().replicas, Some(5), "tool-b still owns replicas");
}
