//! ownerReferences garbage collection: background, foreground and orphan propagation; namespace deletion.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, PropagationPolicy};

use super::support::start;

async fn owner_and_dependent(api: &Api<ConfigMap>, owner: &str, dependent: &str) {
    let o = api
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta { name: Some(owner.into()), ..Default::default() },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: owner.into(),
        uid: o.metadata.uid.unwrap(),
        block_owner_deletion: Some(true),
        controller: Some(true),
    };
    let d = ConfigMap {
        metadata: ObjectMeta { name: Some(dependent.into()), owner_references: Some(vec![r]), ..Default::default() },
        ..Default::default()
    };
    api.create(&PostParams::default(), &d).await.unwrap();
}

async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn background_deletion_removes_dependents() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    owner_and_dependent(&api, "owner", "dep").await;
    api.delete("owner", &DeleteParams::background()).await.unwrap();
    assert!(eventually(async || api.get_opt("dep").await.unwrap().is_none()).await, "dependent collected");
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    owner_and_dependent(&api, "owner", "dep").await;
    // Hold the dependent with a finalizer so the owner visibly waits.
    let patch = serde_json::json!({"metadata": {"finalizers": ["example.com/hold"]}});
    api.patch("dep", &Default::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
    api.delete("owner", &DeleteParams::foreground()).await.unwrap();
    let owner = api.get("owner").await.unwrap();
    assert!(owner.metadata.deletion_timestamp.is_some());
    assert!(owner.metadata.finalizers.unwrap().contains(&"foregroundDeletion".to_string()));
    assert!(eventually(async || api.get("dep").await.unwrap().metadata.deletion_timestamp.is_some()).await);
    let release = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch("dep", &Default::default(), &kube::api::Patch::Merge(&release)).await.unwrap();
    assert!(
        eventually(async || api.get_opt("owner").await.unwrap().is_none()).await,
        "owner deleted after its dependents"
    );
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    owner_and_dependent(&api, "owner", "dep").await;
    let dp = DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..Default::default() };
    api.delete("owner", &dp).await.unwrap();
    assert!(eventually(async || api.get_opt("owner").await.unwrap().is_none()).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dep = api.get("dep").await.unwrap();
    assert!(dep.metadata.owner_references.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_content() {
    let dc = start().await;
    let client = dc.client().await.unwrap();
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &Namespace { metadata: ObjectMeta { name: Some("doomed".into()), ..Default::default() }, ..Default::default() },
    )
    .await
    .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "doomed");
    api.create(
        &PostParams::default(),
        &ConfigMap { metadata: ObjectMeta { name: Some("c".into()), ..Default::default() }, ..Default::default() },
    )
    .await
    .unwrap();
    nss.delete("doomed", &DeleteParams::default()).await.unwrap();
    let terminating = nss.get_opt("doomed").await.unwrap();
    if let Some(ns) = terminating {
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
        let err = api
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: ObjectMeta { name: Some("late".into()), ..Default::default() },
                    ..Default::default()
                },
            )
            .await;
        assert!(err.is_err(), "no new content in a terminating namespace");
    }
    assert!(eventually(async || nss.get_opt("doomed").await.unwrap().is_none()).await);
    assert!(api.get_opt("c").await.unwrap().is_none());
}
