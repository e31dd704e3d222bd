//! A decision's key: the fields of its [`Attributes`] that the SubjectAccessReview carries, in one
//! contiguous byte string (each text length-prefixed, lists counted), so a lookup hashes and
//! compares one buffer — a few adjacent cache lines — instead of following a pointer per field.
//! Two attributes have equal keys exactly when their reviews are equal (the encoding is
//! unambiguous, and holds nothing the review does not): a resource request's review carries no
//! path, a non-resource request's only the path and verb (kube-apiserver's
//! `SubjectAccessReviewSpec`), so the HPA's read of a metric is keyed by the metric, not also by
//! the ~100-byte path that repeats it.
//!
//! The key is two parts, the request's fields then the user's: the table keeps a user's part once
//! for all its entries (see the decisions module docs), so a key is compared as the pair
//! ([`KeyParts::encode_request_into`], [`encode_user`]), equal exactly when the whole encoding is
//! (both parts are self-delimiting).

use std::collections::BTreeMap;

use super::{Attributes, UserInfo};

/// The attributes' fields, borrowed: what a caller that has not built the [`Attributes`] (the
/// request gate) encodes.
pub struct KeyParts<'a> {
    pub user: &'a UserInfo,
    pub verb: &'a str,
    pub resource_request: bool,
    pub api_group: &'a str,
    pub api_version: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub path: &'a str,
}

impl<'a> KeyParts<'a> {
    pub fn of(attrs: &'a Attributes) -> Self {
        KeyParts {
            user: &attrs.user,
            verb: &attrs.verb,
            resource_request: attrs.resource_request,
            api_group: &attrs.api_group,
            api_version: &attrs.api_version,
            resource: &attrs.resource,
            subresource: &attrs.subresource,
            namespace: &attrs.namespace,
            name: &attrs.name,
            path: &attrs.path,
        }
    }

    /// Replaces `out` with the key.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.encode_request_into(out);
        user(out, self.user);
    }

    /// Replaces `out` with the key up to the user's part, which follows it last: a caller that
    /// keeps [`encode_user`]'s bytes for a user it sees again appends them.
    pub fn encode_request_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(u8::from(self.resource_request));
        if self.resource_request {
            // Name and resource first: they usually tell two requests of one client apart (the
            // HPA's reads differ by metric, the resource), so a comparison stops early.
            let fields = [
                self.name,
                self.resource,
                self.namespace,
                self.verb,
                self.api_group,
                self.api_version,
                self.subresource,
            ];
            for field in fields {
                text(out, field);
            }
        } else {
            text(out, self.path);
            text(out, self.verb);
        }
    }

    /// The request part and the user part.
    pub fn encode_parts(&self) -> (Vec<u8>, Vec<u8>) {
        let (mut request, mut user) = (Vec::with_capacity(128), Vec::with_capacity(256));
        self.encode_request_into(&mut request);
        encode_user(&mut user, self.user);
        (request, user)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode_into(&mut out);
        out
    }
}

/// Replaces `out` with the user's part of a key (see [`KeyParts::encode_request_into`]).
pub fn encode_user(out: &mut Vec<u8>, info: &UserInfo) {
    out.clear();
    user(out, info);
}

/// `attrs`' request part and user part.
#[cfg(test)]
pub fn split(attrs: &Attributes) -> (Vec<u8>, Vec<u8>) {
    KeyParts::of(attrs).encode_parts()
}

fn user(out: &mut Vec<u8>, user: &UserInfo) {
    text(out, &user.name);
    text(out, &user.uid);
    list(out, &user.groups);
    extra(out, &user.extra);
}

fn extra(out: &mut Vec<u8>, extra: &BTreeMap<String, Vec<String>>) {
    count(out, extra.len());
    for (key, values) in extra {
        text(out, key);
        list(out, values);
    }
}

fn list(out: &mut Vec<u8>, items: &[String]) {
    count(out, items.len());
    for item in items {
        text(out, item);
    }
}

