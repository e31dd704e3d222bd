//! The JWT claims of a ServiceAccount token, field for field as kube-apiserver
//! serialises them (go-jose merges public and private claims into one map, so
//! keys come out sorted, and empty values are omitted).

use serde::{Deserialize, Deserializer, Serialize};

use super::BoundObject;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Claims {
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default)]
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(rename = "kubernetes.io", default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesClaims>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub sub: String,
}

/// The private `kubernetes.io` claim.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    #[serde(default)]
    pub serviceaccount: ObjectRef,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    pub fn new(name: &str, uid: &str) -> Self {
        ObjectRef { name: name.to_string(), uid: uid.to_string() }
    }
}

impl KubernetesClaims {
    /// The object the token is bound to: a pod, else a secret, else a node
    /// (kube binds to one; a pod-bound token may also name the pod's node).
    pub fn bound_object(&self) -> Option<BoundObject> {
        let candidates = [("Pod", &self.pod), ("Secret", &self.secret), ("Node", &self.node)];
        candidates.into_iter().find_map(|(kind, reference)| {
            reference.as_ref().map(|r| BoundObject { kind: kind.to_string(), name: r.name.clone(), uid: r.uid.clone() })
        })
    }
}

/// `aud` may be a single string or a list (RFC 7519 §4.1.3).
fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Audience::deserialize(deserializer)? {
        Audience::One(aud) => vec![aud],
        Audience::Many(auds) => auds,
    })
}
