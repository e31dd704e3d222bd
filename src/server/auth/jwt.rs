//! Local verification of ServiceAccount JWTs against the cluster's JWKS (`/openid/v1/jwks`),
//! so the request path does not need a TokenReview per new token.
//!
//! Only tokens whose `iss` is the cluster's issuer and whose `kid` is in the JWKS are decided here;
//! everything else (other issuers, legacy secret tokens, keys we do not have, JWKS unreachable) is
//! [`Local::NotApplicable`] and goes to TokenReview. Unknown kids trigger a JWKS refetch at most
//! once per `min_refresh_interval` (`AuthnOptions::jwks_min_refresh_interval`).

mod claims;

use std::collections::HashMap;
use std::sync::{Arc, Once, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};

use super::{AuthnOptions, UserInfo};
use claims::{Claims, UnverifiedIssuer};

/// kube-apiserver's (go-jose's) clock-skew allowance on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;

/// What local verification concluded.
#[derive(Debug)]
pub(super) enum Local {
    /// Signed by the cluster, valid now, for us.
    Verified { user: UserInfo, expires_at: i64 },
    /// Signed-for-us token that is not acceptable (expired, bad signature, wrong audience...).
    Rejected(String),
    /// Not ours to judge: ask kube-apiserver.
    NotApplicable,
}

/// The issuer and its verification keys by `kid`.
struct KeySet {
    issuer: String,
    keys: HashMap<String, (DecodingKey, Algorithm)>,
}

pub(super) struct ServiceAccountVerifier {
    /// None: keys were given up front (tests, static setups) and are never refetched.
    client: Option<kube::Client>,
    configured_issuer: Option<String>,
    audiences: Vec<String>,
    keys: RwLock<Option<Arc<KeySet>>>,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
    /// Refetches of the JWKS (and issuer discovery) are at least this far apart.
    min_refresh_interval: Duration,
}

impl ServiceAccountVerifier {
    /// Keys from the cluster; the issuer from `/.well-known/openid-configuration` unless given.
    /// Empty `audiences` means the issuer (kube-apiserver's default `--api-audiences`).
    pub(super) fn new(client: kube::Client, options: &AuthnOptions) -> Self {
        ensure_crypto_provider();
        ServiceAccountVerifier {
            client: Some(client),
            configured_issuer: options.issuer.clone(),
            audiences: options.audiences.clone(),
            keys: RwLock::new(None),
            last_refresh: tokio::sync::Mutex::new(None),
            min_refresh_interval: options.jwks_min_refresh_interval,
        }
    }

    /// A verifier with a fixed JWKS document.
    #[cfg(test)]
    pub(super) fn with_keys(issuer: &str, audiences: Vec<String>, jwks: &str) -> Result<Self, String> {
        ensure_crypto_provider();
        let set = key_set(issuer.to_string(), jwks)?;
        Ok(ServiceAccountVerifier {
            client: None,
            configured_issuer: Some(issuer.to_string()),
            audiences,
            keys: RwLock::new(Some(Arc::new(set))),
            last_refresh: tokio::sync::Mutex::new(None),
            min_refresh_interval: Duration::MAX,
        })
    }

    pub(super) async fn verify(&self, token: &str) -> Local {
        let Ok(header) = jsonwebtoken::decode_header(token) else { return Local::NotApplicable };
        let Some(kid) = header.kid.clone() else { return Local::NotApplicable };
        let Some(unverified) = unverified_claims::<UnverifiedIssuer>(token) else { return Local::NotApplicable };
        let Some(set) = self.keys_for(&unverified.iss, &kid).await else { return Local::NotApplicable };
        match set.keys.get(&kid) {
            Some((key, alg)) => self.check(token, &header, key, *alg, &set.issuer),
            None => Local::NotApplicable,
        }
    }

    /// Signature, `exp`/`nbf` with kube's leeway, then the ServiceAccount claims.
    fn check(&self, token: &str, header: &Header, key: &DecodingKey, alg: Algorithm, issuer: &str) -> Local {
        if header.alg != alg {
            return Local::Rejected(format!("token is signed with {:?} but its key is for {alg:?}", header.alg));
        }
        let claims = match jsonwebtoken::decode::<Claims>(token, key, &validation(alg)) {
            Ok(data) => data.claims,
            Err(e) => return Local::Rejected(describe(&e)),
        };
        let expires_at = claims.exp;
        let default_audiences = [issuer.to_string()];
        let audiences = if self.audiences.is_empty() { &default_audiences[..] } else { &self.audiences };
        match claims.into_user(issuer, audiences) {
            Ok(user) => Local::Verified { user, expires_at },
            Err(reason) => Local::Rejected(reason),
        }
    }

