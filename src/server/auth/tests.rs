//! Tests against `devcluster`, the embedded control plane: real TokenReview, SubjectAccessReview,
//! RBAC, JWKS and ServiceAccount tokens over HTTPS.

mod authz;
mod config;
mod forbidden;
mod front_proxy;
mod support;
mod tokens;
mod watch;
