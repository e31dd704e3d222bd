//! The decision table alone: expiry, the shared capacity and eviction, denials, hash collisions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{DecisionTable, KeyParts, Remembered};
use crate::server::auth::{Attributes, Decision, UserInfo};

fn attrs(user: &str, resource: &str) -> Attributes {
    Attributes {
        user: UserInfo { name: user.into(), groups: vec!["system:authenticated".into()], ..Default::default() },
        verb: "list".into(),
        resource_request: true,
        api_group: "external.metrics.k8s.io".into(),
        api_version: "v1beta1".into(),
        resource: resource.into(),
        namespace: "default".into(),
        path: format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/{resource}"),
        ..Default::default()
    }
}

fn entry(table: &DecisionTable, a: &Attributes, decision: Decision, ttl: Duration, at: Instant) -> Remembered {
    table.remembered(a, decision, ttl, at)
}

fn lookup(table: &DecisionTable, a: &Attributes, now: Instant) -> Option<Decision> {
    let key = KeyParts::of(a).encode();
    table.get(table.hash_key(&key), &key, now).map(|found| found.decision)
}

#[test]
fn an_entry_answers_until_review_time_plus_ttl() {
    let table = DecisionTable::new(100);
    let (a, t0, ttl) = (attrs("u", "m"), Instant::now(), Duration::from_secs(300));
    table.insert(&entry(&table, &a, Decision::Allow, ttl, t0), t0);
    assert_eq!(lookup(&table, &a, t0), Some(Decision::Allow));
    assert_eq!(lookup(&table, &a, t0 + ttl - Duration::from_nanos(1)), Some(Decision::Allow));
    assert_eq!(lookup(&table, &a, t0 + ttl), None, "expired at review time + TTL");
    assert_eq!(lookup(&table, &attrs("u", "other"), t0), None);
    assert_eq!(lookup(&table, &attrs("v", "m"), t0), None, "another user is another key");
}

#[test]
fn denials_are_kept_with_their_reason_and_their_own_ttl() {
    let table = DecisionTable::new(100);
    let (t0, allowed_ttl, denied_ttl) = (Instant::now(), Duration::from_secs(300), Duration::from_secs(30));
    let (allowed, denied) = (attrs("u", "a"), attrs("u", "d"));
    let deny = Decision::Deny { reason: "no RBAC rule".into() };
    table.insert(&entry(&table, &allowed, Decision::Allow, allowed_ttl, t0), t0);
    table.insert(&entry(&table, &denied, deny.clone(), denied_ttl, t0), t0);
    let later = t0 + Duration::from_secs(31);
    assert_eq!(lookup(&table, &denied, t0 + Duration::from_secs(29)), Some(deny));
    assert_eq!(lookup(&table, &denied, later), None);
    assert_eq!(lookup(&table, &allowed, later), Some(Decision::Allow));
}

#[test]
fn a_newer_answer_replaces_an_older_one_and_never_the_reverse() {
    let table = DecisionTable::new(10);
    let (a, t0, ttl) = (attrs("u", "m"), Instant::now(), Duration::from_secs(30));
    let deny = Decision::Deny { reason: String::new() };
    table.insert(&entry(&table, &a, deny.clone(), ttl, t0), t0);
    let t1 = t0 + Duration::from_secs(40);
    assert_eq!(lookup(&table, &a, t1), None);
    table.insert(&entry(&table, &a, Decision::Allow, ttl, t1), t1);
    assert_eq!(lookup(&table, &a, t1), Some(Decision::Allow));
    table.insert(&entry(&table, &a, deny, ttl, t0), t1);
    assert_eq!(lookup(&table, &a, t1), Some(Decision::Allow), "a late, older answer is ignored");
    assert_eq!(table.len(), 1);
}

#[test]
fn the_table_never_holds_more_than_its_capacity() {
    for capacity in [0u64, 1, 3, 16, 17, 100, 1000] {
        let table = DecisionTable::new(capacity);
        assert_eq!(table.capacity() as u64, capacity);
        let t0 = Instant::now();
        for i in 0..(3 * capacity as usize + 20) {
            let a = attrs("u", &format!("m-{i}"));
            table.insert(&entry(&table, &a, Decision::Allow, Duration::from_secs(60 + i as u64), t0), t0);
            assert!(table.len() as u64 <= capacity, "capacity {capacity}: {} entries after {i}", table.len());
            assert_eq!(table.len(), table.held());
        }
    }
}