    pub(super) async fn prefetch(&self) -> bool {
        self.refresh().await.is_some()
    }

    /// The key set if `iss` is our issuer and has `kid`, refetching once (rate-limited) if not known.
    async fn keys_for(&self, iss: &str, kid: &str) -> Option<Arc<KeySet>> {
        let set = match self.current() {
            Some(set) => set,
            None => self.refresh().await?,
        };
        if set.issuer != iss {
            return None;
        }
        if set.keys.contains_key(kid) {
            return Some(set);
        }
        self.refresh().await.filter(|set| set.keys.contains_key(kid))
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Fetches issuer and JWKS unless that was done within `min_refresh_interval`; concurrent
    /// callers wait for one fetch. Returns whatever keys are current afterwards.
    async fn refresh(&self) -> Option<Arc<KeySet>> {
        let client = self.client.as_ref()?;
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refresh_interval) {
            return self.current();
        }
        *last = Some(Instant::now());
        match fetch(client, self.configured_issuer.clone()).await {
            Ok(set) => *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(set)),
            Err(e) => tracing::warn!(error = %e, "cannot load the ServiceAccount JWKS; tokens go to TokenReview"),
        }
        self.current()
    }
}

fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // Audience and issuer are checked with kube's semantics in `Claims::into_user`.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    validation
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "service account token has expired".into(),
        ErrorKind::ImmatureSignature => "service account token is not valid yet".into(),
        ErrorKind::InvalidSignature => "invalid signature".into(),
        _ => format!("invalid service account token: {error}"),
    }
}

async fn fetch(client: &kube::Client, issuer: Option<String>) -> Result<KeySet, String> {
    let issuer = match issuer {
        Some(issuer) => issuer,
        None => discover_issuer(client).await?,
    };
    let jwks = get_text(client, "/openid/v1/jwks").await?;
    key_set(issuer, &jwks)
}

async fn discover_issuer(client: &kube::Client) -> Result<String, String> {
    let text = get_text(client, "/.well-known/openid-configuration").await?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("openid-configuration: {e}"))?;
    doc["issuer"].as_str().map(str::to_string).ok_or_else(|| "openid-configuration has no issuer".into())
}

async fn get_text(client: &kube::Client, path: &str) -> Result<String, String> {
    let request = http::Request::get(path).body(Vec::new()).map_err(|e| e.to_string())?;
    client.request_text(request).await.map_err(|e| format!("GET {path}: {e}"))
}

/// The usable keys of a JWKS document: those with a `kid` and an algorithm we can verify.
fn key_set(issuer: String, jwks: &str) -> Result<KeySet, String> {
    let set: JwkSet = serde_json::from_str(jwks).map_err(|e| format!("JWKS is not a key set: {e}"))?;
    let keys = set.keys.iter().filter_map(usable_key).collect();
    Ok(KeySet { issuer, keys })
}

fn usable_key(jwk: &Jwk) -> Option<(String, (DecodingKey, Algorithm))> {
    let kid = jwk.common.key_id.clone()?;
    let alg = algorithm(jwk)?;
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, (key, alg)))
}

/// The key's `alg`, or the one its type implies (kube publishes RS256 and ES256/384 keys).
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::ES256), _) => Some(Algorithm::ES256),
        (Some(KeyAlgorithm::ES384), _) => Some(Algorithm::ES384),
        (Some(KeyAlgorithm::RS256), _) => Some(Algorithm::RS256),
        (Some(KeyAlgorithm::RS384), _) => Some(Algorithm::RS384),
        (Some(KeyAlgorithm::RS512), _) => Some(Algorithm::RS512),
        (Some(KeyAlgorithm::PS256), _) => Some(Algorithm::PS256),
        (Some(KeyAlgorithm::PS384), _) => Some(Algorithm::PS384),
        (Some(KeyAlgorithm::PS512), _) => Some(Algorithm::PS512),
        (Some(_), _) => None,
        (None, AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (None, AlgorithmParameters::EllipticCurve(ec)) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        (None, _) => None,
    }
}

/// The payload of a JWT-shaped token, signature unchecked: only to route or bound caching.
pub(super) fn unverified_claims<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// jsonwebtoken 11 verifies through a process-wide provider; install RustCrypto's unless one is.
fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error only means another provider is installed already, which is fine.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}
