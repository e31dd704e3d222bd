//! The authorizer chain of `DelegatingAuthorizationOptions`: always-allowed groups and paths,
//! then a SubjectAccessReview (authorization.k8s.io/v1) to kube-apiserver, cached by the full
//! attributes.
//!
//! Three levels answer before a review, all holding a decision only until `expires_at` (review
//! time + the allowed or denied TTL):
//! - each connection's last decision ([`DecisionMemo`]): a connection usually asks the same thing
//!   again (the aggregator forwarding one HPA's reads), and one comparison is the cheapest check;
//! - the shared [`DecisionTable`]: a synchronous, sharded lookup by the attributes' contiguous
//!   encoding, which needs no built attributes (the HPA controller rotating over many metric
//!   names). The encoding is a request part and a user part the table interns; a connection
//!   keeps its user's interned part, so a request encodes and hashes only its own part;
//! - the moka cache, asked only when the table misses: concurrent misses for the same attributes
//!   share one review, and its answer is stored in the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use moka::Expiry;
use moka::future::Cache;

use super::decisions::{DecisionTable, Found, KeyParts, Remembered, UserKey, encode_user, same_user};
use super::retry::create_review;
use super::stats::Counters;
use super::{Attributes, AuthError, CacheStats, Decision, UserInfo};

/// What is allowed without asking and how long answers are kept.
#[derive(Clone, Debug)]
pub struct AuthzOptions {
    /// How long an allow is remembered: 5 min, as issue #3 asks (kube-apiserver's webhook
    /// authorizer default; Go's `NewDelegatingAuthorizationOptions` uses 10 s).
    pub allowed_ttl: Duration,
    /// How long a deny is remembered: 30 s (Go's delegating default: 10 s).
    pub denied_ttl: Duration,
    /// Non-resource paths anyone may get; a trailing `*` matches a prefix.
    pub always_allow_paths: Vec<String>,
    /// Members of these groups are allowed everything.
    pub always_allow_groups: Vec<String>,
    /// Most decisions remembered at once (by the table, and by the moka cache behind it).
    pub cache_capacity: u64,
}

impl Default for AuthzOptions {
    fn default() -> Self {
        AuthzOptions {
            allowed_ttl: Duration::from_secs(300),
            denied_ttl: Duration::from_secs(30),
            always_allow_paths: vec!["/healthz".into(), "/readyz".into(), "/livez".into()],
            always_allow_groups: vec!["system:masters".into()],
            cache_capacity: 10_000,
        }
    }
}

/// One connection's last authorization decision (see the module docs): its key and answer, the
/// request part copied into buffers the connection reuses and the user part the table's interned
/// allocation, so checking and replacing it touches no shared memory.
#[derive(Default)]
pub struct DecisionMemo(parking_lot::Mutex<Memo>);

#[derive(Default)]
struct Memo {
    /// The request part of the key being checked.
    scratch: Vec<u8>,
    /// The user part of the key being checked, for a caller that does not share its user
    /// ([`Authorizer::recall`]); also the buffer a new connection user is encoded into.
    user_scratch: Vec<u8>,
    last: Last,
    /// The connection's user (held, so a pointer comparison cannot be fooled by another user at
    /// a freed one's address) and its part of every key as the table interned it: encoded,
    /// hashed and interned once per connection and user, not per request.
    user: Option<(Arc<UserInfo>, UserKey)>,
}

/// The last decision and its key.
#[derive(Default)]
struct Last {
    /// The key's request part.
    request: Vec<u8>,
    /// The key's user part: the table's interned allocation when it had one.
    user: Option<Arc<[u8]>>,
    found: Option<Found>,
}

impl Last {
    /// The remembered decision when it is for the key (`request`, `user`) and unexpired at `now`.
    fn recall(&self, request: &[u8], user: &[u8], now: Instant) -> Option<Decision> {
        let found = self.found.as_ref()?;
        let same = self.request == request && self.user.as_deref().is_some_and(|u| same_user(u, user));
        (now < found.expires_at && same).then(|| found.decision.clone())
    }

    /// Remembers `found` for the key (`request`, `user`), taking `request`'s buffer (and leaving
    /// it the previous one, for the next request). `interned` is `user`'s interned allocation,
    /// if the caller has it.
    fn remember(&mut self, request: &mut Vec<u8>, user: &[u8], interned: Option<&Arc<[u8]>>, found: Found) {
        std::mem::swap(&mut self.request, request);
        self.remember_user(user, interned);
        self.found = Some(found);
    }