#[test]
fn the_capacity_is_shared_by_all_shards() {
    // As many names as the capacity: all held, however unevenly they spread over the shards.
    let table = DecisionTable::new(2000);
    let t0 = Instant::now();
    let names: Vec<Attributes> = (0..2000).map(|i| attrs("u", &format!("m-{i}"))).collect();
    for a in &names {
        table.insert(&entry(&table, a, Decision::Allow, Duration::from_secs(300), t0), t0);
    }
    assert_eq!((table.len(), table.held()), (2000, 2000));
    assert!(names.iter().all(|a| lookup(&table, a, t0) == Some(Decision::Allow)));
}

/// `count` attributes that land in shard `shard`.
fn in_shard(table: &DecisionTable, shard: usize, count: usize) -> Vec<Attributes> {
    (0..)
        .map(|i| attrs("u", &format!("m-{i}")))
        .filter(|a| table.shard_of(table.hash_attributes(a)) == shard)
        .take(count)
        .collect()
}

#[test]
fn a_full_table_drops_expired_entries_before_live_ones() {
    let table = DecisionTable::new(2);
    let t0 = Instant::now();
    let same = in_shard(&table, 0, 3);
    let (short, long) = (Duration::from_secs(1), Duration::from_secs(600));
    table.insert(&entry(&table, &same[0], Decision::Allow, long, t0), t0);
    table.insert(&entry(&table, &same[1], Decision::Allow, short, t0), t0);
    let later = t0 + Duration::from_secs(2);
    table.insert(&entry(&table, &same[2], Decision::Allow, long, later), later);
    assert_eq!(lookup(&table, &same[0], later), Some(Decision::Allow), "the live entry stays");
    assert_eq!(lookup(&table, &same[2], later), Some(Decision::Allow));
    assert_eq!((table.len(), table.held()), (2, 2), "the expired entry made room");
}

#[test]
fn a_full_table_evicts_the_entry_expiring_first() {
    let table = DecisionTable::new(2);
    let t0 = Instant::now();
    let same = in_shard(&table, 3, 3);
    let ttl = Duration::from_secs(300);
    table.insert(&entry(&table, &same[0], Decision::Allow, ttl, t0 + Duration::from_secs(1)), t0);
    table.insert(&entry(&table, &same[1], Decision::Allow, ttl, t0), t0);
    table.insert(&entry(&table, &same[2], Decision::Allow, ttl, t0 + Duration::from_secs(2)), t0);
    assert_eq!(lookup(&table, &same[1], t0), None, "expired first, evicted");
    assert_eq!(lookup(&table, &same[0], t0), Some(Decision::Allow));
    assert_eq!(lookup(&table, &same[2], t0), Some(Decision::Allow));
    assert_eq!(table.len(), 2);
}

#[test]
fn a_full_table_skips_an_insert_into_an_empty_shard() {
    let table = DecisionTable::new(2);
    let t0 = Instant::now();
    let ttl = Duration::from_secs(300);
    for a in in_shard(&table, 0, 2) {
        table.insert(&entry(&table, &a, Decision::Allow, ttl, t0), t0);
    }
    let elsewhere = &in_shard(&table, 1, 1)[0];
    table.insert(&entry(&table, elsewhere, Decision::Allow, ttl, t0), t0);
    assert_eq!(lookup(&table, elsewhere, t0), None, "not held: the review's answer stays in moka only");
    assert_eq!((table.len(), table.held()), (2, 2));
}

#[test]
fn equal_hashes_never_answer_for_other_attributes() {
    let table = DecisionTable::new(100);
    let t0 = Instant::now();
    let (a, b) = (attrs("u", "a"), attrs("u", "b"));
    table.insert(&entry(&table, &a, Decision::Allow, Duration::from_secs(60), t0), t0);
    // b looked up under a's hash (a collision) is still compared by its key.
    let b_key = KeyParts::of(&b).encode();
    assert!(table.get(table.hash_attributes(&a), &b_key, t0).is_none());
    // Every field takes part in the comparison, also under the same hash.
    let mut c = a.clone();
    c.namespace = "other".into();
    let c_key = KeyParts::of(&c).encode();
    assert!(table.get(table.hash_attributes(&a), &c_key, t0).is_none());
    assert_eq!(lookup(&table, &c, t0), None);
    assert_eq!(lookup(&table, &a, t0), Some(Decision::Allow));
}

#[test]
fn concurrent_readers_and_writers_agree() {
    let table = Arc::new(DecisionTable::new(64));
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let table = table.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let a = attrs(&format!("u{t}"), &format!("m-{}", i % 40));
                    if lookup(&table, &a, t0).is_none() {
                        table.insert(&entry(&table, &a, Decision::Allow, Duration::from_secs(60), t0), t0);
                    }
                    assert!(table.len() <= 64);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    assert!(table.len() <= 64);
    assert_eq!(table.len(), table.held());
}
