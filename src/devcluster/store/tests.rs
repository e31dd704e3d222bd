use super::*;
use serde_json::json;

fn table() -> TableKey {
    Arc::from("/configmaps")
}

fn cm(name: &str, v: &str) -> Value {
    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"default","uid":format!("uid-{name}")},"data":{"v":v}})
}

#[test]
fn resource_versions_increase_and_cas_detects_stale_writes() {
    let store = Store::new(100);
    let a = store.create(&table(), ObjectKey::new("default", "a"), cm("a", "1"), vec![]).unwrap();
    let b = store.update(&table(), ObjectKey::new("default", "a"), Some(a.rv), cm("a", "2"), vec![]).unwrap();
    assert!(b.rv > a.rv);
    let stale = store.update(&table(), ObjectKey::new("default", "a"), Some(a.rv), cm("a", "3"), vec![]);
    assert_eq!(stale.unwrap_err(), StoreError::Conflict { have: b.rv });
    assert_eq!(store.get(&table(), &ObjectKey::new("default", "a")).unwrap().value()["data"]["v"], "2");
    assert_eq!(
        store.create(&table(), ObjectKey::new("default", "a"), cm("a", "x"), vec![]).unwrap_err(),
        StoreError::AlreadyExists
    );
}

#[test]
fn snapshot_at_rolls_back_later_changes() {
    let store = Store::new(100);
    let a = store.create(&table(), ObjectKey::new("default", "a"), cm("a", "1"), vec![]).unwrap();
    store.update(&table(), ObjectKey::new("default", "a"), None, cm("a", "2"), vec![]).unwrap();
    store.create(&table(), ObjectKey::new("default", "b"), cm("b", "1"), vec![]).unwrap();
    store.delete(&table(), &ObjectKey::new("default", "a"), None).unwrap();
    let then = store.snapshot_at(&table(), a.rv).unwrap();
    assert_eq!(then.len(), 1);
    assert_eq!(then.get(&ObjectKey::new("default", "a")).unwrap().value()["data"]["v"], "1");
    assert_eq!(store.snapshot(&table()).1.len(), 1);
}

#[test]
fn history_is_bounded_and_old_versions_expire() {
    let store = Store::new(2);
    let first = store.create(&table(), ObjectKey::new("default", "a"), cm("a", "1"), vec![]).unwrap();
    for i in 0..5 {
        store.update(&table(), ObjectKey::new("default", "a"), None, cm("a", &i.to_string()), vec![]).unwrap();
    }
    assert!(matches!(store.subscribe(&table(), Some(first.rv)), Err(StoreError::Expired { .. })));
    let now = store.current_rv();
    let sub = store.subscribe(&table(), Some(now - 1)).unwrap();
    assert_eq!(sub.replay.len(), 1);
    store.compact();
    assert!(matches!(store.subscribe(&table(), Some(now - 1)), Err(StoreError::Expired { .. })));
}

#[test]
fn owner_index_follows_owner_references() {
    let store = Store::new(100);
    let mut pod = cm("p", "1");
    pod["metadata"]["ownerReferences"] = json!([{"uid":"owner-1","blockOwnerDeletion":true}]);
    store.create(&table(), ObjectKey::new("default", "p"), pod, vec![]).unwrap();
    assert_eq!(store.dependents_of("owner-1").len(), 1);
    store.update(&table(), ObjectKey::new("default", "p"), None, cm("p", "2"), vec![]).unwrap();
    assert!(store.dependents_of("owner-1").is_empty());
}