    /// Keeps `user` as the key's user part, unless it already is: a connection's requests for one
    /// user neither allocate nor touch the interned allocation's reference count.
    fn remember_user(&mut self, user: &[u8], interned: Option<&Arc<[u8]>>) {
        let kept = match (&self.user, interned) {
            (Some(known), Some(interned)) => Arc::ptr_eq(known, interned),
            (Some(known), None) => **known == *user,
            (None, _) => false,
        };
        if !kept {
            self.user = Some(interned.cloned().unwrap_or_else(|| Arc::from(user)));
        }
    }
}

impl DecisionMemo {
    fn remember(&self, entry: &Remembered) {
        let mut memo = self.0.lock();
        let last = &mut memo.last;
        last.request.clear();
        last.request.extend_from_slice(&entry.request);
        last.remember_user(&entry.user.bytes, Some(&entry.user.bytes));
        last.found = Some(Found { decision: entry.decision.clone(), expires_at: entry.expires_at });
    }

    /// The unexpired decision this memo or `table` holds for the attributes `parts` describes
    /// (see [`Authorizer::recall`]), kept here.
    fn recall(&self, table: &DecisionTable, parts: &KeyParts<'_>, now: Instant) -> Option<Decision> {
        let mut memo = self.0.lock();
        let Memo { scratch, user_scratch, last, .. } = &mut *memo;
        parts.encode_request_into(scratch);
        encode_user(user_scratch, parts.user);
        let hash = table.hash_user(user_scratch);
        recall_in(table, last, scratch, user_scratch, hash, None, now)
    }

    /// [`DecisionMemo::recall`] for a connection's shared `user` (see
    /// [`Authorizer::recall_shared`]).
    fn recall_shared(
        &self,
        table: &DecisionTable,
        parts: &KeyParts<'_>,
        user: &Arc<UserInfo>,
        now: Instant,
    ) -> Option<Decision> {
        let mut memo = self.0.lock();
        let Memo { scratch, user_scratch, last, user: known } = &mut *memo;
        parts.encode_request_into(scratch);
        let interned = match known {
            Some((known, interned)) if Arc::ptr_eq(known, user) => interned,
            slot => {
                encode_user(user_scratch, user);
                &slot.insert((user.clone(), table.intern(user_scratch))).1
            }
        };
        recall_in(table, last, scratch, &interned.bytes, interned.hash, Some(&interned.bytes), now)
    }
}

/// The decision `last` or else `table` holds for the key (`request`, `user`), whose user part
/// hashes to `user_hash`; a table hit replaces `last`.
fn recall_in(
    table: &DecisionTable,
    last: &mut Last,
    request: &mut Vec<u8>,
    user: &[u8],
    user_hash: u64,
    interned: Option<&Arc<[u8]>>,
    now: Instant,
) -> Option<Decision> {
    if let Some(decision) = last.recall(request, user, now) {
        return Some(decision);
    }
    let found = table.get(table.hash_key(request, user_hash), request, user, now)?;
    let decision = found.decision.clone();
    last.remember(request, user, interned, found);
    Some(decision)
}

struct DecisionTtl;

