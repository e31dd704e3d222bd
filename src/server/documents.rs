//! The constant documents the server serves: discovery (never empty, never changing with load —
//! DESIGN.md §6) and the OpenAPI documents from `openapi/`, each with a strong ETag so the
//! aggregator's periodic fetches are cheap (`If-None-Match` → 304).

use std::sync::LazyLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::external_metrics::{GROUP, GROUP_VERSION, VERSION};

/// A response body with its ETag.
pub struct Document {
    pub body: String,
    pub etag: String,
}

impl Document {
    fn new(body: String) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02X}")).collect();
        Document { body, etag: format!("\"{hex}\"") }
    }

    fn json(v: &Value) -> Self {
        Self::new(v.to_string())
    }
}

const OPENAPI_V2: &str = include_str!("../../openapi/v2.json");
const OPENAPI_V3_GV: &str = include_str!("../../openapi/v3/apis/external.metrics.k8s.io/v1beta1.json");

pub static V2: LazyLock<Document> = LazyLock::new(|| Document::new(OPENAPI_V2.to_string()));
pub static V3_GROUP_VERSION: LazyLock<Document> = LazyLock::new(|| Document::new(OPENAPI_V3_GV.to_string()));
pub static V3_INDEX: LazyLock<Document> = LazyLock::new(|| {
    let hash = V3_GROUP_VERSION.etag.trim_matches('"').to_string();
    Document::json(&json!({"paths": {
        format!("apis/{GROUP_VERSION}"): {"serverRelativeURL": format!("/openapi/v3/apis/{GROUP_VERSION}?hash={hash}")}
    }}))
});

fn version_entry() -> Value {
    json!({"groupVersion": GROUP_VERSION, "version": VERSION})
}

pub static API_GROUP_LIST: LazyLock<Document> = LazyLock::new(|| {
    Document::json(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": GROUP, "versions": [version_entry()], "preferredVersion": version_entry()}
    ]}))
});

pub static API_GROUP: LazyLock<Document> = LazyLock::new(|| {
    Document::json(
        &json!({"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [version_entry()], "preferredVersion": version_entry()}),
    )
});

/// One constant entry: metric names are open-ended (`datadogmetric@ns:name`, autogen names), so
/// discovery advertises the kind once instead of listing metrics (an empty list breaks clients).
/// Only `get`: namespace deletion and `kubectl get all` skip it.
pub static API_RESOURCE_LIST: LazyLock<Document> = LazyLock::new(|| {
    Document::json(&json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": [
        {"name": "externalmetrics", "singularName": "", "namespaced": true, "kind": "ExternalMetricValueList", "verbs": ["get"]}
    ]}))
});

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "0", "gitVersion": concat!("v", env!("CARGO_PKG_VERSION")),
        "gitCommit": "", "gitTreeState": "", "buildDate": "", "goVersion": "", "compiler": "rustc", "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
    })
}
