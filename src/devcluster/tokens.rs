//! ServiceAccount token issuer, mirroring kube-apiserver's
//! `pkg/serviceaccount` (`jwt.go`, `claims.go`) with an ES256 (P-256) key.
//!
//! Tokens carry the claims kube-apiserver writes (keys in the same, sorted,
//! order): `aud`, `exp`, `iat`, `iss`, `jti`, `kubernetes.io`, `nbf`, `sub`.
//! Verification checks what the JWT authenticator and the claims validator
//! check from the token alone; whether the service account (and bound object)
//! still exists with the UIDs in the token is left to the caller, which has
//! the store.

mod claims;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Once;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rcgen::PublicKeyData as _;
use serde_json::json;

use claims::{Claims, KubernetesClaims, ObjectRef};

/// Leeway kube-apiserver allows on `exp`, `nbf` and `iat` (go-jose's `DefaultLeeway`).
pub const LEEWAY_SECONDS: i64 = 60;
/// Group every service account belongs to.
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// User-extra keys kube-apiserver sets for bound tokens.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
pub const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
pub const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

const AUTHENTICATED_GROUP: &str = "system:authenticated";
const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";
const SERVICE_ACCOUNT_GROUP_PREFIX: &str = "system:serviceaccounts:";

/// Failures issuing or verifying a token; verification texts follow kube-apiserver's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("failed to generate the service account signing key: {0}")]
    KeyGeneration(String),
    #[error("failed to sign the service account token: {0}")]
    Signing(String),
    #[error("expirationSeconds must be positive, got {0}")]
    InvalidExpiration(i64),
    #[error("cannot bind token to object of kind {0:?}")]
    UnsupportedBoundObject(String),
    #[error("invalid token: {0}")]
    Malformed(String),
    #[error("invalid signature")]
    InvalidSignature,
    #[error("token issuer {0:?} is not this API server's")]
    WrongIssuer(String),
    #[error("service account token has expired")]
    Expired,
    #[error("service account token is not valid yet")]
    NotYetValid,
    #[error("service account token is issued in the future")]
    IssuedInTheFuture,
    #[error("token audiences {token} is invalid for the target audiences {requested}")]
    InvalidAudience { token: String, requested: String },
    #[error("service account token claims could not be validated: {0}")]
    InvalidClaims(String),
}

/// The object a token is bound to (`TokenRequest.spec.boundObjectRef`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundObject {
    /// `Pod`, `Secret` or `Node`.
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountIdentity {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The object the token is bound to, whatever its kind (Pod, Secret or Node).
    pub pod: Option<BoundObject>,
    /// The audiences the token was accepted for: its own intersected with the requested ones.
    pub audiences: Vec<String>,
    /// `exp`, in Unix seconds.
    pub expires_at: i64,
    /// The token's `jti` (empty if it has none).
    pub jti: String,
}

/// Signs and verifies ServiceAccount tokens with one ES256 key.
#[derive(Clone)]
pub struct TokenIssuer {
    issuer: String,
    kid: String,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    /// Base64url affine coordinates of the public key.
    x: String,
    y: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("issuer", &self.issuer).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// jsonwebtoken 11 signs and verifies through a process-wide crypto provider;
/// install the RustCrypto one unless some provider is already installed.
fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An Err only means another provider was installed first, which is fine.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}