fn text(out: &mut Vec<u8>, text: &str) {
    count(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// Lengths and counts as unsigned LEB128 (7 bits a byte, the high bit set on all but the last):
/// prefix-free, so no two field sequences share an encoding, and one byte for the short texts
/// requests carry.
fn count(out: &mut Vec<u8>, n: usize) {
    let mut n = n as u64;
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Attributes {
        Attributes {
            user: UserInfo {
                name: "u".into(),
                uid: "1".into(),
                groups: vec!["g1".into(), "g2".into()],
                extra: BTreeMap::from([("scopes".into(), vec!["a".into(), "b".into()])]),
            },
            verb: "list".into(),
            resource_request: true,
            api_group: "external.metrics.k8s.io".into(),
            api_version: "v1beta1".into(),
            resource: "m".into(),
            subresource: String::new(),
            namespace: "default".into(),
            name: String::new(),
            path: "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m".into(),
        }
    }

    #[test]
    fn equal_attributes_have_equal_keys_and_every_field_counts() {
        let a = attrs();
        let key = KeyParts::of(&a).encode();
        assert_eq!(KeyParts::of(&a.clone()).encode(), key);
        let changed: Vec<Attributes> = vec![
            Attributes { verb: "get".into(), ..a.clone() },
            Attributes { resource_request: false, ..a.clone() },
            Attributes { api_group: "x".into(), ..a.clone() },
            Attributes { api_version: "x".into(), ..a.clone() },
            Attributes { resource: "x".into(), ..a.clone() },
            Attributes { subresource: "x".into(), ..a.clone() },
            Attributes { namespace: "x".into(), ..a.clone() },
            Attributes { name: "x".into(), ..a.clone() },
            Attributes { user: UserInfo { name: "v".into(), ..a.user.clone() }, ..a.clone() },
            Attributes { user: UserInfo { uid: "2".into(), ..a.user.clone() }, ..a.clone() },
            Attributes { user: UserInfo { groups: vec!["g1".into()], ..a.user.clone() }, ..a.clone() },
            Attributes { user: UserInfo { groups: vec!["g2".into(), "g1".into()], ..a.user.clone() }, ..a.clone() },
            Attributes { user: UserInfo { extra: BTreeMap::new(), ..a.user.clone() }, ..a.clone() },
            Attributes {
                user: UserInfo { extra: BTreeMap::from([("scopes".into(), vec!["a".into()])]), ..a.user.clone() },
                ..a.clone()
            },
        ];
        for other in &changed {
            assert_ne!(KeyParts::of(other).encode(), key, "{other:?}");
        }
        // A resource request's review carries no path.
        let elsewhere =
            Attributes { path: "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m/".into(), ..a.clone() };
        assert_eq!(KeyParts::of(&elsewhere).encode(), key);
    }

    #[test]
    fn a_non_resource_key_holds_the_path_verb_and_user_only() {
        let a = Attributes {
            resource_request: false,
            api_group: String::new(),
            api_version: String::new(),
            resource: String::new(),
            namespace: String::new(),
            path: "/openapi/v2".into(),
            verb: "get".into(),
            ..attrs()
        };
        let key = KeyParts::of(&a).encode();
        for other in [
            Attributes { path: "/openapi/v3".into(), ..a.clone() },
            Attributes { verb: "head".into(), ..a.clone() },
            Attributes { user: UserInfo { name: "v".into(), ..a.user.clone() }, ..a.clone() },
            Attributes { resource_request: true, ..a.clone() },
        ] {
            assert_ne!(KeyParts::of(&other).encode(), key, "{other:?}");
        }
        // Its review carries no resource fields.
        let with_resource = Attributes { resource: "m".into(), namespace: "default".into(), ..a.clone() };
        assert_eq!(KeyParts::of(&with_resource).encode(), key);
    }

    #[test]
    fn counts_are_leb128() {
        for (n, bytes) in [(0usize, vec![0u8]), (127, vec![0x7f]), (128, vec![0x80, 0x01]), (300, vec![0xac, 0x02])] {
            let mut out = Vec::new();
            count(&mut out, n);
            assert_eq!(out, bytes, "{n}");
        }
        let long = "x".repeat(200);
        let a = Attributes { resource: long.clone(), ..attrs() };
        let b = Attributes { resource: long[..199].into(), subresource: "x".into(), ..attrs() };
        assert_ne!(KeyParts::of(&a).encode(), KeyParts::of(&b).encode());
    }

    #[test]
    fn texts_cannot_shift_between_fields() {
        let a = Attributes { resource: "ab".into(), subresource: String::new(), ..attrs() };
        let b = Attributes { resource: "a".into(), subresource: "b".into(), ..attrs() };
        assert_ne!(KeyParts::of(&a).encode(), KeyParts::of(&b).encode());
        let one = UserInfo { groups: vec!["ab".into()], ..Default::default() };
        let two = UserInfo { groups: vec!["a".into(), "b".into()], ..Default::default() };
        let (x, y) = (Attributes { user: one, ..attrs() }, Attributes { user: two, ..attrs() });
        assert_ne!(KeyParts::of(&x).encode(), KeyParts::of(&y).encode());
    }

    #[test]
    fn encoding_into_a_used_buffer_replaces_it() {
        let a = attrs();
        let mut buf = b"leftover bytes from another key".to_vec();
        KeyParts::of(&a).encode_into(&mut buf);
        assert_eq!(buf, KeyParts::of(&a).encode());
    }

    #[test]
    fn the_key_is_the_request_part_then_the_user_part() {
        let a = attrs();
        let (mut request, mut user) = (b"old".to_vec(), b"old".to_vec());
        KeyParts::of(&a).encode_request_into(&mut request);
        encode_user(&mut user, &a.user);
        assert_eq!([request, user].concat(), KeyParts::of(&a).encode());
    }
}
