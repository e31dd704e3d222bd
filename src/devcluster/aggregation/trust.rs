//! What kube-apiserver publishes for extension API servers at start: the ConfigMap
//! `kube-system/extension-apiserver-authentication` (written by its
//! ClusterAuthenticationTrustController from the `--client-ca-file` and `--requestheader-*` flags a
//! kubeadm cluster sets) and the bootstrap Role that lets servers read it.

use serde_json::{Value, json};

use super::super::Cluster;
use super::super::ops::WriteOptions;

pub const NAMESPACE: &str = "kube-system";
pub const CONFIGMAP: &str = "extension-apiserver-authentication";
const READER_ROLE: &str = "extension-apiserver-authentication-reader";

/// Creates the ConfigMap and the reader Role (and its bootstrap RoleBinding).
pub fn publish(cluster: &Cluster, client_ca_pem: &str) -> anyhow::Result<()> {
    let opts = WriteOptions { field_manager: "kube-apiserver".into(), ..Default::default() };
    let create = |group: &str, plural: &str, obj: Value| -> anyhow::Result<()> {
        let rt = cluster
            .registry
            .lookup(group, "v1", plural)
            .ok_or_else(|| anyhow::anyhow!("{plural}.{group} is not served"))?;
        cluster
            .op_create(&rt, NAMESPACE, obj, &opts)
            .map_err(|e| anyhow::anyhow!("cannot create {plural} in {NAMESPACE}: {}", e.message))?;
        Ok(())
    };
    create("", "configmaps", configmap(client_ca_pem, cluster.aggregator.front_proxy_ca_pem()))?;
    create("rbac.authorization.k8s.io", "roles", reader_role())?;
    create("rbac.authorization.k8s.io", "rolebindings", reader_binding())
}

/// The ConfigMap's content: string lists are JSON arrays, as Go's `jsonSerializeStringSlice`
/// writes them; the uid header list is present and empty (v1.33 writes it; kubeadm sets no
/// `--requestheader-uid-headers`).
pub fn configmap(client_ca_pem: &str, front_proxy_ca_pem: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
        "data": {
            "client-ca-file": client_ca_pem,
            "requestheader-allowed-names": "[\"front-proxy-client\"]",
            "requestheader-client-ca-file": front_proxy_ca_pem,
            "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]",
            "requestheader-group-headers": "[\"X-Remote-Group\"]",
            "requestheader-uid-headers": "[]",
            "requestheader-username-headers": "[\"X-Remote-User\"]"
        }
    })
}

fn bootstrap_meta(name: &str) -> Value {
    json!({
        "name": name, "namespace": NAMESPACE,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    })
}

fn reader_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": bootstrap_meta(READER_ROLE),
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [CONFIGMAP],
                   "verbs": ["get", "list", "watch"]}]
    })
}

fn reader_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": bootstrap_meta(&format!("system::{READER_ROLE}")),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": READER_ROLE},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-controller-manager"},
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-scheduler"}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::auth::AuthenticationConfig;

    #[test]
    fn our_servers_parser_reads_what_is_published() {
        let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(configmap("CLIENT", "PROXY")).unwrap();
        let parsed = AuthenticationConfig::from_configmap(&cm).unwrap();
        assert_eq!(parsed.client_ca_pem.as_deref(), Some("CLIENT"));
        assert_eq!(parsed.requestheader_ca_pem.as_deref(), Some("PROXY"));
        assert_eq!(parsed.allowed_names, ["front-proxy-client"]);
        assert_eq!(parsed.username_headers, ["X-Remote-User"]);
        assert_eq!(parsed.group_headers, ["X-Remote-Group"]);
        assert_eq!(parsed.extra_prefixes, ["X-Remote-Extra-"]);
        assert!(parsed.uid_headers.is_empty());
    }
}
