//! The request gate in front of every route: the TLS peer chain → who is calling (delegated
//! authentication) → may they (delegated authorization) → 401/403 Statuses like kube-apiserver's.
//! Health probes pass without credentials; nothing reaches a provider before both checks pass.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{
    Attributes, Authenticated, Authenticator, Authorizer, Decision, PeerIdentity, UserInfo, forbidden_message,
};
use super::external_metrics::{GROUP, NAMESPACES_PREFIX, VERSION};
use super::tls::{ClientCaStore, ClientCertTrust, PeerCertificates};
use crate::apimachinery::status::ApiError;

pub struct Gate {
    pub authenticator: Authenticator,
    pub authorizer: Authorizer,
    pub client_cas: Arc<ClientCaStore>,
}

/// One connection's client certificate and what it verified against. Verifying a chain costs
/// an ECDSA check (~70 µs, measured in benches/server.rs), so it is done once per connection and
/// again only when the CAs are replaced — not per request.
pub struct ConnectionTrust {
    chain: PeerCertificates,
    cached: parking_lot::Mutex<Option<(u64, ClientCertTrust)>>,
}

impl ConnectionTrust {
    pub fn new(chain: PeerCertificates) -> Self {
        ConnectionTrust { chain, cached: parking_lot::Mutex::new(None) }
    }

    fn trust(&self, cas: &ClientCaStore) -> ClientCertTrust {
        let generation = cas.generation();
        let mut cached = self.cached.lock();
        match cached.as_ref() {
            Some((g, t)) if *g == generation => t.clone(),
            _ => {
                let t = cas.verify(&self.chain.0);
                *cached = Some((generation, t.clone()));
                t
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

pub async fn check(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if always_allowed(&path) {
        return next.run(req).await;
    }
    let trust = match req.extensions().get::<Arc<ConnectionTrust>>() {
        Some(conn) => conn.trust(&gate.client_cas),
        None => ClientCertTrust::default(),
    };
    let identity = PeerIdentity {
        requestheader_ca: trust.requestheader_ca,
        client_ca: trust.client_ca,
        common_name: trust.common_name,
        organizations: trust.organizations,
    };
    let user = match gate.authenticator.authenticate(&identity, req.headers()).await {
        Ok(Authenticated::User(u)) => u,
        Ok(Authenticated::Anonymous) | Err(_) => return ApiError::unauthorized().into_response(),
    };
    let attrs = attributes(user, req.method(), &path);
    match gate.authorizer.authorize(&attrs).await {
        Ok(Decision::Allow) => next.run(req).await,
        Ok(Decision::Deny { reason }) => forbidden(&attrs, &reason),
        Err(e) => ApiError::internal(format!("authorization check failed: {e}")).into_response(),
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
    let verb = method.as_str().to_lowercase();
    let parts: Vec<&str> = path.strip_prefix(NAMESPACES_PREFIX).map(|r| r.split('/').collect()).unwrap_or_default();
    match parts.as_slice() {
        [ns, metric] if !ns.is_empty() && !metric.is_empty() => Attributes {
            user,
            verb: if verb == "get" || verb == "head" { "list".into() } else { verb },
            resource_request: true,
            api_group: GROUP.into(),
            api_version: VERSION.into(),
            resource: decode(metric),
            subresource: String::new(),
            namespace: decode(ns),
            name: String::new(),
            path: path.into(),
        },
        _ => Attributes {
            user,
            verb,
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
