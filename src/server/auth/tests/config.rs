//! The ConfigMap format kube-apiserver writes: PEM strings and JSON arrays inside strings.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::super::{AuthError, AuthenticationConfig};

fn configmap(pairs: &[(&str, &str)]) -> ConfigMap {
    let data: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    ConfigMap { data: Some(data), ..Default::default() }
}

#[test]
fn parses_what_kube_apiserver_writes() {
    let cm = configmap(&[
        ("client-ca-file", "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n"),
        ("requestheader-client-ca-file", "-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n"),
        ("requestheader-allowed-names", r#"["front-proxy-client","aggregator"]"#),
        ("requestheader-username-headers", r#"["X-Remote-User"]"#),
        ("requestheader-group-headers", r#"["X-Remote-Group","X-Other-Group"]"#),
        ("requestheader-extra-headers-prefix", r#"["X-Remote-Extra-"]"#),
        ("requestheader-uid-headers", r#"["X-Remote-Uid"]"#),
    ]);
    let config = AuthenticationConfig::from_configmap(&cm).unwrap();
    assert_eq!(
        config.client_ca_pem.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n")
    );
    assert_eq!(
        config.requestheader_ca_pem.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n")
    );
    assert_eq!(config.allowed_names, ["front-proxy-client", "aggregator"]);
    assert_eq!(config.username_headers, ["X-Remote-User"]);
    assert_eq!(config.group_headers, ["X-Remote-Group", "X-Other-Group"]);
    assert_eq!(config.extra_prefixes, ["X-Remote-Extra-"]);
    assert_eq!(config.uid_headers, ["X-Remote-Uid"]);
}

#[test]
fn missing_keys_get_the_usual_header_names() {
    let config = AuthenticationConfig::from_configmap(&configmap(&[("client-ca-file", "pem")])).unwrap();
    assert_eq!(config.client_ca_pem.as_deref(), Some("pem"));
    assert_eq!(config.requestheader_ca_pem, None);
    assert!(config.allowed_names.is_empty());
    assert_eq!(config.username_headers, ["X-Remote-User"]);
    assert_eq!(config.group_headers, ["X-Remote-Group"]);
    assert_eq!(config.extra_prefixes, ["X-Remote-Extra-"]);
    assert!(config.uid_headers.is_empty());
    assert_eq!(AuthenticationConfig::from_configmap(&ConfigMap::default()).unwrap().client_ca_pem, None);
}

#[test]
fn a_list_that_is_not_json_names_the_key() {
    let err =
        AuthenticationConfig::from_configmap(&configmap(&[("requestheader-allowed-names", "front-proxy-client")]))
            .unwrap_err();
    let AuthError::InvalidConfigMap { key, reason } = &err else { panic!("unexpected {err:?}") };
    assert_eq!(key, "requestheader-allowed-names");
    assert!(reason.contains("JSON array"), "{reason}");
    assert!(
        err.to_string().starts_with(
            "ConfigMap kube-system/extension-apiserver-authentication key \"requestheader-allowed-names\""
        )
    );
}
