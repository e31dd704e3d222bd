//! Certificate-based authenticators: the front-proxy (request-header) one kube-aggregator uses,
//! and plain client certificates. Both follow k8s.io/apiserver: a certificate that does not chain
//! to the authenticator's CA, or a front-proxy CN outside `allowed_names`, is an error (401 unless
//! a later authenticator succeeds); front-proxy headers on a request without such a certificate are
//! never read.

use std::sync::Arc;

use http::HeaderMap;
use percent_encoding::percent_decode_str;

use super::{AuthError, AuthenticationConfig, PeerIdentity, UserInfo};

/// `headerrequest` behind `x509request.NewDynamicCAVerifier`, up to reading the headers: whether
/// the front-proxy authenticator applies to this peer (`Ok(false)`: not a front-proxy request;
/// `Err`: a certificate the authenticator must reject).
pub(super) fn front_proxy_applies(config: &AuthenticationConfig, peer: &PeerIdentity) -> Result<bool, AuthError> {
    if config.requestheader_ca_pem.is_none() || !peer.presented() {
        return Ok(false);
    }
    if !peer.requestheader_ca {
        return Err(AuthError::UnknownAuthority { ca: "requestheader" });
    }
    let common_name = peer.common_name.as_deref().unwrap_or_default();
    if !config.allowed_names.is_empty() && !config.allowed_names.iter().any(|n| n == common_name) {
        return Err(AuthError::FrontProxyNotAllowed { common_name: common_name.to_string() });
    }
    Ok(true)
}

/// One connection's last front-proxy user with the headers it was read from. kube-aggregator
/// sends the same user on a connection request after request; reading the headers again builds a
/// `UserInfo` (strings, group list, extra map), and even telling which headers are the front
/// proxy's compares every header name with every configured name and prefix. So the memo keeps
/// the request's whole sequence of header names, each with its value when it is one the front
/// proxy reads: a request with the same names in the same order reads the same headers, and has
/// the same user when those values are equal (other headers' values may differ). Any other
/// request reads its headers again. Only `user_from_headers`' result is remembered: the
/// certificate checks run on every request.
#[derive(Default)]
pub struct FrontProxyMemo(parking_lot::Mutex<Option<Remembered>>);

struct Remembered {
    /// The config the headers were read under (held, so the pointer comparison cannot be fooled
    /// by a new config at a freed one's address).
    config: Arc<AuthenticationConfig>,
    readers: Readers,
    /// Every header of the request in the map's order: its name, and its value when the front
    /// proxy reads it.
    headers: Vec<(http::HeaderName, Option<http::HeaderValue>)>,
    user: Arc<UserInfo>,
}

/// The config's header names and extra prefixes lower-cased, as `http` keeps header names.
struct Readers {
    names: Vec<String>,
    prefixes: Vec<String>,
}

impl Readers {
    fn of(config: &AuthenticationConfig) -> Self {
        let lower = |v: &[String]| v.iter().map(|n| n.to_ascii_lowercase()).collect::<Vec<_>>();
        let mut names = lower(&config.username_headers);
        names.extend(lower(&config.uid_headers));
        names.extend(lower(&config.group_headers));
        Readers { names, prefixes: lower(&config.extra_prefixes) }
    }

    /// Whether `user_from_headers` reads this header: a username, uid or group header, or an extra.
    fn reads(&self, name: &http::HeaderName) -> bool {
        let name = name.as_str();
        self.names.iter().any(|n| n == name) || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

impl FrontProxyMemo {
    /// The remembered user when the config is the same and the request has the remembered header
    /// names in the same order with the same values where the front proxy reads them.
    pub(super) fn recall(&self, config: &Arc<AuthenticationConfig>, headers: &HeaderMap) -> Option<Arc<UserInfo>> {
        let slot = self.0.lock();
        let r = slot.as_ref().filter(|r| Arc::ptr_eq(&r.config, config))?;
        if headers.len() != r.headers.len() {
            return None;
        }
        for ((name, value), (known, read)) in headers.iter().zip(&r.headers) {
            if name != known || read.as_ref().is_some_and(|v| v != value) {
                return None;
            }
        }
        Some(r.user.clone())
    }

    pub(super) fn remember(&self, config: &Arc<AuthenticationConfig>, headers: &HeaderMap, user: Arc<UserInfo>) {
        let mut slot = self.0.lock();
        let readers = match slot.take() {
            Some(r) if Arc::ptr_eq(&r.config, config) => r.readers,
            _ => Readers::of(config),
        };
        let headers =
            headers.iter().map(|(name, value)| (name.clone(), readers.reads(name).then(|| value.clone()))).collect();
        *slot = Some(Remembered { config: config.clone(), readers, headers, user });
    }
}

/// `x509.CommonNameUserConversion`: user = CN, groups = O; no CN authenticates nobody.
pub(super) fn client_certificate(
    config: &AuthenticationConfig,
    peer: &PeerIdentity,
) -> Result<Option<UserInfo>, AuthError> {
    if config.client_ca_pem.is_none() || !peer.presented() {
        return Ok(None);
    }
    if !peer.client_ca {
        return Err(AuthError::UnknownAuthority { ca: "client" });
    }
    let Some(name) = peer.common_name.clone().filter(|cn| !cn.is_empty()) else { return Ok(None) };
    Ok(Some(UserInfo { name, groups: peer.organizations.clone(), ..Default::default() }))
}

/// The user the front proxy vouches for; none without a non-empty username header.
pub(super) fn user_from_headers(config: &AuthenticationConfig, headers: &HeaderMap) -> Option<UserInfo> {
    let name = first_value(headers, &config.username_headers)?;
    Some(UserInfo {
        name,
        uid: first_value(headers, &config.uid_headers).unwrap_or_default(),
        groups: all_values(headers, &config.group_headers),
        extra: extras(headers, &config.extra_prefixes),
    })
}

/// Go's `headerValue`: the first value of the first listed header that has a non-empty one.
fn first_value(headers: &HeaderMap, names: &[String]) -> Option<String> {
    names.iter().filter_map(|name| headers.get(name.as_str())).map(text).find(|v| !v.is_empty())
}

/// Go's `allHeaderValues`: every non-empty value of every listed header, unsplit.
fn all_values(headers: &HeaderMap, names: &[String]) -> Vec<String> {
    names.iter().flat_map(|name| headers.get_all(name.as_str()).iter().map(text)).filter(|v| !v.is_empty()).collect()
}

/// `<prefix><key>: value` headers; key lower-cased, then percent-decoded. Header names are
/// lower case already (`http` normalises them), so only the prefixes need case folding.
fn extras(headers: &HeaderMap, prefixes: &[String]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut extra = std::collections::BTreeMap::new();
    for (name, value) in headers {
        let key = prefixes.iter().find_map(|p| strip_prefix_ignore_case(name.as_str(), p));
        if let Some(key) = key {
            extra.entry(unescape_extra_key(key)).or_insert_with(Vec::new).push(text(value));
        }
    }
    extra
}

fn strip_prefix_ignore_case<'a>(lower_name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = lower_name.as_bytes().get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix.as_bytes()) {
        return None;
    }
    lower_name.get(prefix.len()..)
}

/// Go's `url.PathUnescape`, keeping the key as sent when an escape is malformed.
fn unescape_extra_key(key: &str) -> String {
    if !escapes_well_formed(key) {
        return key.to_string();
    }
    percent_decode_str(key).decode_utf8_lossy().into_owned()
}

fn escapes_well_formed(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

/// The value as text, invalid UTF-8 replaced (validation first: most values are valid).
fn text(value: &http::HeaderValue) -> String {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
    }
}
