//! The authorizer chain of `DelegatingAuthorizationOptions`: always-allowed groups and paths,
//! then a SubjectAccessReview (authorization.k8s.io/v1) to kube-apiserver, cached by the full
//! attributes.
//!
//! Three levels answer before a review, all holding a decision only until `expires_at` (review
//! time + the allowed or denied TTL):
//! - each connection's last decision ([`DecisionMemo`]): a connection usually asks the same thing
//!   again (the aggregator forwarding one HPA's reads), and one comparison is the cheapest check;
//! - the shared [`DecisionTable`]: a synchronous, sharded lookup by a hash of user, verb and path
//!   that needs no built attributes (the HPA controller rotating over many metric names);
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

use super::decisions::{DecisionTable, Remembered};
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

/// One connection's last authorization decision (see the module docs): the table's entry, shared.
#[derive(Default)]
pub struct DecisionMemo(parking_lot::Mutex<Option<Arc<Remembered>>>);

impl DecisionMemo {
    /// The decision for attributes `is_same` accepts, unless expired at `now`.
    fn recall(&self, now: Instant, is_same: impl Fn(&Attributes) -> bool) -> Option<Decision> {
        let last = self.0.lock();
        let last = last.as_ref()?;
        (is_same(&last.attrs) && now < last.expires_at).then(|| last.decision.clone())
    }

    fn remember(&self, entry: &Arc<Remembered>) {
        let previous = self.0.lock().replace(entry.clone());
        drop(previous);
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
        let hash = self.table.hash_attributes(attrs);
        if let Some(entry) = self.table.get(hash, Instant::now(), |a| a == attrs) {
            self.counters.record(false);
            return Ok(entry.decision.clone());
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
        let hash = self.table.hash_attributes(attrs);
        if let Some(decision) = self.recall(memo, hash, |a| a == attrs) {
            return Ok(decision);
        }
        self.authorize_missed(attrs, memo).await
    }

    /// The hash [`Authorizer::recall`] takes for attributes with this user, verb and path.
    pub fn hash(&self, user: &UserInfo, verb: &str, path: &str) -> u64 {
        self.table.hash(user, verb, path)
    }

    /// The unexpired decision `memo` or the table holds for attributes `is_same` accepts (hashing
    /// to `hash`, see [`Authorizer::hash`]); counted as a cache hit. `is_same` must accept exactly
    /// the attributes the caller would authorize: it lets a caller check without building them.
    /// Neither holds always-allowed attributes (those are never looked up), so a hit needs no
    /// always-allowed check.
    pub fn recall(&self, memo: &DecisionMemo, hash: u64, is_same: impl Fn(&Attributes) -> bool) -> Option<Decision> {
        let now = Instant::now();
        let decision = match memo.recall(now, &is_same) {
            Some(decision) => decision,
            None => {
                let entry = self.table.get(hash, now, is_same)?;
                memo.remember(&entry);
                entry.decision.clone()
            }
        };
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
        self.table.insert(entry.clone(), Instant::now());
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
    use super::path_allowed;

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
}
