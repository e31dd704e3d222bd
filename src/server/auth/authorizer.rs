//! The authorizer chain of `DelegatingAuthorizationOptions`: always-allowed groups and paths,
//! then a SubjectAccessReview (authorization.k8s.io/v1) to kube-apiserver, cached by the full
//! attributes. Concurrent misses for the same attributes share one review.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
        let missed = AtomicBool::new(false);
        let lookup = self.cache.try_get_with_by_ref(attrs, async {
            missed.store(true, Ordering::Relaxed);
            self.review(attrs).await
        });
        let result = lookup.await;
        self.counters.record(missed.load(Ordering::Relaxed));
        let cached = result.map_err(|e| (*e).clone())?;
        Ok(cached.decision)
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
        CachedDecision { decision, ttl }
    }
}

/// Go's `path` authorizer: exact paths, or prefixes for entries ending in `*`.
fn path_allowed(patterns: &[String], path: &str) -> bool {
    let path = format!("/{}", path.trim_start_matches('/'));
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => *p == path,
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
