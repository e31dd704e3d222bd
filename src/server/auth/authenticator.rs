//! The authenticator chain of `DelegatingAuthenticatorConfig`: front-proxy headers, client
//! certificate, bearer token; `system:authenticated` added to whoever succeeded; anonymous when no
//! authenticator applied and none failed (`union.NewFailOnError(..., anonymous)`).
//!
//! Bearer-token results are cached by `sha256(token)`, never past the token's `exp`.
//!
//! Revocation tradeoff: a ServiceAccount JWT verified locally is accepted until it expires even if
//! its ServiceAccount (or bound Pod) was deleted, because only kube-apiserver knows that. The
//! TokenReview path sees deletions at most `positive_ttl` late. Bound tokens are short-lived (1 h
//! by default, kubelet-rotated), which bounds the exposure; set
//! `AuthnOptions::verify_service_account_tokens_locally = false` where prompt revocation matters
//! more than one TokenReview per token per `positive_ttl`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use super::jwt::{Local, ServiceAccountVerifier, unverified_claims};
use super::requestheader::FrontProxyMemo;
use super::stats::Counters;
use super::{
    ANONYMOUS_USER, AUTHENTICATED_GROUP, AuthConfigWatch, AuthError, Authenticated, CacheStats, PeerIdentity, TokenKey,
    UNAUTHENTICATED_GROUP, UserInfo, requestheader, tokenreview,
};

/// How bearer tokens are checked and how long results are kept.
#[derive(Clone, Debug)]
pub struct AuthnOptions {
    /// The ServiceAccount token issuer; None reads it from `/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// Audiences a token must have one of; empty means the API server's own (the issuer), and
    /// TokenReviews are sent without audiences as the Go library does by default.
    pub audiences: Vec<String>,
    /// How long an accepted token is remembered (Go: `CacheTTL`, 10 s).
    pub positive_ttl: Duration,
    /// How long a rejected token is remembered. Go uses 10 s but skips caching whenever the review
    /// carries an error (which kube-apiserver's nearly always does); we cache rejections briefly
    /// to absorb a client retrying a bad token, and never cache failed calls.
    pub negative_ttl: Duration,
    /// Verify ServiceAccount JWTs against the JWKS instead of a TokenReview (see module docs).
    pub verify_service_account_tokens_locally: bool,
    /// Least time between JWKS fetches; a token with an unknown `kid` inside it goes to
    /// TokenReview instead of refetching (a stream of forged kids cannot hammer the API server).
    pub jwks_min_refresh_interval: Duration,
    /// Most tokens remembered at once.
    pub cache_capacity: u64,
}

impl Default for AuthnOptions {
    fn default() -> Self {
        AuthnOptions {
            issuer: None,
            audiences: Vec::new(),
            positive_ttl: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(2),
            verify_service_account_tokens_locally: true,
            jwks_min_refresh_interval: Duration::from_secs(10),
            cache_capacity: 10_000,
        }
    }
}

/// One token's result and how long it may be reused.
#[derive(Clone, Debug)]
struct TokenOutcome {
    user: Result<UserInfo, String>,
    ttl: Duration,
}

struct TokenTtl;

