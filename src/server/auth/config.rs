//! The `kube-system/extension-apiserver-authentication` ConfigMap that kube-apiserver writes for
//! extension API servers: client CA, front-proxy CA and the request-header names.

use k8s_openapi::api::core::v1::ConfigMap;

use super::AuthError;

pub const CONFIGMAP_NAMESPACE: &str = "kube-system";
pub const CONFIGMAP_NAME: &str = "extension-apiserver-authentication";

const CLIENT_CA: &str = "client-ca-file";
const REQUESTHEADER_CA: &str = "requestheader-client-ca-file";
const ALLOWED_NAMES: &str = "requestheader-allowed-names";
const USERNAME_HEADERS: &str = "requestheader-username-headers";
const GROUP_HEADERS: &str = "requestheader-group-headers";
const EXTRA_PREFIXES: &str = "requestheader-extra-headers-prefix";
const UID_HEADERS: &str = "requestheader-uid-headers";

/// Who may authenticate how: the CAs and the front-proxy header names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthenticationConfig {
    pub client_ca_pem: Option<String>,
    pub requestheader_ca_pem: Option<String>,
    /// Front-proxy certificate common names accepted; empty accepts any the CA signed.
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_prefixes: Vec<String>,
    pub uid_headers: Vec<String>,
}

impl AuthenticationConfig {
    /// Reads the ConfigMap; list values are JSON arrays inside strings (`["X-Remote-User"]`).
    /// Missing header lists get kube-apiserver's usual values (`X-Remote-User`, `X-Remote-Group`,
    /// `X-Remote-Extra-`); a missing uid list means no uid header.
    pub fn from_configmap(cm: &ConfigMap) -> Result<Self, AuthError> {
        let value = |key: &str| cm.data.as_ref().and_then(|d| d.get(key)).filter(|v| !v.trim().is_empty());
        let list = |key: &str, default: &[&str]| match value(key) {
            Some(text) => json_strings(key, text),
            None => Ok(default.iter().map(|s| s.to_string()).collect()),
        };
        Ok(AuthenticationConfig {
            client_ca_pem: value(CLIENT_CA).cloned(),
            requestheader_ca_pem: value(REQUESTHEADER_CA).cloned(),
            allowed_names: list(ALLOWED_NAMES, &[])?,
            username_headers: list(USERNAME_HEADERS, &["X-Remote-User"])?,
            group_headers: list(GROUP_HEADERS, &["X-Remote-Group"])?,
            extra_prefixes: list(EXTRA_PREFIXES, &["X-Remote-Extra-"])?,
            uid_headers: list(UID_HEADERS, &[])?,
        })
    }
}

/// Go's `deserializeStrings`: a JSON array of strings.
fn json_strings(key: &str, text: &str) -> Result<Vec<String>, AuthError> {
    serde_json::from_str(text).map_err(|e| AuthError::InvalidConfigMap {
        key: key.to_string(),
        reason: format!("expected a JSON array of strings such as [\"X-Remote-User\"], got {text:?}: {e}"),
    })
}
