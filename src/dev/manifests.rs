//! Reading the YAML manifests in `deploy/`, `apiservice/` and `deploy/examples/` and applying them
//! through the API, as `kubectl apply -f <dir>` would (files in name order).

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;

/// Values substituted for the `${NAME}` placeholders deploy/README.md documents.
pub struct Placeholders<'a> {
    pub ca_bundle: &'a str,
    pub cluster_name: &'a str,
}

/// The YAML documents of every `.yaml` file directly in `dir`, in file name order.
pub fn load_dir(dir: &Path, values: &Placeholders<'_>) -> anyhow::Result<Vec<Value>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read manifests in {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no .yaml manifests in {}", dir.display());
    }
    let mut docs = Vec::new();
    for file in files {
        docs.extend(load_file(&file, values)?);
    }
    Ok(docs)
}

fn load_file(file: &Path, values: &Placeholders<'_>) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let text = text.replace("${CA_BUNDLE}", values.ca_bundle).replace("${CLUSTER_NAME}", values.cluster_name);
    if let Some(at) = text.find("${") {
        let name: String = text[at..].chars().take_while(|c| *c != '}').collect();
        anyhow::bail!("{} has the placeholder {name}}} that nothing substitutes", file.display());
    }
    let docs = serde_saphyr::from_multiple::<Value>(&text)
        .map_err(|e| anyhow::anyhow!("cannot parse {}: {e}", file.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// `kind/namespace/name` of a manifest, for messages.
pub fn describe(doc: &Value) -> String {
    let kind = doc["kind"].as_str().unwrap_or("?");
    let name = doc["metadata"]["name"].as_str().unwrap_or("?");
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Server-side apply of one object with field manager `manager` (created or brought up to date).
pub async fn apply(client: &kube::Client, doc: &Value, manager: &str) -> anyhow::Result<()> {
    let what = describe(doc);
    let api_version = doc["apiVersion"].as_str().ok_or_else(|| anyhow::anyhow!("{what}: no apiVersion"))?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = doc["kind"].as_str().ok_or_else(|| anyhow::anyhow!("{what}: no kind"))?;
    let name = doc["metadata"]["name"].as_str().ok_or_else(|| anyhow::anyhow!("{what}: no metadata.name"))?;
    let (resource, caps) = pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .map_err(|e| anyhow::anyhow!("{what}: {api_version} {kind} is not served: {e}"))?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    let params = PatchParams::apply(manager).force();
    api.patch(name, &params, &Patch::Apply(doc)).await.map_err(|e| anyhow::anyhow!("apply {what}: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Placeholders<'static> {
        Placeholders { ca_bundle: "Q0E=", cluster_name: "dev" }
    }

    #[test]
    fn repository_manifests_load_with_every_placeholder_substituted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["deploy", "apiservice", "deploy/examples"] {
            let docs = load_dir(&root.join(dir), &values()).unwrap();
            assert!(!docs.is_empty(), "{dir}");
            assert!(docs.iter().all(|d| d["kind"].is_string() && d["metadata"]["name"].is_string()), "{dir}");
        }
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "kind: X\nmetadata: {name: ${WHO}}\n").unwrap();
        let err = load_dir(dir.path(), &values()).unwrap_err().to_string();
        assert!(err.contains("${WHO}") && err.contains("a.yaml"), "{err}");
    }

    #[test]
    fn describe_names_kind_namespace_and_name() {
        let doc = serde_json::json!({"kind": "Service", "metadata": {"name": "s", "namespace": "n"}});
        assert_eq!(describe(&doc), "Service n/s");
    }
}
