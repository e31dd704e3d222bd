//! kube-rs Api CRUD: create/get/list/replace/delete, optimistic concurrency, generateName,
//! dry-run, paging with consistent snapshots, finalizers, Lease contention.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PatchParams, PostParams};

use super::support::start;

fn cm(name: &str, v: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some([("v".to_string(), v.to_string())].into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_get_replace_delete_with_optimistic_concurrency() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let created = api.create(&PostParams::default(), &cm("a", "1")).await.unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    let mut fresh = api.get("a").await.unwrap();
    fresh.data = Some([("v".to_string(), "2".to_string())].into());
    let replaced = api.replace("a", &PostParams::default(), &fresh).await.unwrap();
    let rv2: u64 = replaced.metadata.resource_version.as_deref().unwrap().parse().unwrap();
    assert!(rv2 > rv1, "resourceVersion increases");

    // The first read's resourceVersion is now stale: 409 Conflict.
    let err = api.replace("a", &PostParams::default(), &created).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!("expected API error") };
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert!(status.message.contains("the object has been modified"), "{}", status.message);

    let dup = api.create(&PostParams::default(), &cm("a", "x")).await.unwrap_err();
    assert!(matches!(dup, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"));

    api.delete("a", &DeleteParams::default()).await.unwrap();
    let gone = api.get("a").await.unwrap_err();
    assert!(matches!(gone, kube::Error::Api(s) if s.code == 404 && s.message == "configmaps \"a\" not found"));
}

#[tokio::test]
async fn generate_name_and_dry_run() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let mut obj = cm("", "1");
    obj.metadata.name = None;
    obj.metadata.generate_name = Some("gen-".into());
    let made = api.create(&PostParams::default(), &obj).await.unwrap();
    let name = made.metadata.name.unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    let dry = PostParams { dry_run: true, ..Default::default() };
    api.create(&dry, &cm("dry", "1")).await.unwrap();
    assert!(api.get_opt("dry").await.unwrap().is_none(), "dry-run must not persist");
}

#[tokio::test]
async fn paged_list_is_a_consistent_snapshot() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    for i in 0..25 {
        api.create(&PostParams::default(), &cm(&format!("p{i:02}"), "1")).await.unwrap();
    }
    let first = api.list(&ListParams::default().limit(10)).await.unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.metadata.remaining_item_count, Some(15));
    let token = first.metadata.continue_.clone().unwrap();
    // Changes after the first page are not visible to its continuation.
    api.create(&PostParams::default(), &cm("p99", "1")).await.unwrap();
    api.delete("p24", &DeleteParams::default()).await.unwrap();
    let mut names: Vec<String> = first.items.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
    let mut cont = Some(token);
    while let Some(c) = cont {
        let page = api.list(&ListParams::default().limit(10).continue_token(&c)).await.unwrap();
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        cont = page.metadata.continue_.filter(|s| !s.is_empty());
    }
    let expected: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    assert_eq!(names, expected);

    // History expired: the continue token is too old.
    let page = api.list(&ListParams::default().limit(5)).await.unwrap();
    api.create(&PostParams::default(), &cm("after", "1")).await.unwrap();
    // Compaction at the current revision: reads at older revisions fail, as with etcd.
    dc.expire_history();
    let err = api
        .list(&ListParams::default().limit(5).continue_token(page.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 410 && s.reason == "Expired"));
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let mut obj = cm("fin", "1");
    obj.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &obj).await.unwrap();
    api.delete("fin", &DeleteParams::default()).await.unwrap();
    let held = api.get("fin").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch("fin", &PatchParams::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
    assert!(api.get_opt("fin").await.unwrap().is_none());
}

#[tokio::test]
async fn one_of_two_contending_clients_takes_the_lease() {
    let dc = start().await;
    let a: Api<Lease> = Api::namespaced(dc.client().await.unwrap(), "kube-system");
    let b: Api<Lease> = Api::namespaced(dc.client().await.unwrap(), "kube-system");
    let lease = |holder: &str| Lease {
        metadata: ObjectMeta { name: Some("leader".into()), ..Default::default() },
        spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            ..Default::default()
        }),
    };
    let pp = PostParams::default();
    let (la, lb) = (lease("a"), lease("b"));
    let (ra, rb) = tokio::join!(a.create(&pp, &la), b.create(&pp, &lb));
    assert!(ra.is_ok() != rb.is_ok(), "exactly one create wins");
    let winner = ra.as_ref().or(rb.as_ref()).unwrap().spec.as_ref().unwrap().holder_identity.clone().unwrap();
    // Both read the same version and try to take it: compare-and-swap lets one through.
    let seen_a = a.get("leader").await.unwrap();
    let seen_b = b.get("leader").await.unwrap();
    let mut take_a = seen_a.clone();
    take_a.spec.as_mut().unwrap().holder_identity = Some("a2".into());
    let mut take_b = seen_b.clone();
    take_b.spec.as_mut().unwrap().holder_identity = Some("b2".into());
    let (ua, ub) = tokio::join!(a.replace("leader", &pp, &take_a), b.replace("leader", &pp, &take_b));
    assert!(ua.is_ok() != ub.is_ok(), "exactly one takeover wins (winner of create was {winner})");
    let loser = ua.err().or(ub.err()).unwrap();
    assert!(matches!(loser, kube::Error::Api(s) if s.code == 409));
}
