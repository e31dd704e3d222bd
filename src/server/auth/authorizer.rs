//! The authorizer chain of `DelegatingAuthorizationOptions`: always-allowed groups and paths,
//! then a SubjectAccessReview (authorization.k8s.io/v1) to kube-apiserver, cached by the full
//! attributes. Concurrent misses for the same attributes share one review.
//!
//! In front of the shared cache, each connection remembers its last decision ([`DecisionMemo`]):
//! a connection usually asks the same thing again (the aggregator forwarding one HPA's reads), and
//! comparing against one remembered request is far cheaper than hashing the attributes into the
//! shared cache. A remembered decision expires when the cached one does (`expires_at`, set when
//! the review answered), so the TTLs hold either way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use moka::Expiry;
use moka::future::Cache;

use super::retry::create_review;
use super::stats::Counters;
use super::{Attributes, AuthError, CacheStats, Decision};

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
    /// Most decisions remembered at once.
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

#[derive(Clone, Debug)]
struct CachedDecision {
    decision: Decision,
    ttl: Duration,
    /// When the review answered plus `ttl`: the cache entry, inserted after that, outlives it.
    expires_at: Instant,
}

/// One connection's last authorization decision and when it expires (see the module docs).
#[derive(Default)]
pub struct DecisionMemo(parking_lot::Mutex<Option<Remembered>>);

struct Remembered {
    attrs: Attributes,
    decision: Decision,
    expires_at: Instant,
}

impl DecisionMemo {
    /// The decision for attributes `is_same` accepts, unless expired.
    fn recall(&self, is_same: impl Fn(&Attributes) -> bool) -> Option<Decision> {
        let last = self.0.lock();
        let last = last.as_ref()?;
        (is_same(&last.attrs) && Instant::now() < last.expires_at).then(|| last.decision.clone())
    }

    fn remember(&self, attrs: &Attributes, cached: &CachedDecision) {
        let last =
            Remembered { attrs: attrs.clone(), decision: cached.decision.clone(), expires_at: cached.expires_at };
        *self.0.lock() = Some(last);
    }
}

struct DecisionTtl;

impl Expiry<Attributes, CachedDecision> for DecisionTtl {
    fn expire_after_create(&self, _: &Attributes, value: &CachedDecision, _: std::time::Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub struct Authorizer {
    client: kube::Client,
    options: AuthzOptions,
    cache: Cache<Attributes, CachedDecision>,
    counters: Counters,
}

impl Authorizer {
    pub fn new(client: kube::Client, options: AuthzOptions) -> Self {
        let cache = Cache::builder().max_capacity(options.cache_capacity).expire_after(DecisionTtl).build();
        Authorizer { client, options, cache, counters: Counters::default() }
    }

    /// Err when kube-apiserver could not be asked: answer 500, as Go's `WithAuthorization` does.
    pub async fn authorize(&self, attrs: &Attributes) -> Result<Decision, AuthError> {
        if self.always_allowed(attrs) {
            return Ok(Decision::Allow);
        }
        Ok(self.lookup(attrs).await?.decision)
    }

    /// [`Authorizer::authorize`] answering from `memo` (one connection's last decision) when it
    /// holds these attributes and has not expired; counted as a cache hit.
    pub async fn authorize_remembered(&self, attrs: &Attributes, memo: &DecisionMemo) -> Result<Decision, AuthError> {
        if self.always_allowed(attrs) {
            return Ok(Decision::Allow);
        }
        if let Some(decision) = self.recall(memo, |remembered| remembered == attrs) {
            return Ok(decision);
        }
        // Boxed: the cache's future is large, and inlined it would make every caller's future
        // (memo hits included) that large to create and move.
        let cached = Box::pin(self.lookup(attrs)).await?;
        memo.remember(attrs, &cached);
        Ok(cached.decision)
    }

    /// The decision `memo` holds for attributes `is_same` accepts, unexpired; counted as a cache
    /// hit. `is_same` must accept exactly the attributes the caller would authorize: it lets a
    /// caller check without building them. A memo never holds always-allowed attributes (those
    /// are not looked up), so a hit needs no always-allowed check.
    pub fn recall(&self, memo: &DecisionMemo, is_same: impl Fn(&Attributes) -> bool) -> Option<Decision> {
        let decision = memo.recall(is_same)?;
        self.counters.record(false);
        Some(decision)
    }

    /// The shared cache; a miss asks kube-apiserver (concurrent misses share one review).
    async fn lookup(&self, attrs: &Attributes) -> Result<CachedDecision, AuthError> {
        let missed = AtomicBool::new(false);
        let lookup = self.cache.try_get_with_by_ref(attrs, async {
            missed.store(true, Ordering::Relaxed);
            self.review(attrs).await
        });
        let result = lookup.await;
        self.counters.record(missed.load(Ordering::Relaxed));
        result.map_err(|e| (*e).clone())
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    fn always_allowed(&self, attrs: &Attributes) -> bool {
        let groups = &self.options.always_allow_groups;
        attrs.user.groups.iter().any(|g| groups.contains(g))
            || (!attrs.resource_request && path_allowed(&self.options.always_allow_paths, &attrs.path))
    }

    async fn review(&self, attrs: &Attributes) -> Result<CachedDecision, AuthError> {
        let response = create_review(&self.client, "SubjectAccessReview", &access_review(attrs)).await?;
        Ok(self.cached(decision(response.status.unwrap_or_default())))
    }

    fn cached(&self, decision: Decision) -> CachedDecision {
        let ttl = match decision {
            Decision::Allow => self.options.allowed_ttl,
            Decision::Deny { .. } => self.options.denied_ttl,
        };
        CachedDecision { decision, ttl, expires_at: Instant::now() + ttl }
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
