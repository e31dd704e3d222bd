//! Headers and query of a proxied request, as kube-aggregator builds them: the caller's headers
//! without credentials (`Authorization`, `Impersonate-*`), hop-by-hop headers or caller-supplied
//! `X-Remote-*`; then client-go's `SetAuthProxyHeaders` (`X-Remote-User`, `X-Remote-Uid`,
//! `X-Remote-Group`, `X-Remote-Extra-<escaped key>`) and the reverse proxy's `X-Forwarded-*`.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::apimachinery::authorization::UserInfo;

/// Hop-by-hop headers (RFC 7230 §6.1) a proxy never forwards, in either direction.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the reverse proxy records about the original request.
pub struct Forwarded<'a> {
    /// The caller's address (devcluster listens on loopback only).
    pub client_ip: &'a str,
    /// The `Host` (or HTTP/2 authority) the caller used.
    pub host: &'a str,
    /// The request path without its query.
    pub uri: &'a str,
}

/// The headers sent to the backend for a request made by `user`. `host` is the backend address
/// dialled (kube-aggregator's request URL host).
pub fn proxied_request(incoming: &HeaderMap, user: &UserInfo, forwarded: &Forwarded, host: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        if forwards(name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(host) {
        out.insert(header::HOST, v);
    }
    let prior = incoming.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let chain = if prior.is_empty() {
        forwarded.client_ip.to_string()
    } else {
        format!("{}, {}", prior.join(", "), forwarded.client_ip)
    };
    set(&mut out, "x-forwarded-for", &chain);
    set(&mut out, "x-forwarded-host", forwarded.host);
    set(&mut out, "x-forwarded-proto", "https");
    set(&mut out, "x-forwarded-uri", forwarded.uri);
    if !out.contains_key("audit-id") {
        set(&mut out, "audit-id", &uuid::Uuid::new_v4().to_string());
    }
    set_auth_proxy_headers(&mut out, &user.name, &user.uid, &user.groups, &user.extra);
    out
}

fn forwards(name: &str) -> bool {
    !(HOP_BY_HOP.contains(&name)
        || matches!(name, "host" | "authorization" | "content-length" | "x-forwarded-for")
        || name.starts_with("impersonate-")
        || name.starts_with("x-remote-"))
}

/// client-go's `SetAuthProxyHeaders`: replaces any `X-Remote-*` with the given identity.
pub fn set_auth_proxy_headers(
    headers: &mut HeaderMap,
    user: &str,
    uid: &str,
    groups: &[String],
    extra: &BTreeMap<String, Vec<String>>,
) {
    let stale: Vec<HeaderName> = headers.keys().filter(|k| k.as_str().starts_with("x-remote-")).cloned().collect();
    for name in stale {
        headers.remove(name);
    }
    set(headers, "x-remote-user", user);
    if !uid.is_empty() {
        set(headers, "x-remote-uid", uid);
    }
    for group in groups {
        append(headers, "x-remote-group", group);
    }
    for (key, values) in extra {
        let name = format!("x-remote-extra-{}", header_key_escape(key));
        for value in values {
            append(headers, &name, value);
        }
    }
}

/// client-go's `headerKeyEscape`: bytes that are not legal in a header name, and `%`, become `%XX`
/// (the receiver unescapes them after lower-casing).
pub fn header_key_escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if legal_header_byte(b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 7230 `tchar`.
fn legal_header_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Response headers returned to the caller: all but hop-by-hop ones and the length (the body is
/// streamed).
pub fn proxied_response(upstream: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Go's `url.Values.Encode()` of the parsed query, which kube-aggregator sends: keys sorted,
/// `url.QueryEscape` encoding. Empty when there is no query.
pub fn encode_query(raw: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into(), v.into())).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.iter().map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v))).collect::<Vec<_>>().join("&")
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        headers.insert(n, v);
    }
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        headers.append(n, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            append(&mut h, k, v);
        }
        h
    }

    fn all<'a>(h: &'a HeaderMap, name: &str) -> Vec<&'a str> {
        h.get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
    }

    #[test]
    fn caller_identity_replaces_credentials_and_forged_headers() {
        let user = UserInfo {
            name: "system:serviceaccount:kube-system:horizontal-pod-autoscaler".into(),
            uid: "4b1f".into(),
            groups: vec!["system:serviceaccounts".into(), "system:authenticated".into()],
            extra: BTreeMap::from([("authentication.kubernetes.io/credential-id".into(), vec!["JTI=abc".into()])]),
        };
        let h = incoming(&[
            ("Authorization", "Bearer secret"),
            ("Impersonate-User", "root"),
            ("X-Remote-User", "forged"),
            ("X-Remote-Group", "system:masters"),
            ("Accept", "application/vnd.kubernetes.protobuf, */*"),
            ("Connection", "keep-alive"),
            ("Host", "127.0.0.1:6443"),
            ("Audit-Id", "9596c4d7"),
        ]);
        let fwd = Forwarded { client_ip: "127.0.0.1", host: "127.0.0.1:6443", uri: "/apis/x/v1/namespaces/default/m" };
        let out = proxied_request(&h, &user, &fwd, "localhost:8443");
        assert!(out.get("authorization").is_none() && out.get("impersonate-user").is_none());
        assert!(out.get("connection").is_none());
        assert_eq!(all(&out, "x-remote-user"), [user.name.as_str()]);
        assert_eq!(all(&out, "x-remote-uid"), ["4b1f"]);
        assert_eq!(all(&out, "x-remote-group"), ["system:serviceaccounts", "system:authenticated"]);
        assert_eq!(all(&out, "x-remote-extra-authentication.kubernetes.io%2Fcredential-id"), ["JTI=abc"]);
        assert_eq!(all(&out, "accept"), ["application/vnd.kubernetes.protobuf, */*"]);
        assert_eq!(all(&out, "host"), ["localhost:8443"]);
        assert_eq!(all(&out, "audit-id"), ["9596c4d7"]);
        assert_eq!(all(&out, "x-forwarded-for"), ["127.0.0.1"]);
        assert_eq!(all(&out, "x-forwarded-host"), ["127.0.0.1:6443"]);
        assert_eq!(all(&out, "x-forwarded-proto"), ["https"]);
        assert_eq!(all(&out, "x-forwarded-uri"), ["/apis/x/v1/namespaces/default/m"]);
    }

    #[test]
    fn no_uid_header_without_uid_and_audit_id_is_generated() {
        let user = UserInfo { name: "admin".into(), ..Default::default() };
        let fwd = Forwarded { client_ip: "127.0.0.1", host: "h", uri: "/" };
        let out = proxied_request(&incoming(&[("X-Forwarded-For", "10.0.0.1")]), &user, &fwd, "h:1");
        assert!(out.get("x-remote-uid").is_none() && out.get("x-remote-group").is_none());
        assert_eq!(out["audit-id"].len(), 36);
        assert_eq!(all(&out, "x-forwarded-for"), ["10.0.0.1, 127.0.0.1"]);
    }

    #[test]
    fn extra_keys_are_escaped_like_client_go() {
        assert_eq!(header_key_escape("scopes.example.com/a b%"), "scopes.example.com%2Fa%20b%25");
        assert_eq!(header_key_escape("plain-key_1"), "plain-key_1");
    }

    #[test]
    fn query_is_reencoded_sorted() {
        assert_eq!(encode_query(Some("labelSelector=app%3Dweb")), "labelSelector=app%3Dweb");
        assert_eq!(
            encode_query(Some("watch=1&labelSelector=a in (x, y)&b=~*")),
            "b=~%2A&labelSelector=a+in+%28x%2C+y%29&watch=1"
        );
        assert_eq!(encode_query(None), "");
    }

    #[test]
    fn response_keeps_content_type_and_warnings_only_end_to_end() {
        let up = incoming(&[
            ("Content-Type", "application/json"),
            ("Warning", "299 - \"x\""),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "12"),
        ]);
        let out = proxied_response(&up);
        assert_eq!(all(&out, "content-type"), ["application/json"]);
        assert_eq!(all(&out, "warning"), ["299 - \"x\""]);
        assert!(out.get("transfer-encoding").is_none() && out.get("content-length").is_none());
    }
}
