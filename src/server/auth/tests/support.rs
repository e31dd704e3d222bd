//! Shared setup: a cluster, ServiceAccounts, RBAC, authenticators with a fixed config.

use std::time::Duration;

/// The embedded control plane. This is the only line that names the crate: inside
/// autoscaling-apiserver itself it reads `pub use crate::devcluster;`.
pub use crate::devcluster;

use devcluster::{Config, DevCluster, RequestFault};
use http::{HeaderMap, HeaderName, HeaderValue};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};

use super::super::{AuthConfigWatch, AuthenticationConfig, Authenticator, AuthnOptions, PeerIdentity};

pub async fn cluster() -> DevCluster {
    DevCluster::start(Config::default()).await.expect("devcluster starts")
}

pub async fn admin(dc: &DevCluster) -> kube::Client {
    dc.client().await.expect("admin client")
}

/// The config kube-apiserver publishes with `--requestheader-*` flags set (CA bodies do not matter:
/// the TLS layer verified the chain and says so in `PeerIdentity`).
pub fn front_proxy_config() -> AuthenticationConfig {
    AuthenticationConfig {
        client_ca_pem: Some("client CA".into()),
        requestheader_ca_pem: Some("front-proxy CA".into()),
        allowed_names: vec!["front-proxy-client".into()],
        username_headers: vec!["X-Remote-User".into()],
        group_headers: vec!["X-Remote-Group".into()],
        extra_prefixes: vec!["X-Remote-Extra-".into()],
        uid_headers: vec!["X-Remote-Uid".into()],
    }
}

pub async fn authenticator(dc: &DevCluster, options: AuthnOptions) -> Authenticator {
    Authenticator::new(admin(dc).await, AuthConfigWatch::fixed(front_proxy_config()), options)
}

pub fn front_proxy_peer(common_name: &str) -> PeerIdentity {
    PeerIdentity { requestheader_ca: true, common_name: Some(common_name.into()), ..Default::default() }
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        map.append(name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

pub fn bearer(token: &str) -> HeaderMap {
    headers(&[("authorization", &format!("Bearer {token}"))])
}

pub async fn service_account(dc: &DevCluster, namespace: &str, name: &str) {
    let sas: Api<ServiceAccount> = Api::namespaced(admin(dc).await, namespace);
    let sa =
        ServiceAccount { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    sas.create(&PostParams::default(), &sa).await.expect("ServiceAccount created");
}

/// Every request whose path contains `path` fails with 500 until cleared.
pub fn fail_requests(dc: &DevCluster, path: &str) {
    dc.faults().add(RequestFault {
        path_contains: path.into(),
        status: Some(500),
        delay: Duration::ZERO,
        remaining: None,
    });
}

/// Grants `verbs` on every resource of `group` in `namespace` to the ServiceAccount.
pub async fn grant(dc: &DevCluster, namespace: &str, sa: &str, group: &str, verbs: &[&str]) {
    let client = admin(dc).await;
    let name = format!("{sa}-reader");
    let role = Role {
        metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![group.into()]),
            resources: Some(vec!["*".into()]),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(client.clone(), namespace).create(&PostParams::default(), &role).await.expect("Role");
    let binding = RoleBinding {
        metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() },
        role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: sa.into(),
            namespace: Some(namespace.into()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(client, namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("RoleBinding");
}

/// Polls `condition` every 20 ms for up to 10 s.
pub async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}
