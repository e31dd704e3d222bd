//! The claims kube-apiserver writes into ServiceAccount tokens (`pkg/serviceaccount/claims.go`)
//! and the user they stand for (`ServiceAccountInfo.UserInfo`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::{AUTHENTICATED_GROUP, UserInfo};

const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";
const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

/// Just the issuer, read before the signature is checked to pick the verifier.
#[derive(Deserialize)]
pub(super) struct UnverifiedIssuer {
    #[serde(default)]
    pub iss: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
pub(super) struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    aud: Option<Audience>,
    pub exp: i64,
    #[serde(default)]
    jti: String,
    #[serde(rename = "kubernetes.io")]
    kubernetes: Option<KubernetesClaims>,
}

#[derive(Deserialize, Default)]
struct KubernetesClaims {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    serviceaccount: ObjectRef,
    pod: Option<ObjectRef>,
    node: Option<ObjectRef>,
}

#[derive(Deserialize, Default)]
struct ObjectRef {
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
}

impl Claims {
    /// The checks `pkg/serviceaccount` makes once the signature and times are good: issuer,
    /// audiences (a token without any counts as made for the API server, i.e. the issuer), and a
    /// consistent `kubernetes.io` claim.
    pub(super) fn into_user(self, issuer: &str, audiences: &[String]) -> Result<UserInfo, String> {
        if self.iss != issuer {
            return Err(format!("token issuer {:?} is not {issuer:?}", self.iss));
        }
        self.check_audiences(issuer, audiences)?;
        let k = self.kubernetes.ok_or("token has no kubernetes.io claim")?;
        let (namespace, name) = (k.namespace, k.serviceaccount.name);
        if namespace.is_empty() || name.is_empty() {
            return Err("token names no service account namespace or name".into());
        }
        let user_name = format!("system:serviceaccount:{namespace}:{name}");
        if self.sub != user_name {
            return Err(format!("token subject {:?} does not match its service account {user_name:?}", self.sub));
        }
        let extra = extras(k.pod, k.node, &self.jti);
        Ok(UserInfo { name: user_name, uid: k.serviceaccount.uid, groups: groups(&namespace), extra })
    }

    fn check_audiences(&self, issuer: &str, wanted: &[String]) -> Result<(), String> {
        let own = match &self.aud {
            Some(Audience::One(a)) => vec![a.clone()],
            Some(Audience::Many(list)) if !list.is_empty() => list.clone(),
            _ => vec![issuer.to_string()],
        };
        if own.iter().any(|a| wanted.contains(a)) {
            return Ok(());
        }
        Err(format!("token audiences {own:?} is invalid for the target audiences {wanted:?}"))
    }
}

fn groups(namespace: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{namespace}"),
        AUTHENTICATED_GROUP.to_string(),
    ]
}

/// pod-name/pod-uid for a pod-bound token, node-name/node-uid when the token names a node, and
/// credential-id `JTI=<jti>`.
fn extras(pod: Option<ObjectRef>, node: Option<ObjectRef>, jti: &str) -> BTreeMap<String, Vec<String>> {
    let mut extra = BTreeMap::new();
    if let Some(pod) = pod.filter(|p| !p.name.is_empty() && !p.uid.is_empty()) {
        extra.insert(POD_NAME_KEY.to_string(), vec![pod.name]);
        extra.insert(POD_UID_KEY.to_string(), vec![pod.uid]);
    }
    if let Some(node) = node.filter(|n| !n.name.is_empty()) {
        extra.insert(NODE_NAME_KEY.to_string(), vec![node.name]);
        if !node.uid.is_empty() {
            extra.insert(NODE_UID_KEY.to_string(), vec![node.uid]);
        }
    }
    if !jti.is_empty() {
        extra.insert(CREDENTIAL_ID_KEY.to_string(), vec![format!("JTI={jti}")]);
    }
    extra
}
