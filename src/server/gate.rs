//! The request gate in front of every route: the TLS peer chain → who is calling (delegated
//! authentication) → may they (delegated authorization) → 401/403 Statuses like kube-apiserver's.
//! Health probes pass without credentials; nothing reaches a provider before both checks pass.

use std::sync::Arc;

use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::auth::{
    Attributes, Authenticated, Authenticator, Authorizer, Decision, DecisionMemo, PeerIdentity, UserInfo,
    forbidden_message,
};
use super::external_metrics::{GROUP, VERSION};
use super::routes::metric_path;
use super::tls::{ClientCaStore, PeerCertificates};
use crate::apimachinery::status::ApiError;

pub struct Gate {
    pub authenticator: Authenticator,
    pub authorizer: Authorizer,
    pub client_cas: Arc<ClientCaStore>,
}

/// One connection's client certificate, who it identifies, and the connection's last
/// authorization decision. Verifying a chain costs an ECDSA check (~70 µs, measured in
/// benches/server.rs), so it is done once per connection and again only when the CAs are
/// replaced — not per request.
pub struct ConnectionTrust {
    chain: PeerCertificates,
    cached: parking_lot::Mutex<Option<(u64, Arc<PeerIdentity>)>>,
    decisions: DecisionMemo,
}

impl ConnectionTrust {
    pub fn new(chain: PeerCertificates) -> Self {
        ConnectionTrust { chain, cached: parking_lot::Mutex::new(None), decisions: DecisionMemo::default() }
    }

    fn identity(&self, cas: &ClientCaStore) -> Arc<PeerIdentity> {
        let generation = cas.generation();
        let mut cached = self.cached.lock();
        match cached.as_ref() {
            Some((g, identity)) if *g == generation => identity.clone(),
            _ => {
                let t = cas.verify(&self.chain.0);
                let identity = Arc::new(PeerIdentity {
                    requestheader_ca: t.requestheader_ca,
                    client_ca: t.client_ca,
                    common_name: t.common_name,
                    organizations: t.organizations,
                });
                *cached = Some((generation, identity.clone()));
                identity
            }
        }
    }
}

/// Probes kube-apiserver and kubelets call without credentials.
fn always_allowed(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Lets a request through (`Ok`) or answers it: 401 when no one is authenticated, 403 when the
/// authorizer denies, 500 when it could not be asked.
pub async fn admit(gate: &Gate, conn: &ConnectionTrust, req: &Parts) -> Result<(), Response> {
    let path = req.uri.path();
    if always_allowed(path) {
        return Ok(());
    }
    let identity = conn.identity(&gate.client_cas);
    let user = match gate.authenticator.authenticate(&identity, &req.headers).await {
        Ok(Authenticated::User(u)) => u,
        Ok(Authenticated::Anonymous) | Err(_) => return Err(ApiError::unauthorized().into_response()),
    };
    let attrs = attributes(user, &req.method, path);
    match gate.authorizer.authorize_remembered(&attrs, &conn.decisions).await {
        Ok(Decision::Allow) => Ok(()),
        Ok(Decision::Deny { reason }) => Err(forbidden(&attrs, &reason)),
        Err(e) => Err(ApiError::internal(format!("authorization check failed: {e}")).into_response()),
    }
}

fn forbidden(attrs: &Attributes, reason: &str) -> Response {
    ApiError::forbidden(forbidden_message(attrs, reason))
        .with_details(serde_json::json!({"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource}))
        .into_response()
}

/// Request attributes as kube-apiserver derives them: a metric read is verb `list` on resource
/// `<metric>` in the namespace (the path names no object); everything else is a non-resource path.
pub fn attributes(user: UserInfo, method: &Method, path: &str) -> Attributes {
    let verb = || method.as_str().to_lowercase();
    match metric_path(path) {
        Some((ns, metric)) => Attributes {
            user,
            verb: match method.as_str() {
                m if m.eq_ignore_ascii_case("get") || m.eq_ignore_ascii_case("head") => "list".into(),
                _ => verb(),
            },
            resource_request: true,
            api_group: GROUP.into(),
            api_version: VERSION.into(),
            resource: decode(metric),
            subresource: String::new(),
            namespace: decode(ns),
            name: String::new(),
            path: path.into(),
        },
        None => Attributes {
            user,
            verb: verb(),
            resource_request: false,
            api_group: String::new(),
            api_version: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            path: path.into(),
        },
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_reads_are_list_on_the_metric_resource() {
        let a = attributes(
            UserInfo::default(),
            &Method::GET,
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps",
        );
        assert_eq!(
            (a.verb.as_str(), a.resource.as_str(), a.namespace.as_str()),
            ("list", "datadogmetric@default:web-rps", "default")
        );
        assert!(a.resource_request);
        let d = attributes(UserInfo::default(), &Method::GET, "/apis/external.metrics.k8s.io/v1beta1");
        assert!(!d.resource_request);
        assert_eq!(d.verb, "get");
        assert!(always_allowed("/readyz/informer-sync") && always_allowed("/livez") && !always_allowed("/readyzx"));
    }
}
