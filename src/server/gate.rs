//! The request gate in front of every route: the TLS peer chain → who is calling (delegated
//! authentication) → may they (delegated authorization) → 401/403 Statuses like kube-apiserver's.
//! Health probes pass without credentials; nothing reaches a provider before both checks pass.

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::auth::{
    Attributes, Authentication, Authenticator, Authorizer, Decision, DecisionMemo, FrontProxyMemo, KeyParts,
    PeerIdentity, UserInfo, forbidden_message,
};
use super::external_metrics::{GROUP, VERSION};
use super::routes::MetricRead;
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
    users: FrontProxyMemo,
}

impl ConnectionTrust {
    pub fn new(chain: PeerCertificates) -> Self {
        ConnectionTrust {
            chain,
            cached: parking_lot::Mutex::new(None),
            decisions: DecisionMemo::default(),
            users: FrontProxyMemo::default(),
        }
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
/// authorizer denies, 500 when it could not be asked. `read` is the path's metric read, if it is
/// one ([`MetricRead::parse`]).
pub async fn admit(
    gate: &Gate,
    conn: &ConnectionTrust,
    req: &Parts,
    read: Option<&MetricRead<'_>>,
) -> Result<(), Response> {
    let path = req.uri.path();
    if always_allowed(path) {
        return Ok(());
    }
    let identity = conn.identity(&gate.client_cas);
    let user = match gate.authenticator.authenticate_shared(&identity, &req.headers, Some(&conn.users)).await {
        Ok(Some(u)) => u,
        Ok(None) | Err(_) => return Err(ApiError::unauthorized().into_response()),
    };
    match decide_now(gate, conn, &Derived::of(&req.method, read), user, path) {
        Ok(decided) => decided,
        Err(attrs) => review(gate, conn, &attrs).await,
    }
}

/// What [`admit_now`] could not answer without waiting.
pub enum Pending {
    /// A bearer token to check: [`admit`] the request.
    Token,
    /// A SubjectAccessReview to ask for these attributes: [`review`] them.
    Review(Box<Attributes>),
}

/// The authorizer's answer for `attrs`, which nothing remembered: 403 when it denies, 500 when it
/// could not be asked.
pub async fn review(gate: &Gate, conn: &ConnectionTrust, attrs: &Attributes) -> Result<(), Response> {
    match gate.authorizer.authorize_missed(attrs, &conn.decisions).await {
        Ok(Decision::Allow) => Ok(()),
        Ok(Decision::Deny { reason }) => Err(forbidden(attrs, &reason)),
        Err(e) => Err(ApiError::internal(format!("authorization check failed: {e}")).into_response()),
    }
}

/// [`admit`]'s answer when it needs no waiting (the front-proxy memo or a certificate names the
/// user and a remembered decision or an always-allowed rule answers: every HPA read once warm),
/// else what is left to wait for ([`Pending`]): a bearer token check, or a SubjectAccessReview for
/// attributes already built.
pub fn admit_now(
    gate: &Gate,
    conn: &ConnectionTrust,
    req: &Parts,
    read: Option<&MetricRead<'_>>,
) -> Result<Result<(), Response>, Pending> {
    let path = req.uri.path();
    if always_allowed(path) {
        return Ok(Ok(()));
    }
    let identity = conn.identity(&gate.client_cas);
    let user = match gate.authenticator.authenticate_now(&identity, &req.headers, Some(&conn.users)) {
        Authentication::Done(Ok(Some(u))) => u,
        Authentication::Done(Ok(None) | Err(_)) => return Ok(Err(ApiError::unauthorized().into_response())),
        Authentication::Token(..) => return Err(Pending::Token),
    };
    decide_now(gate, conn, &Derived::of(&req.method, read), user, path).map_err(Pending::Review)
}

/// The decision for `user`'s request remembered or always allowed, else (`Err`) the attributes to
/// ask the authorizer about.
fn decide_now(
    gate: &Gate,
    conn: &ConnectionTrust,
    derived: &Derived<'_>,
    user: Arc<UserInfo>,
    path: &str,
) -> Result<Result<(), Response>, Box<Attributes>> {
    // A remembered decision for these attributes, checked without building them.
    let attrs = match gate.authorizer.recall_shared(&conn.decisions, &derived.key_parts(&user, path), &user) {
        Some(Decision::Allow) => return Ok(Ok(())),
        Some(Decision::Deny { reason }) => {
            return Ok(Err(forbidden(&derived.attributes(Arc::unwrap_or_clone(user), path), &reason)));
        }
        None => derived.attributes(Arc::unwrap_or_clone(user), path),
    };
    if gate.authorizer.always_allowed(&attrs) {
        return Ok(Ok(()));
    }
    Err(Box::new(attrs))
}

fn forbidden(attrs: &Attributes, reason: &str) -> Response {
    ApiError::forbidden(forbidden_message(attrs, reason))
        .with_details(serde_json::json!({"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource}))
        .into_response()
}

/// The attributes that follow from the method and path, borrowed where they can be.
struct Derived<'a> {
    verb: Cow<'a, str>,
    resource_request: bool,
    api_group: &'static str,
    api_version: &'static str,
    resource: Cow<'a, str>,
    namespace: Cow<'a, str>,
}

impl<'a> Derived<'a> {
    /// The fields of `self.attributes(user, path)`, borrowed.
    fn key_parts<'k>(&'k self, user: &'k UserInfo, path: &'k str) -> KeyParts<'k> {
        KeyParts {
            user,
            verb: &self.verb,
            resource_request: self.resource_request,
            api_group: self.api_group,
            api_version: self.api_version,
            resource: &self.resource,
            subresource: "",
            namespace: &self.namespace,
            name: "",
            path,
        }
    }

    /// Request attributes as kube-apiserver derives them: a metric read is verb `list` on resource
    /// `<metric>` in the namespace (the path names no object); everything else is a non-resource
    /// path.
    fn attributes(&self, user: UserInfo, path: &str) -> Attributes {
        Attributes {
            user,
            verb: self.verb.clone().into_owned(),
            resource_request: self.resource_request,
            api_group: self.api_group.into(),
            api_version: self.api_version.into(),
            resource: self.resource.clone().into_owned(),
            subresource: String::new(),
            namespace: self.namespace.clone().into_owned(),
            name: String::new(),
            path: path.into(),
        }
    }

    fn of(method: &'a Method, read: Option<&'a MetricRead<'_>>) -> Self {
        match read {
            Some(read) => Derived {
                verb: if is_get_or_head(method) { Cow::Borrowed("list") } else { lowercase(method) },
                resource_request: true,
                api_group: GROUP,
                api_version: VERSION,
                resource: Cow::Borrowed(&read.metric),
                namespace: Cow::Borrowed(&read.namespace),
            },
            None => Derived {
                verb: lowercase(method),
                resource_request: false,
                api_group: "",
                api_version: "",
                resource: Cow::Borrowed(""),
                namespace: Cow::Borrowed(""),
            },
        }
    }
}

/// Extension methods spelled `get` / `head` in another case count as those verbs too.
fn is_get_or_head(method: &Method) -> bool {
    method.as_str().eq_ignore_ascii_case("get") || method.as_str().eq_ignore_ascii_case("head")
}

/// The method lower-cased (kube's verb), borrowed when it already is.
fn lowercase(method: &Method) -> Cow<'_, str> {
    let m = method.as_str();
    match m {
        "GET" => Cow::Borrowed("get"),
        "HEAD" => Cow::Borrowed("head"),
        "POST" => Cow::Borrowed("post"),
        "PUT" => Cow::Borrowed("put"),
        "PATCH" => Cow::Borrowed("patch"),
        "DELETE" => Cow::Borrowed("delete"),
        "OPTIONS" => Cow::Borrowed("options"),
        m if !m.bytes().any(|b| b.is_ascii_uppercase()) && m.is_ascii() => Cow::Borrowed(m),
        m => Cow::Owned(m.to_lowercase()),
    }
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

    fn attributes(user: UserInfo, method: &Method, path: &str) -> Attributes {
        Derived::of(method, MetricRead::parse(path).as_ref()).attributes(user, path)
    }

    /// Whether the key the gate looks up for (user, method, path) is `a`'s key.
    fn same(a: &Attributes, user: &UserInfo, method: &Method, path: &str) -> bool {
        let read = MetricRead::parse(path);
        let derived = Derived::of(method, read.as_ref());
        derived.key_parts(user, path).encode() == KeyParts::of(a).encode()
    }

    #[test]
    fn the_looked_up_key_is_the_built_attributes_key() {
        let user = UserInfo { name: "u".into(), groups: vec!["g".into()], ..Default::default() };
        let metric = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps";
        let escaped = "/apis/external.metrics.k8s.io/v1beta1/namespaces/d%65fault/M%40x";
        let methods = [Method::GET, Method::HEAD, Method::POST, Method::DELETE];
        let custom = [Method::from_bytes(b"get").unwrap(), Method::from_bytes(b"Watch").unwrap()];
        let paths = [metric, escaped, "/apis/external.metrics.k8s.io/v1beta1", "/openapi/v2", "/"];
        for method in methods.iter().chain(&custom) {
            for path in paths {
                let built = attributes(user.clone(), method, path);
                assert!(same(&built, &user, method, path), "{method} {path}");
                let mut other_user = user.clone();
                other_user.groups.push("system:masters".into());
                assert!(!same(&built, &other_user, method, path), "{method} {path}");
                for other in paths.iter().filter(|p| **p != path) {
                    assert!(!same(&built, &user, method, other), "{method} {path} vs {other}");
                }
                // Every field the request's SubjectAccessReview carries (a non-resource
                // request's carries the path and verb only).
                let mut changes = vec![
                    Attributes { verb: "other-verb".into(), ..built.clone() },
                    Attributes { resource_request: !built.resource_request, ..built.clone() },
                ];
                if built.resource_request {
                    changes.extend([
                        Attributes { api_group: "x".into(), ..built.clone() },
                        Attributes { api_version: "x".into(), ..built.clone() },
                        Attributes { resource: "x".into(), ..built.clone() },
                        Attributes { subresource: "x".into(), ..built.clone() },
                        Attributes { namespace: "x".into(), ..built.clone() },
                        Attributes { name: "x".into(), ..built.clone() },
                    ]);
                }
                for changed in changes {
                    assert!(!same(&changed, &user, method, path), "{method} {path}: {changed:?}");
                }
            }
        }
        let get = attributes(user.clone(), &Method::GET, metric);
        assert!(!same(&get, &user, &Method::POST, metric), "post is its own verb");
        assert!(same(&get, &user, &Method::HEAD, metric), "head reads list, as get does");
        let e = attributes(user.clone(), &Method::GET, escaped);
        assert_eq!((e.namespace.as_str(), e.resource.as_str()), ("default", "M@x"));
        assert_eq!(attributes(user, &custom[1], "/x").verb, "watch");
    }
}
