//! Delegated authentication and authorization, as k8s.io/apiserver's
//! `DelegatingAuthenticationOptions` / `DelegatingAuthorizationOptions` set them up for an
//! aggregated API server:
//!
//! - **authentication** ([`Authenticator`]): front-proxy (request-header) identity from
//!   kube-aggregator, client certificates signed by the cluster's client CA, bearer tokens
//!   (ServiceAccount JWTs verified locally against the cluster's JWKS, anything else through a
//!   TokenReview), and anonymous otherwise. The CAs and header names come from the
//!   `kube-system/extension-apiserver-authentication` ConfigMap, kept current by
//!   [`AuthConfigWatch`].
//! - **authorization** ([`Authorizer`]): always-allowed health paths and `system:masters`, then a
//!   cached SubjectAccessReview.
//!
//! The request path only calls out on a cache miss; decisions are cached with the TTLs the
//! Go library uses (see [`AuthnOptions`] and [`AuthzOptions`] for where we differ and why).

mod authenticator;
mod authorizer;
mod config;
mod decisions;
mod jwt;
mod requestheader;
mod retry;
mod stats;
mod tokenreview;
mod watch;

#[cfg(test)]
mod tests;

pub use crate::apimachinery::authorization::{
    ANONYMOUS_USER, AUTHENTICATED_GROUP, Attributes, UNAUTHENTICATED_GROUP, UserInfo, forbidden_message,
};
pub use authenticator::{Authentication, Authenticator, AuthnOptions};
pub use authorizer::{Authorizer, AuthzOptions, DecisionMemo};
pub use config::AuthenticationConfig;
pub use decisions::KeyParts;
pub use requestheader::FrontProxyMemo;
pub use stats::CacheStats;
pub use watch::AuthConfigWatch;

/// What the TLS layer established about the client certificate (already chain-verified by it).
#[derive(Clone, Debug, Default)]
pub struct PeerIdentity {
    /// The certificate chains to the request-header (front-proxy) CA.
    pub requestheader_ca: bool,
    /// The certificate chains to the client CA.
    pub client_ca: bool,
    pub common_name: Option<String>,
    pub organizations: Vec<String>,
}

impl PeerIdentity {
    /// Whether the client presented a certificate at all.
    fn presented(&self) -> bool {
        self.requestheader_ca || self.client_ca || self.common_name.is_some() || !self.organizations.is_empty()
    }
}

/// The outcome of authentication when no authenticator failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Authenticated {
    User(UserInfo),
    Anonymous,
}

impl Authenticated {
    /// The identity to authorize: anonymous requests are `system:anonymous`.
    pub fn into_user(self) -> UserInfo {
        match self {
            Authenticated::User(user) => user,
            Authenticated::Anonymous => UserInfo::anonymous(),
        }
    }
}

/// An authorization decision. kube's "no opinion" from the delegated authorizer is a `Deny`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { reason: String },
}

/// Authentication and authorization failures. [`AuthError::status_code`] says what to answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("ConfigMap kube-system/extension-apiserver-authentication key {key:?}: {reason}")]
    InvalidConfigMap { key: String, reason: String },
    #[error("x509: subject with cn={common_name} is not in the allowed list")]
    FrontProxyNotAllowed { common_name: String },
    #[error("verifying certificate failed: x509: certificate signed by unknown authority ({ca} CA)")]
    UnknownAuthority { ca: &'static str },
    #[error("invalid bearer token: {0}")]
    InvalidToken(String),
    #[error("{}", .0.join(", "))]
    Unauthenticated(Vec<String>),
    #[error("{call} failed: {reason}")]
    Api { call: &'static str, reason: String },
}

impl AuthError {
    /// 401 for failed authentication, 500 when a review could not be made (Go's `InternalError`).
    pub fn status_code(&self) -> u16 {
        match self {
            AuthError::Api { call: "SubjectAccessReview", .. } => 500,
            AuthError::InvalidConfigMap { .. } => 500,
            _ => 401,
        }
    }
}

/// Which key of which cache: `sha256(token)` keeps bearer tokens out of memory.
type TokenKey = [u8; 32];
