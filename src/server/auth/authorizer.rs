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
//!   names);
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

use super::decisions::{DecisionTable, Found, KeyParts, Remembered, encode_user};
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

/// One connection's last authorization decision (see the module docs): its key and answer, copied
/// into buffers the connection reuses, so checking and replacing it touches no shared memory.
#[derive(Default)]
pub struct DecisionMemo(parking_lot::Mutex<Memo>);

#[derive(Default)]
struct Memo {
    /// The key of the request being checked.
    scratch: Vec<u8>,
    /// The key `last` answers for.
    key: Vec<u8>,
    last: Option<Found>,
    /// The connection's user (held, so a pointer comparison cannot be fooled by another user at
    /// a freed one's address) and its part of every key, encoded once.
    user: Option<(Arc<UserInfo>, Vec<u8>)>,
}

impl Memo {
    /// The remembered decision when it is for the key in `scratch` and unexpired at `now`.
    fn recall(&self, now: Instant) -> Option<Decision> {
        let last = self.last.as_ref()?;
        (now < last.expires_at && self.key == self.scratch).then(|| last.decision.clone())
    }

    /// Remembers `found` for the key in `scratch` (whose buffer is kept for the next request).
    fn remember_scratch(&mut self, found: Found) {
        std::mem::swap(&mut self.scratch, &mut self.key);
        self.last = Some(found);
    }
}

impl DecisionMemo {
    fn remember(&self, entry: &Remembered) {
        let mut memo = self.0.lock();
        memo.key.clear();
        memo.key.extend_from_slice(&entry.key);
        memo.last = Some(Found { decision: entry.decision.clone(), expires_at: entry.expires_at });
    }
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
        let key = KeyParts::of(attrs).encode();
        if let Some(found) = self.table.get(self.table.hash_key(&key), &key, Instant::now()) {
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
        self.recall_key(memo, |memo| parts.encode_into(&mut memo.scratch))
    }

    /// [`Authorizer::recall`] for a user the connection keeps one `Arc` of (the front-proxy
    /// memo's): its part of the key is encoded once per connection and user, not per request.
    /// `parts.user` must be `user`.
    pub fn recall_shared(&self, memo: &DecisionMemo, parts: &KeyParts<'_>, user: &Arc<UserInfo>) -> Option<Decision> {
        debug_assert!(std::ptr::eq(parts.user, &**user));
        self.recall_key(memo, |memo| {
            parts.encode_request_into(&mut memo.scratch);
            let cached = match &mut memo.user {
                Some((known, bytes)) if Arc::ptr_eq(known, user) => bytes,
                slot => {
                    let mut bytes = slot.take().map(|(_, b)| b).unwrap_or_default();
                    encode_user(&mut bytes, user);
                    &mut slot.insert((user.clone(), bytes)).1
                }
            };
            memo.scratch.extend_from_slice(cached);
        })
    }

    fn recall_key(&self, memo: &DecisionMemo, encode: impl FnOnce(&mut Memo)) -> Option<Decision> {
        let now = Instant::now();
        let mut memo = memo.0.lock();
        encode(&mut memo);
        let decision = match memo.recall(now) {
            Some(decision) => decision,
            None => {
                let found = self.table.get(self.table.hash_key(&memo.scratch), &memo.scratch, now)?;
                let decision = found.decision.clone();
                memo.remember_scratch(found);
                decision
            }
        };
        drop(memo);
        self.counters.record(false);
        Some(decision)
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
    use std::time::{Duration, Instant};

    use super::{Decision, DecisionMemo, Found, Memo, path_allowed};
    use crate::server::auth::decisions::DecisionTable;
    use crate::server::auth::{Attributes, KeyParts};

    #[test]
    fn the_memo_answers_its_own_key_until_it_expires() {
        let (t0, ttl) = (Instant::now(), Duration::from_secs(30));
        let mut memo = Memo { scratch: b"key-a".to_vec(), ..Memo::default() };
        assert_eq!(memo.recall(t0), None, "nothing remembered yet");
        memo.remember_scratch(Found { decision: Decision::Allow, expires_at: t0 + ttl });
        memo.scratch = b"key-a".to_vec();
        assert_eq!(memo.recall(t0), Some(Decision::Allow));
        assert_eq!(memo.recall(t0 + ttl - Duration::from_nanos(1)), Some(Decision::Allow));
        assert_eq!(memo.recall(t0 + ttl), None, "expired at review time + TTL");
        memo.scratch = b"key-b".to_vec();
        assert_eq!(memo.recall(t0), None, "another key");
        memo.scratch = b"key-".to_vec();
        assert_eq!(memo.recall(t0), None, "a prefix of the key");
    }

    #[test]
    fn a_reviewed_answer_replaces_the_memo() {
        let table = DecisionTable::new(10);
        let t0 = Instant::now();
        let attrs = Attributes { verb: "get".into(), path: "/x".into(), ..Default::default() };
        let deny = Decision::Deny { reason: "no".into() };
        let entry = table.remembered(&attrs, deny.clone(), Duration::from_secs(30), t0);
        let memo = DecisionMemo::default();
        memo.0.lock().scratch = b"stale key".to_vec();
        memo.remember(&entry);
        let mut memo = memo.0.lock();
        KeyParts::of(&attrs).encode_into(&mut memo.scratch);
        assert_eq!(memo.recall(t0), Some(deny));
        assert_eq!(memo.recall(t0 + Duration::from_secs(30)), None);
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
            .prop_map(|(name, uid, groups, extra)| crate::server::auth::UserInfo { name, uid, groups, extra });
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
        let user = crate::server::auth::UserInfo {
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
            let same_key = KeyParts::of(&a).encode() == KeyParts::of(&b).encode();
            let same_review = super::access_review(&a).spec == super::access_review(&b).spec;
            proptest::prop_assert_eq!(same_key, same_review, "{:?} / {:?}", a, b);
        }
    }
}