impl TokenIssuer {
    /// A fresh P-256 key for `issuer` (the `--service-account-issuer` URL).
    pub fn new(issuer: &str) -> Result<Self, TokenError> {
        ensure_crypto_provider();
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| TokenError::KeyGeneration(e.to_string()))?;
        let (x, y) = split_uncompressed_point(key_pair.public_key_raw())?;
        let decoding_key =
            DecodingKey::from_ec_components(&x, &y).map_err(|e| TokenError::KeyGeneration(e.to_string()))?;
        Ok(TokenIssuer {
            issuer: issuer.to_string(),
            kid: key_id(&key_pair.subject_public_key_info())?,
            encoding_key: EncodingKey::from_ec_der(&key_pair.serialize_der()),
            decoding_key,
            x,
            y,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// Claims as kube-apiserver writes them: iss, sub "system:serviceaccount:<ns>:<name>", aud [..],
    /// exp, iat, nbf, jti (uuid), "kubernetes.io": {namespace, serviceaccount:{name,uid}, pod?:{name,uid}}.
    /// Returns (token, exp unix seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: i64,
        bound: Option<&BoundObject>,
        now_unix: i64,
    ) -> Result<(String, i64), TokenError> {
        if expiration_seconds <= 0 {
            return Err(TokenError::InvalidExpiration(expiration_seconds));
        }
        let exp = now_unix.checked_add(expiration_seconds).ok_or(TokenError::InvalidExpiration(expiration_seconds))?;
        let mut kubernetes = KubernetesClaims {
            namespace: namespace.to_string(),
            serviceaccount: ObjectRef::new(sa_name, sa_uid),
            ..KubernetesClaims::default()
        };
        if let Some(object) = bound {
            bind(&mut kubernetes, object)?;
        }
        let claims = Claims {
            aud: audiences.to_vec(),
            exp: Some(exp),
            iat: Some(now_unix),
            iss: self.issuer.clone(),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            kubernetes: Some(kubernetes),
            nbf: Some(now_unix),
            sub: service_account_user_name(namespace, sa_name),
        };
        Ok((self.sign(&claims)?, exp))
    }

    fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        ensure_crypto_provider();
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Verify signature (ES256 only), iss, exp/nbf (60 s leeway like kube), and that the token's
    /// aud intersects `audiences` (an empty `audiences` means the API server's own audiences: [issuer]).
    pub fn verify(
        &self,
        token: &str,
        audiences: &[String],
        now_unix: i64,
    ) -> Result<ServiceAccountIdentity, TokenError> {
        let claims = self.verified_claims(token)?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer(claims.iss));
        }
        check_times(&claims, now_unix)?;
        let accepted = self.accepted_audiences(&claims.aud, audiences)?;
        identity_from_claims(claims, accepted)
    }

    /// Decodes the token after checking its ES256 signature; no claim is checked yet.
    fn verified_claims(&self, token: &str) -> Result<Claims, TokenError> {
        ensure_crypto_provider();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Claims>(token, &self.decoding_key, &validation).map(|data| data.claims).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::InvalidSignature,
                _ => TokenError::Malformed(e.to_string()),
            }
        })
    }

    /// kube's audience check: a token without audiences counts as made for the
    /// API server; the accepted audiences are those also requested.
    fn accepted_audiences(&self, token_audiences: &[String], requested: &[String]) -> Result<Vec<String>, TokenError> {
        let implicit = vec![self.issuer.clone()];
        let token_audiences = if token_audiences.is_empty() { &implicit } else { token_audiences };
        let requested = if requested.is_empty() { &implicit } else { requested };
        let accepted: Vec<String> = token_audiences.iter().filter(|aud| requested.contains(aud)).cloned().collect();
        if accepted.is_empty() {
            return Err(TokenError::InvalidAudience {
                token: go_quote_list(token_audiences),
                requested: go_quote_list(requested),
            });
        }
        Ok(accepted)
    }

    /// `/openid/v1/jwks` body: {"keys":[{"use":"sig","kty":"EC","kid":..,"crv":"P-256","alg":"ES256","x":..,"y":..}]}
    pub fn jwks(&self) -> serde_json::Value {
        json!({
            "keys": [{
                "use": "sig",
                "kty": "EC",
                "kid": self.kid,
                "crv": "P-256",
                "alg": "ES256",
                "x": self.x,
                "y": self.y,
            }]
        })
    }

    /// `/.well-known/openid-configuration` body as kube-apiserver serves it.
    pub fn openid_configuration(&self) -> serde_json::Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }
}

impl ServiceAccountIdentity {
    /// `system:serviceaccount:<ns>:<name>`.
    pub fn user_name(&self) -> String {
        service_account_user_name(&self.namespace, &self.name)
    }

    /// `system:serviceaccounts`, `system:serviceaccounts:<ns>`, `system:authenticated`.
    pub fn groups(&self) -> Vec<String> {
        vec![
            ALL_SERVICE_ACCOUNTS_GROUP.to_string(),
            format!("{SERVICE_ACCOUNT_GROUP_PREFIX}{}", self.namespace),
            AUTHENTICATED_GROUP.to_string(),
        ]
    }

