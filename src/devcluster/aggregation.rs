//! The aggregation layer, as kube-aggregator runs it inside kube-apiserver: the front-proxy identity
//! and `kube-system/extension-apiserver-authentication` (trust.rs), the proxy of
//! `/apis/<group>/<version>/…` to the Service behind an APIService (proxy.rs, headers.rs), the
//! availability controller that sets the APIService `Available` condition (available.rs,
//! conditions.rs), and the remote groups added to `/apis` discovery while available (remote.rs).

mod available;
mod conditions;
mod errors;
mod headers;
mod proxy;
mod remote;
mod trust;

pub use available::run;
pub use proxy::proxy;
pub use remote::discovery;
pub use trust::publish;

use std::collections::HashMap;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::Cluster;
use super::backends::ClientIdentity;

/// The APIService resource in the store.
const GROUP: &str = "apiregistration.k8s.io";
const RESOURCE: &str = "apiservices";
/// `spec.service.port` when absent (kube-aggregator's defaulting).
const DEFAULT_PORT: i64 = 443;

/// State of the aggregation layer shared by the proxy, the availability controller and discovery.
pub struct Aggregator {
    front_proxy_ca_pem: String,
    identity: ClientIdentity,
    /// One proxy client per APIService, rebuilt when its TLS settings or backend address change.
    clients: Mutex<HashMap<String, proxy::CachedClient>>,
    /// The availability probe's client (no server verification, as kube-aggregator's).
    probe: Mutex<Option<reqwest::Client>>,
    /// Resources of each available APIService's group/version, fetched from the backend.
    discovered: RwLock<HashMap<String, remote::Discovered>>,
}

impl Aggregator {
    /// `front_proxy_ca_pem` signs `identity`, the client certificate (CN `front-proxy-client`) that
    /// backends trust through `requestheader-client-ca-file`.
    pub fn new(front_proxy_ca_pem: String, identity: ClientIdentity) -> Self {
        Aggregator {
            front_proxy_ca_pem,
            identity,
            clients: Mutex::new(HashMap::new()),
            probe: Mutex::new(None),
            discovered: RwLock::new(HashMap::new()),
        }
    }

    pub fn front_proxy_ca_pem(&self) -> &str {
        &self.front_proxy_ca_pem
    }

    /// PEM certificate followed by its key, the form `reqwest::Identity::from_pem` reads.
    pub fn front_proxy_identity_pem(&self) -> String {
        format!("{}{}", self.identity.cert_pem, self.identity.key_pem)
    }

    /// Drops what was cached for an APIService that changed or went away.
    fn forget(&self, name: &str) {
        self.clients.lock().remove(name);
        self.discovered.write().remove(name);
    }
}

/// The parts of an APIService the aggregation layer reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiService {
    pub name: String,
    pub group: String,
    pub version: String,
    pub service: Option<ServiceRef>,
    /// `spec.caBundle` as stored (base64 of PEM).
    pub ca_bundle: Value,
    pub insecure: bool,
    pub group_priority: i64,
    pub version_priority: i64,
    /// `Available` condition is True.
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    /// As written; out-of-range ports fail resolution rather than wrap.
    pub port: i64,
}

impl ApiService {
    pub fn from_json(obj: &Value) -> Self {
        let spec = &obj["spec"];
        let service = spec["service"].as_object().map(|s| ServiceRef {
            namespace: s.get("namespace").and_then(Value::as_str).unwrap_or_default().to_string(),
            name: s.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            port: s.get("port").and_then(Value::as_i64).unwrap_or(DEFAULT_PORT),
        });
        let available = obj["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Available" && c["status"] == "True");
        ApiService {
            name: obj["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            group: spec["group"].as_str().unwrap_or_default().to_string(),
            version: spec["version"].as_str().unwrap_or_default().to_string(),
            service,
            ca_bundle: spec["caBundle"].clone(),
            insecure: spec["insecureSkipTLSVerify"].as_bool().unwrap_or(false),
            group_priority: spec["groupPriorityMinimum"].as_i64().unwrap_or(0),
            version_priority: spec["versionPriority"].as_i64().unwrap_or(0),
            available,
        }
    }

    /// `/apis/<group>/<version>`, the path the availability check asks for.
    pub fn discovery_path(&self) -> String {
        format!("/apis/{}/{}", self.group, self.version)
    }
}

impl Cluster {
    /// The service-backed APIService that serves `path` (`/apis/<group>/<version>[/…]`), if any:
    /// such requests are proxied rather than served locally.
    pub fn proxied_api_service(&self, path: &str) -> Option<ApiService> {
        let mut parts = path.strip_prefix("/apis/")?.splitn(3, '/');
        let (group, version) = (parts.next()?, parts.next()?);
        if group.is_empty() || version.is_empty() {
            return None;
        }
        let api = self.api_service(&format!("{version}.{group}"))?;
        api.service.is_some().then_some(api)
    }

    fn api_service(&self, name: &str) -> Option<ApiService> {
        let rt = self.registry.lookup(GROUP, "v1", RESOURCE)?;
        self.op_get(&rt, "", name).ok().map(|obj| ApiService::from_json(&obj))
    }

    fn api_services(&self) -> Vec<ApiService> {
        let Some(rt) = self.registry.lookup(GROUP, "v1", RESOURCE) else { return Vec::new() };
        let (_, objects) = self.store.snapshot(&rt.table);
        objects.values().map(|s| ApiService::from_json(&s.value())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_service_fields_and_defaults() {
        let api = ApiService::from_json(&json!({
            "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
            "spec": {"group": "external.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                     "versionPriority": 100, "service": {"namespace": "datadog", "name": "api"}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]}
        }));
        assert_eq!(api.service, Some(ServiceRef { namespace: "datadog".into(), name: "api".into(), port: 443 }));
        assert!(api.available && !api.insecure);
        assert_eq!(api.discovery_path(), "/apis/external.metrics.k8s.io/v1beta1");
        let local = ApiService::from_json(&json!({"metadata": {"name": "v1.apps"}, "spec": {"group": "apps"}}));
        assert!(local.service.is_none() && !local.available);
        assert!(ApiService::from_json(&json!("garbage")).name.is_empty());
    }
}
