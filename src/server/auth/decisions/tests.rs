//! The decision table alone: expiry, the shared capacity and eviction, denials, hash collisions,
//! the user part shared by a user's entries and its interner.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{DecisionTable, INLINE, Remembered, SWEEP_AT_LEAST, key};
use crate::server::auth::{Attributes, Decision, UserInfo};

fn attrs(user: &str, resource: &str) -> Attributes {
    let user = UserInfo { name: user.into(), groups: vec!["system:authenticated".into()], ..Default::default() };
    Attributes::metric_list(user, "default", resource)
}

fn entry(table: &DecisionTable, a: &Attributes, decision: Decision, ttl: Duration, at: Instant) -> Remembered {
    table.remembered(a, decision, ttl, at)
}

/// `a`'s decision, its user part encoded afresh (compared by bytes, not by the interned pointer).
fn lookup(table: &DecisionTable, a: &Attributes, now: Instant) -> Option<Decision> {
    let (request, user) = key::split(a);
    table.get(table.hash_key(&request, table.hash_user(&user)), &request, &user, now).map(|found| found.decision)
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
    let (b_request, b_user) = key::split(&b);
    assert!(table.get(table.hash_attributes(&a), &b_request, &b_user, t0).is_none());
    // Every field takes part in the comparison, also under the same hash.
    let mut c = a.clone();
    c.namespace = "other".into();
    let (c_request, c_user) = key::split(&c);
    assert!(table.get(table.hash_attributes(&a), &c_request, &c_user, t0).is_none());
    assert_eq!(lookup(&table, &c, t0), None);
    // So does the user part: the same request for another user, under a's hash, and under a's
    // interned user's pointer never stands in for bytes it does not hold.
    let d = attrs("v", "a");
    let (d_request, d_user) = key::split(&d);
    assert_eq!(d_request, key::split(&a).0, "the same request part");
    assert!(table.get(table.hash_attributes(&a), &d_request, &d_user, t0).is_none());
    assert_eq!(lookup(&table, &d, t0), None);
    assert_eq!(lookup(&table, &a, t0), Some(Decision::Allow));
    let (a_request, a_user) = key::split(&a);
    let interned = table.intern(&a_user);
    assert!(table.get(table.hash_attributes(&a), &a_request, &interned.bytes, t0).is_some());
    assert!(table.get(table.hash_attributes(&a), &c_request, &interned.bytes, t0).is_none());
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

#[test]
fn users_with_the_same_request_part_never_share_a_decision() {
    let table = DecisionTable::new(100);
    let t0 = Instant::now();
    let deny = Decision::Deny { reason: "no".into() };
    let u = attrs("u", "m");
    // Users differing in name, uid, groups or extra only.
    let others = [
        attrs("v", "m"),
        Attributes { user: UserInfo { uid: "1".into(), ..u.user.clone() }, ..u.clone() },
        Attributes { user: UserInfo { groups: vec![], ..u.user.clone() }, ..u.clone() },
        Attributes {
            user: UserInfo { extra: [("scopes".into(), vec!["x".into()])].into(), ..u.user.clone() },
            ..u.clone()
        },
    ];
    table.insert(&entry(&table, &u, Decision::Allow, Duration::from_secs(60), t0), t0);
    for other in &others {
        assert_eq!(key::split(other).0, key::split(&u).0, "the same request part");
        assert_eq!(lookup(&table, other, t0), None, "{other:?}");
        table.insert(&entry(&table, other, deny.clone(), Duration::from_secs(60), t0), t0);
        assert_eq!(lookup(&table, other, t0), Some(deny.clone()), "{other:?}");
    }
    assert_eq!(lookup(&table, &u, t0), Some(Decision::Allow));
    assert_eq!(table.len(), 1 + others.len());
}

#[test]
fn a_users_entries_share_one_interned_user_part_and_equal_bytes_find_them() {
    let table = DecisionTable::new(100);
    let t0 = Instant::now();
    let (a, b) = (attrs("u", "a"), attrs("u", "b"));
    let (ea, eb) = (
        entry(&table, &a, Decision::Allow, Duration::from_secs(60), t0),
        entry(&table, &b, Decision::Allow, Duration::from_secs(60), t0),
    );
    assert!(Arc::ptr_eq(&ea.user.bytes, &eb.user.bytes), "one allocation for the user");
    table.insert(&ea, t0);
    table.insert(&eb, t0);
    // Interned twice (two connections seeing the user): the same allocation, found by pointer.
    let user = key::split(&a).1;
    let (first, second) = (table.intern(&user), table.intern(&user.clone()));
    assert!(Arc::ptr_eq(&first.bytes, &second.bytes) && Arc::ptr_eq(&first.bytes, &ea.user.bytes));
    assert_eq!(first.hash, table.hash_user(&user));
    for x in [&a, &b] {
        let request = key::split(x).0;
        let hash = table.hash_key(&request, first.hash);
        assert!(table.get(hash, &request, &first.bytes, t0).is_some(), "by pointer");
        assert!(table.get(hash, &request, &user, t0).is_some(), "by bytes");
        assert!(table.get(hash, &request, &user[..user.len() - 1], t0).is_none(), "a prefix");
    }
}

#[test]
fn the_interner_forgets_users_nothing_holds() {
    let table = DecisionTable::new(100);
    let t0 = Instant::now();
    let user = |i: usize| key::split(&attrs(&format!("user-{i}"), "m")).1;
    // Held by an entry, and by a connection.
    table.insert(&entry(&table, &attrs("user-0", "m"), Decision::Allow, Duration::from_secs(60), t0), t0);
    let held = table.intern(&user(1));
    for i in 2..SWEEP_AT_LEAST {
        table.intern(&user(i));
    }
    assert_eq!(table.interned(), SWEEP_AT_LEAST);
    // Full: the next intern sweeps the users nothing holds.
    table.intern(&user(SWEEP_AT_LEAST));
    assert_eq!(table.interned(), 3, "the entry's, the connection's, the new one");
    assert!(Arc::ptr_eq(&table.intern(&user(1)).bytes, &held.bytes), "a held user stays interned");
    let (request, bytes) = key::split(&attrs("user-0", "m"));
    let interned = table.intern(&bytes);
    assert!(table.get(table.hash_key(&request, interned.hash), &request, &interned.bytes, t0).is_some());
    // Bounded however many users come and go.
    for i in 0..50 * SWEEP_AT_LEAST {
        table.intern(&user(1000 + i));
        assert!(table.interned() <= SWEEP_AT_LEAST);
    }
}

#[test]
fn the_hpa_read_of_a_metric_stays_inline() {
    let table = DecisionTable::new(10);
    let t0 = Instant::now();
    // benches/read_path.rs's names, and a 60-byte one.
    for metric in ["datadogmetric@bench-3:ddm-00042", &format!("datadogmetric@default:{}", "x".repeat(38))] {
        let a = Attributes { namespace: "default".into(), ..attrs("u", metric) };
        let e = entry(&table, &a, Decision::Allow, Duration::from_secs(60), t0);
        assert!(e.request.len() <= INLINE, "{} bytes: {metric}", e.request.len());
        table.insert(&e, t0);
    }
    let spilled =
        table.shards.iter().flat_map(|s| s.read().iter().map(|slot| slot.request.spilled()).collect::<Vec<_>>());
    assert!(spilled.into_iter().all(|s| !s));
    assert_eq!(std::mem::size_of::<super::Slot>(), 192, "three cache lines");
}