impl Expiry<Attributes, Arc<Remembered>> for DecisionTtl {
    fn expire_after_create(&self, _: &Attributes, value: &Arc<Remembered>, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub struct Authorizer {
    client: kube::Client,
    options: AuthzOptions,
    table: DecisionTable,
    cache: Cache<Attributes, Arc<Remembered>>,
    counters: Counters,
}

impl Authorizer {
    pub fn new(client: kube::Client, options: AuthzOptions) -> Self {
        let cache = Cache::builder().max_capacity(options.cache_capacity).expire_after(DecisionTtl).build();
        let table = DecisionTable::new(options.cache_capacity);
        Authorizer { client, options, table, cache, counters: Counters::default() }
    }

    /// Err when kube-apiserver could not be asked: answer 500, as Go's `WithAuthorization` does.
    pub async fn authorize(&self, attrs: &Attributes) -> Result<Decision, AuthError> {
        if self.always_allowed(attrs) {
            return Ok(Decision::Allow);
        }
        let (request, user) = KeyParts::of(attrs).encode_parts();
        let hash = self.table.hash_key(&request, self.table.hash_user(&user));
        if let Some(found) = self.table.get(hash, &request, &user, Instant::now()) {
            self.counters.record(false);
            return Ok(found.decision);
        }
        Ok(Box::pin(self.lookup(attrs)).await?.decision.clone())
    }

    /// [`Authorizer::authorize`] answering from `memo` (one connection's last decision) or the
    /// table when they hold these attributes unexpired (counted as cache hits), and remembering
    /// the answer in `memo`.
    pub async fn authorize_remembered(&self, attrs: &Attributes, memo: &DecisionMemo) -> Result<Decision, AuthError> {
        if self.always_allowed(attrs) {
            return Ok(Decision::Allow);
        }
        if let Some(decision) = self.recall(memo, &KeyParts::of(attrs)) {
            return Ok(decision);
        }
        self.authorize_missed(attrs, memo).await
    }

    /// The unexpired decision `memo` or the table holds for the attributes `parts` describes;
    /// counted as a cache hit, and kept in `memo`. `parts` must be exactly the attributes the
    /// caller would authorize: it lets a caller check without building them. Neither holds
    /// always-allowed attributes (those are never looked up), so a hit needs no always-allowed
    /// check.
    pub fn recall(&self, memo: &DecisionMemo, parts: &KeyParts<'_>) -> Option<Decision> {
        self.counted(memo.recall(&self.table, parts, Instant::now()))
    }

    /// [`Authorizer::recall`] for a user the connection keeps one `Arc` of (the front-proxy
    /// memo's): its part of the key is encoded, hashed and interned by the table once per
    /// connection and user, not per request, so a request encodes and hashes only its own part
    /// and the table compares the user by pointer. `parts.user` must be `user`.
    pub fn recall_shared(&self, memo: &DecisionMemo, parts: &KeyParts<'_>, user: &Arc<UserInfo>) -> Option<Decision> {
        debug_assert!(std::ptr::eq(parts.user, &**user));
        self.counted(memo.recall_shared(&self.table, parts, user, Instant::now()))
    }

    /// `decision`, a hit counted if it is one.
    fn counted(&self, decision: Option<Decision>) -> Option<Decision> {
        if decision.is_some() {
            self.counters.record(false);
        }
        decision
    }

    /// After [`Authorizer::recall`] found nothing: the moka cache (a review on a miss), its answer
    /// remembered in `memo`. The attributes must not be always allowed.
    pub async fn authorize_missed(&self, attrs: &Attributes, memo: &DecisionMemo) -> Result<Decision, AuthError> {
        // Boxed: the cache's future is large, and inlined it would make every caller's future
        // (hits included) that large to create and move.
        let entry = Box::pin(self.lookup(attrs)).await?;
        memo.remember(&entry);
        Ok(entry.decision.clone())
    }

    /// The moka cache; a miss asks kube-apiserver (concurrent misses share one review). The
    /// answer goes into the table, also when moka still held it after the table dropped it.
    async fn lookup(&self, attrs: &Attributes) -> Result<Arc<Remembered>, AuthError> {
        let missed = AtomicBool::new(false);
        let lookup = self.cache.try_get_with_by_ref(attrs, async {
            missed.store(true, Ordering::Relaxed);
            self.review(attrs).await
        });
        let result = lookup.await;
        self.counters.record(missed.load(Ordering::Relaxed));
        let entry = result.map_err(|e| (*e).clone())?;
        self.table.insert(&entry, Instant::now());
        Ok(entry)
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    /// Allowed without a review: a member of an always-allowed group, or an always-allowed path.
    pub fn always_allowed(&self, attrs: &Attributes) -> bool {
        let groups = &self.options.always_allow_groups;
        attrs.user.groups.iter().any(|g| groups.contains(g))
            || (!attrs.resource_request && path_allowed(&self.options.always_allow_paths, &attrs.path))
    }

    async fn review(&self, attrs: &Attributes) -> Result<Arc<Remembered>, AuthError> {
        let response = create_review(&self.client, "SubjectAccessReview", &access_review(attrs)).await?;
        let reviewed = Instant::now();
        let decision = decision(response.status.unwrap_or_default());
        let ttl = match decision {
            Decision::Allow => self.options.allowed_ttl,
            Decision::Deny { .. } => self.options.denied_ttl,
        };
        Ok(Arc::new(self.table.remembered(attrs, decision, ttl, reviewed)))
    }
}

/// Go's `path` authorizer: exact paths, or prefixes for entries ending in `*`.
fn path_allowed(patterns: &[String], path: &str) -> bool {
    // The path is compared as `/` + `rest`, without building that string.
    let rest = path.trim_start_matches('/');
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => prefix.is_empty() || prefix.strip_prefix('/').is_some_and(|prefix| rest.starts_with(prefix)),
        None => p.strip_prefix('/') == Some(rest),
    })
}

/// Allowed → allow; denied or no opinion → deny with kube-apiserver's reason.
fn decision(status: SubjectAccessReviewStatus) -> Decision {
    if status.allowed {
        return Decision::Allow;
    }
    Decision::Deny { reason: status.reason.unwrap_or_default() }
}

fn access_review(attrs: &Attributes) -> SubjectAccessReview {
    let user = &attrs.user;
    let spec = SubjectAccessReviewSpec {
        user: Some(user.name.clone()),
        uid: (!user.uid.is_empty()).then(|| user.uid.clone()),
        groups: Some(user.groups.clone()),
        extra: (!user.extra.is_empty()).then(|| user.extra.clone()),
        resource_attributes: attrs.resource_request.then(|| resource_attributes(attrs)),
        non_resource_attributes: (!attrs.resource_request)
            .then(|| NonResourceAttributes { path: Some(attrs.path.clone()), verb: Some(attrs.verb.clone()) }),
    };
    SubjectAccessReview { spec, ..Default::default() }
}

fn resource_attributes(attrs: &Attributes) -> ResourceAttributes {
    let some = |s: &String| Some(s.clone());
    ResourceAttributes {
        namespace: some(&attrs.namespace),
        verb: some(&attrs.verb),
        group: some(&attrs.api_group),
        version: some(&attrs.api_version),
        resource: some(&attrs.resource),
        subresource: some(&attrs.subresource),
        name: some(&attrs.name),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::{Decision, DecisionMemo, Found, Last, path_allowed};
    use crate::server::auth::decisions::DecisionTable;
    use crate::server::auth::{Attributes, KeyParts, UserInfo};

    #[test]
    fn the_memo_answers_its_own_key_until_it_expires() {
        let (t0, ttl) = (Instant::now(), Duration::from_secs(30));
        let mut last = Last::default();
        let (request, user) = (b"key-a".as_slice(), b"user".as_slice());
        assert_eq!(last.recall(request, user, t0), None, "nothing remembered yet");
        let mut scratch = request.to_vec();
        last.remember(&mut scratch, user, None, Found { decision: Decision::Allow, expires_at: t0 + ttl });
        assert_eq!(last.recall(request, user, t0), Some(Decision::Allow));
        assert_eq!(last.recall(request, user, t0 + ttl - Duration::from_nanos(1)), Some(Decision::Allow));
        assert_eq!(last.recall(request, user, t0 + ttl), None, "expired at review time + TTL");
        assert_eq!(last.recall(b"key-b", user, t0), None, "another request");
        assert_eq!(last.recall(b"key-", user, t0), None, "a prefix of the request");
        assert_eq!(last.recall(request, b"other", t0), None, "another user");
        assert_eq!(last.recall(request, b"use", t0), None, "a prefix of the user");
        assert_eq!(last.recall(b"key-au", b"ser", t0), None, "the same bytes split elsewhere");
    }

    #[test]
    fn a_reviewed_answer_replaces_the_memo() {
        let table = DecisionTable::new(10);
        let t0 = Instant::now();
        let attrs = Attributes { verb: "get".into(), path: "/x".into(), ..Default::default() };
        let deny = Decision::Deny { reason: "no".into() };
        let entry = table.remembered(&attrs, deny.clone(), Duration::from_secs(30), t0);
        let memo = DecisionMemo::default();
        memo.0.lock().last.request = b"stale key".to_vec();
        memo.remember(&entry);
        let last = &memo.0.lock().last;
        let (request, user) = KeyParts::of(&attrs).encode_parts();
        assert_eq!(last.recall(&request, &user, t0), Some(deny));
        assert_eq!(last.recall(&request, &user, t0 + Duration::from_secs(30)), None);
        assert!(Arc::ptr_eq(last.user.as_ref().expect("a user"), &entry.user.bytes), "the interned user part");
    }

    fn metric_read(user: UserInfo, metric: &str) -> Attributes {
        Attributes::metric_list(user, "default", metric)
    }

    fn hpa() -> UserInfo {
        UserInfo {
            name: "system:serviceaccount:kube-system:horizontal-pod-autoscaler".into(),
            uid: "0b0e5b3c-4c8f-4d4e-9a55-3f1c2f6a7d10".into(),
            groups: vec!["system:serviceaccounts".into(), "system:authenticated".into()],
            ..Default::default()
        }
    }

    /// What `memo` recalls for `user`'s read of `metric`, the user shared as the gate shares it.
    fn recall_shared(
        table: &DecisionTable,
        memo: &DecisionMemo,
        user: &Arc<UserInfo>,
        metric: &str,
    ) -> Option<Decision> {
        let attrs = metric_read(UserInfo::clone(user), metric);
        let mut parts = KeyParts::of(&attrs);
        parts.user = user;
        memo.recall_shared(table, &parts, user, Instant::now())
    }

    #[test]
    fn connections_sharing_equal_users_find_the_same_entries_through_one_interned_user() {
        let table = DecisionTable::new(100);
        let t0 = Instant::now();
        let deny = Decision::Deny { reason: "no".into() };
        for (metric, decision) in [("a", Decision::Allow), ("b", deny.clone())] {
            table.insert(&table.remembered(&metric_read(hpa(), metric), decision, Duration::from_secs(60), t0), t0);
        }
        // Two connections, each with its own Arc of an equal user.
        let (one, two) = (DecisionMemo::default(), DecisionMemo::default());
        let (u1, u2) = (Arc::new(hpa()), Arc::new(hpa()));
        for (memo, user) in [(&one, &u1), (&two, &u2)] {
            assert_eq!(recall_shared(&table, memo, user, "a"), Some(Decision::Allow));
            assert_eq!(recall_shared(&table, memo, user, "b"), Some(deny.clone()));
            assert_eq!(recall_shared(&table, memo, user, "c"), None);
        }
        let interned = |memo: &DecisionMemo| memo.0.lock().user.as_ref().expect("a user").1.bytes.clone();
        let (i1, i2) = (interned(&one), interned(&two));
        assert!(Arc::ptr_eq(&i1, &i2), "both connections hold the table's one allocation");
        assert!(Arc::ptr_eq(one.0.lock().last.user.as_ref().expect("a user"), &i1));
        // A caller that does not share its user encodes it: equal bytes elsewhere hit too.
        let fresh = DecisionMemo::default();
        assert_eq!(fresh.recall(&table, &KeyParts::of(&metric_read(hpa(), "a")), t0), Some(Decision::Allow));
        assert_eq!(fresh.recall(&table, &KeyParts::of(&metric_read(hpa(), "b")), t0), Some(deny));
        let other = UserInfo { name: "system:serviceaccount:default:other".into(), ..hpa() };
        assert_eq!(fresh.recall(&table, &KeyParts::of(&metric_read(other.clone(), "a")), t0), None);
        // Neither does a connection whose user changes.
        assert_eq!(recall_shared(&table, &one, &Arc::new(other), "a"), None);
        assert_eq!(recall_shared(&table, &one, &u1, "a"), Some(Decision::Allow));
    }

    #[test]
    fn a_connections_memo_answers_only_its_user() {
        let table = DecisionTable::new(100);
        let t0 = Instant::now();
        table.insert(&table.remembered(&metric_read(hpa(), "a"), Decision::Allow, Duration::from_secs(60), t0), t0);
        let memo = DecisionMemo::default();
        let user = Arc::new(hpa());
        assert_eq!(recall_shared(&table, &memo, &user, "a"), Some(Decision::Allow));
        // The same request for a user differing in one group: neither the memo nor the table.
        let mut groups = hpa().groups;
        groups.pop();
        let other = Arc::new(UserInfo { groups, ..hpa() });
        assert_eq!(recall_shared(&table, &memo, &other, "a"), None);
        let encoded = DecisionMemo::default();
        assert_eq!(encoded.recall(&table, &KeyParts::of(&metric_read(UserInfo::clone(&other), "a")), t0), None);
        assert_eq!(recall_shared(&table, &memo, &user, "a"), Some(Decision::Allow));
    }

    #[test]
    fn paths_match_as_slash_plus_the_path_without_leading_slashes() {
        let patterns: Vec<String> = ["/healthz", "/debug/*", "/readyz"].map(String::from).to_vec();
        for (path, allowed) in [
            ("/healthz", true),
            ("healthz", true),
            ("//healthz", true),
            ("/healthz/x", false),
            ("/debug/pprof", true),
            ("debug/", true),
            ("/debug", false),
            ("/readyzx", false),
            ("", false),
        ] {
            assert_eq!(path_allowed(&patterns, path), allowed, "{path}");
        }
        assert!(path_allowed(&["*".to_string()], "anything"));
        assert!(path_allowed(&["/*".to_string()], ""));
        assert!(!path_allowed(&["healthz".to_string()], "/healthz"), "a pattern without a slash never matches");
    }

    fn texts() -> impl proptest::strategy::Strategy<Value = String> {
        // A small alphabet, short texts: equal and shifted values are likely.
        proptest::string::string_regex("[ab/]{0,3}").expect("a valid regex")
    }

    fn attributes() -> impl proptest::strategy::Strategy<Value = Attributes> {
        use proptest::prelude::*;
        let user = (
            texts(),
            texts(),
            proptest::collection::vec(texts(), 0..3),
            proptest::collection::btree_map(texts(), proptest::collection::vec(texts(), 0..2), 0..2),
        )
            .prop_map(|(name, uid, groups, extra)| UserInfo { name, uid, groups, extra });
        let fields = proptest::collection::vec(texts(), 8);
        (user, any::<bool>(), fields).prop_map(|(user, resource_request, f)| Attributes {
            user,
            resource_request,
            verb: f[0].clone(),
            api_group: f[1].clone(),
            api_version: f[2].clone(),
            resource: f[3].clone(),
            subresource: f[4].clone(),
            namespace: f[5].clone(),
            name: f[6].clone(),
            path: f[7].clone(),
        })
    }

    /// `a`, with the fields `mask` selects taken from `b`: two attributes that differ in a few
    /// fields, the near misses a key must still tell apart.
    fn mix(a: &Attributes, b: &Attributes, mask: &[bool]) -> Attributes {
        let pick = |i: usize, x: &String, y: &String| if mask[i] { y.clone() } else { x.clone() };
        let user = UserInfo {
            name: pick(0, &a.user.name, &b.user.name),
            uid: pick(1, &a.user.uid, &b.user.uid),
            groups: if mask[2] { b.user.groups.clone() } else { a.user.groups.clone() },
            extra: if mask[3] { b.user.extra.clone() } else { a.user.extra.clone() },
        };
        Attributes {
            user,
            resource_request: if mask[4] { b.resource_request } else { a.resource_request },
            verb: pick(5, &a.verb, &b.verb),
            api_group: pick(6, &a.api_group, &b.api_group),
            api_version: pick(7, &a.api_version, &b.api_version),
            resource: pick(8, &a.resource, &b.resource),
            subresource: pick(9, &a.subresource, &b.subresource),
            namespace: pick(10, &a.namespace, &b.namespace),
            name: pick(11, &a.name, &b.name),
            path: pick(12, &a.path, &b.path),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// The table answers a request with another's decision only when the review for it
        /// would be the same review: keys are equal exactly when the reviews are.
        #[test]
        fn keys_are_equal_exactly_when_the_reviews_are(
            a in attributes(),
            other in attributes(),
            mask in proptest::collection::vec(proptest::bool::weighted(0.15), 13),
        ) {
            let b = mix(&a, &other, &mask);
            // The table's key is the pair (request part, user part).
            let same_key = KeyParts::of(&a).encode_parts() == KeyParts::of(&b).encode_parts();
            let same_review = super::access_review(&a).spec == super::access_review(&b).spec;
            proptest::prop_assert_eq!(same_key, same_review, "{:?} / {:?}", a, b);
            // And the table answers b with a's decision exactly then.
            let (table, t0) = (DecisionTable::new(10), Instant::now());
            table.insert(&table.remembered(&a, Decision::Allow, Duration::from_secs(60), t0), t0);
            let (request, user) = KeyParts::of(&b).encode_parts();
            let hash = table.hash_key(&request, table.hash_user(&user));
            proptest::prop_assert_eq!(table.get(hash, &request, &user, t0).is_some(), same_review);
        }
    }
}