    /// As `ServiceAccountInfo.UserInfo()`: pod-name/pod-uid for a pod-bound token,
    /// node-name/node-uid for a node-bound one, and credential-id `JTI=<jti>`
    /// whenever the token has a jti.
    pub fn extra(&self) -> BTreeMap<String, Vec<String>> {
        let mut extra = BTreeMap::new();
        match self.pod.as_ref() {
            Some(pod) if pod.kind == "Pod" && !pod.name.is_empty() && !pod.uid.is_empty() => {
                extra.insert(POD_NAME_KEY.to_string(), vec![pod.name.clone()]);
                extra.insert(POD_UID_KEY.to_string(), vec![pod.uid.clone()]);
            }
            Some(node) if node.kind == "Node" && !node.name.is_empty() => {
                extra.insert(NODE_NAME_KEY.to_string(), vec![node.name.clone()]);
                if !node.uid.is_empty() {
                    extra.insert(NODE_UID_KEY.to_string(), vec![node.uid.clone()]);
                }
            }
            _ => {}
        }
        if !self.jti.is_empty() {
            extra.insert(CREDENTIAL_ID_KEY.to_string(), vec![format!("JTI={}", self.jti)]);
        }
        extra
    }
}

fn service_account_user_name(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}")
}

/// Records the bound object in the `kubernetes.io` claim under its kind.
fn bind(kubernetes: &mut KubernetesClaims, object: &BoundObject) -> Result<(), TokenError> {
    let reference = Some(ObjectRef::new(&object.name, &object.uid));
    match object.kind.as_str() {
        "Pod" => kubernetes.pod = reference,
        "Secret" => kubernetes.secret = reference,
        "Node" => kubernetes.node = reference,
        other => return Err(TokenError::UnsupportedBoundObject(other.to_string())),
    }
    Ok(())
}

/// go-jose's `ValidateWithLeeway` order: nbf, exp, then iat.
fn check_times(claims: &Claims, now: i64) -> Result<(), TokenError> {
    if claims.nbf.is_some_and(|nbf| now.saturating_add(LEEWAY_SECONDS) < nbf) {
        return Err(TokenError::NotYetValid);
    }
    if claims.exp.is_some_and(|exp| now.saturating_sub(LEEWAY_SECONDS) > exp) {
        return Err(TokenError::Expired);
    }
    if claims.iat.is_some_and(|iat| now.saturating_add(LEEWAY_SECONDS) < iat) {
        return Err(TokenError::IssuedInTheFuture);
    }
    Ok(())
}

fn identity_from_claims(claims: Claims, audiences: Vec<String>) -> Result<ServiceAccountIdentity, TokenError> {
    let kubernetes =
        claims.kubernetes.ok_or_else(|| TokenError::InvalidClaims("missing kubernetes.io claim".to_string()))?;
    let name = kubernetes.serviceaccount.name.clone();
    if kubernetes.namespace.is_empty() || name.is_empty() {
        return Err(TokenError::InvalidClaims("missing namespace or service account name".to_string()));
    }
    if claims.sub != service_account_user_name(&kubernetes.namespace, &name) {
        return Err(TokenError::InvalidClaims(format!("subject {:?} does not match the service account", claims.sub)));
    }
    let pod = kubernetes.bound_object();
    Ok(ServiceAccountIdentity {
        namespace: kubernetes.namespace,
        name,
        uid: kubernetes.serviceaccount.uid,
        pod,
        audiences,
        expires_at: claims.exp.unwrap_or_default(),
        jti: claims.jti.unwrap_or_default(),
    })
}

/// kube's key id: base64url (unpadded) SHA-256 of the PKIX (SPKI) DER public key.
fn key_id(spki_der: &[u8]) -> Result<String, TokenError> {
    let digest = (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.key_utils.compute_digest)(
        spki_der,
        ThumbprintHash::SHA256,
    )
    .map_err(|e| TokenError::KeyGeneration(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(digest))
}

/// Base64url x and y of an uncompressed SEC1 P-256 point (`0x04 || x || y`).
fn split_uncompressed_point(point: &[u8]) -> Result<(String, String), TokenError> {
    match point {
        [0x04, coordinates @ ..] if coordinates.len() == 64 => {
            let (x, y) = coordinates.split_at(32);
            Ok((URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)))
        }
        _ => Err(TokenError::KeyGeneration("unexpected P-256 public key encoding".to_string())),
    }
}

/// A string list as Go's `%q` prints a `[]string`: `["a" "b"]`.
fn go_quote_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", quoted.join(" "))
}