impl Expiry<TokenKey, TokenOutcome> for TokenTtl {
    fn expire_after_create(&self, _: &TokenKey, value: &TokenOutcome, _: std::time::Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// How far [`Authenticator::authenticate_now`] got.
pub enum Authentication<'h> {
    /// A user (`None`: anonymous) or the error to answer 401 with.
    Done(Result<Option<Arc<UserInfo>>, AuthError>),
    /// A bearer token to check (a cache hit, or a JWKS or TokenReview call), after these errors.
    Token(&'h str, Vec<AuthError>),
}

pub struct Authenticator {
    client: kube::Client,
    config: Arc<AuthConfigWatch>,
    verifier: Option<ServiceAccountVerifier>,
    options: AuthnOptions,
    cache: Cache<TokenKey, TokenOutcome>,
    counters: Counters,
}

impl Authenticator {
    pub fn new(client: kube::Client, config: Arc<AuthConfigWatch>, options: AuthnOptions) -> Self {
        let verifier = options
            .verify_service_account_tokens_locally
            .then(|| ServiceAccountVerifier::new(client.clone(), &options));
        Self::build(client, config, verifier, options)
    }

    fn build(
        client: kube::Client,
        config: Arc<AuthConfigWatch>,
        verifier: Option<ServiceAccountVerifier>,
        options: AuthnOptions,
    ) -> Self {
        let cache = Cache::builder().max_capacity(options.cache_capacity).expire_after(TokenTtl).build();
        Authenticator { client, config, verifier, options, cache, counters: Counters::default() }
    }

    /// An authenticator whose local JWT verification uses a fixed JWKS document.
    #[cfg(test)]
    pub(super) fn with_jwks(
        client: kube::Client,
        config: Arc<AuthConfigWatch>,
        options: AuthnOptions,
        issuer: &str,
        jwks: &str,
    ) -> Result<Self, String> {
        let verifier = ServiceAccountVerifier::with_keys(issuer, options.audiences.clone(), jwks)?;
        Ok(Self::build(client, config, Some(verifier), options))
    }

    /// Front proxy, then client certificate, then bearer token; errors only matter when no later
    /// authenticator succeeds (Go's union authenticator), and then they are a 401.
    pub async fn authenticate(&self, peer: &PeerIdentity, headers: &HeaderMap) -> Result<Authenticated, AuthError> {
        Ok(match self.authenticate_shared(peer, headers, None).await? {
            Some(user) => Authenticated::User(Arc::unwrap_or_clone(user)),
            None => Authenticated::Anonymous,
        })
    }

    /// [`Self::authenticate`] with the connection's `memo` of its last front-proxy user (shared,
    /// not copied, when the headers are the same); `None` is anonymous.
    pub async fn authenticate_shared(
        &self,
        peer: &PeerIdentity,
        headers: &HeaderMap,
        memo: Option<&FrontProxyMemo>,
    ) -> Result<Option<Arc<UserInfo>>, AuthError> {
        match self.authenticate_now(peer, headers, memo) {
            Authentication::Done(result) => result,
            Authentication::Token(token, mut errors) => {
                // Boxed: the token cache's future is large; certificate callers need not carry it.
                match Box::pin(self.authenticate_token(token)).await {
                    Ok(user) => Ok(Some(Arc::new(authenticated(user)))),
                    Err(e) => {
                        errors.push(e);
                        failure(errors).map_or(Ok(None), Err)
                    }
                }
            }
        }
    }

    /// [`Self::authenticate_shared`] as far as it goes without waiting: the certificate
    /// authenticators, or the bearer token still to check (with the errors so far).
    pub fn authenticate_now<'h>(
        &self,
        peer: &PeerIdentity,
        headers: &'h HeaderMap,
        memo: Option<&FrontProxyMemo>,
    ) -> Authentication<'h> {
        let config = self.config.current();
        let mut errors = Vec::new();
        match requestheader::front_proxy_applies(&config, peer) {
            Ok(true) => {
                if let Some(user) = memo.and_then(|m| m.recall(&config, headers)) {
                    return Authentication::Done(Ok(Some(user)));
                }
                if let Some(user) = requestheader::user_from_headers(&config, headers) {
                    let user = Arc::new(authenticated(user));
                    if let Some(memo) = memo {
                        memo.remember(&config, headers, user.clone());
                    }
                    return Authentication::Done(Ok(Some(user)));
                }
            }
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
        match requestheader::client_certificate(&config, peer) {
            Ok(Some(user)) => return Authentication::Done(Ok(Some(Arc::new(authenticated(user))))),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        match bearer(headers) {
            Some(token) => Authentication::Token(token, errors),
            None => Authentication::Done(failure(errors).map_or(Ok(None), Err)),
        }
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    /// Loads the issuer and JWKS now (e.g. at startup) so the first ServiceAccount token does not
    /// wait for them. False when they could not be loaded; tokens then go to TokenReview until a
    /// later refetch succeeds.
    pub async fn prefetch_service_account_keys(&self) -> bool {
        match &self.verifier {
            Some(verifier) => verifier.prefetch().await,
            None => false,
        }
    }

    async fn authenticate_token(&self, token: &str) -> Result<UserInfo, AuthError> {
        let missed = AtomicBool::new(false);
        let lookup = self.cache.try_get_with(token_key(token), async {
            missed.store(true, Ordering::Relaxed);
            self.decide(token).await
        });
        let result = lookup.await;
        self.counters.record(missed.load(Ordering::Relaxed));
        let outcome = result.map_err(|e| (*e).clone())?;
        outcome.user.map_err(AuthError::InvalidToken)
    }

    /// Local verification when it applies, TokenReview otherwise.
    async fn decide(&self, token: &str) -> Result<TokenOutcome, AuthError> {
        if let Some(verifier) = &self.verifier {
            match verifier.verify(token).await {
                Local::Verified { user, expires_at } => return Ok(self.accepted(user, Some(expires_at))),
                Local::Rejected(reason) => return Ok(self.rejected(reason)),
                Local::NotApplicable => {}
            }
        }
        Ok(match tokenreview::review(&self.client, token, &self.options.audiences).await? {
            Ok(user) => self.accepted(user, unverified_expiry(token)),
            Err(reason) => self.rejected(reason),
        })
    }

    fn accepted(&self, user: UserInfo, expires_at: Option<i64>) -> TokenOutcome {
        let until_expiry =
            expires_at.map(|exp| Duration::from_secs(u64::try_from(exp.saturating_sub(now_unix())).unwrap_or(0)));
        let ttl = until_expiry.map_or(self.options.positive_ttl, |left| left.min(self.options.positive_ttl));
        TokenOutcome { user: Ok(user), ttl }
    }

    fn rejected(&self, reason: String) -> TokenOutcome {
        TokenOutcome { user: Err(reason), ttl: self.options.negative_ttl }
    }
}

/// Go's `AuthenticatedGroupAdder`.
fn authenticated(mut user: UserInfo) -> UserInfo {
    let marked = user.groups.iter().any(|g| g == AUTHENTICATED_GROUP || g == UNAUTHENTICATED_GROUP);
    if user.name != ANONYMOUS_USER && !marked {
        user.groups.push(AUTHENTICATED_GROUP.to_string());
    }
    user
}

/// The error to answer with: the only one as is, several joined.
fn failure(mut errors: Vec<AuthError>) -> Option<AuthError> {
    match errors.len() {
        0 => None,
        1 => errors.pop(),
        _ => Some(AuthError::Unauthenticated(errors.iter().map(ToString::to_string).collect())),
    }
}

/// Go's `bearertoken`: `Bearer <token>`, scheme case-insensitive; an empty token is no token.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// `exp` of a JWT-shaped token, unverified: only used to not cache a review result past it.
fn unverified_expiry(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: Option<i64>,
    }
    unverified_claims::<Exp>(token)?.exp
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
