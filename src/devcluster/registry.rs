//! Which resources are served: the built-in table plus whatever CustomResourceDefinitions add.
//! Lookups by group/version/plural (or short name, kind) for request routing and discovery.

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

use super::builtin::{ResourceInfo, builtin_resources};
use super::schema::StructuralSchema;
use super::store::TableKey;

#[derive(Debug, Clone)]
pub struct Subresource {
    pub name: String,
    pub kind: String,
    pub group: String,
    pub version: String,
    pub verbs: Vec<String>,
}

/// Paths of a custom resource's scale subresource.
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub json_path: String,
    pub priority: i64,
}

/// What a CRD version adds beyond the discovery facts.
pub struct CustomInfo {
    pub crd_name: String,
    pub schema: Option<StructuralSchema>,
    pub raw_schema: Value,
    pub printer_columns: Vec<PrinterColumn>,
    pub scale: Option<ScalePaths>,
}

impl std::fmt::Debug for CustomInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomInfo").field("crd_name", &self.crd_name).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    /// Storage table shared by every version of this resource.
    pub table: TableKey,
    pub storage_version: String,
    pub custom: Option<Arc<CustomInfo>>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    pub fn is_storage_version(&self) -> bool {
        self.version == self.storage_version
    }

    pub fn from_builtin(info: &ResourceInfo, all: &[ResourceInfo]) -> Self {
        let storage_version = all
            .iter()
            .find(|o| o.storage && o.plural == info.plural && shares_storage(o.group, info.group))
            .map_or(info.version, |o| o.version);
        let storage_group = all
            .iter()
            .find(|o| o.storage && o.plural == info.plural && shares_storage(o.group, info.group))
            .map_or(info.group, |o| o.group);
        ResourceType {
            group: info.group.into(),
            version: info.version.into(),
            kind: info.kind.into(),
            list_kind: info.list_kind.into(),
            plural: info.plural.into(),
            singular: info.singular.into(),
            namespaced: info.namespaced,
            verbs: info.verbs.iter().map(|v| v.to_string()).collect(),
            short_names: info.short_names.iter().map(|v| v.to_string()).collect(),
            categories: info.categories.iter().map(|v| v.to_string()).collect(),
            subresources: info
                .subresources
                .iter()
                .map(|s| Subresource {
                    name: s.name.into(),
                    kind: s.kind.into(),
                    group: s.group.into(),
                    version: s.version.into(),
                    verbs: s.verbs.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
            table: Arc::from(format!("{storage_group}/{}", info.plural)),
            storage_version: storage_version.into(),
            custom: None,
        }
    }
}

/// core/v1 events and events.k8s.io/v1 events are one storage.
fn shares_storage(a: &str, b: &str) -> bool {
    a == b || (matches!(a, "" | "events.k8s.io") && matches!(b, "" | "events.k8s.io"))
}

#[derive(Default)]
struct Inner {
    builtin: Vec<Arc<ResourceType>>,
    custom: Vec<Arc<ResourceType>>,
}

pub struct Registry {
    inner: RwLock<Inner>,
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else { return (0, 0, 0) };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (rank, minor_str) = if tail.is_empty() {
        (3, "")
    } else if let Some(m) = tail.strip_prefix("beta") {
        (2, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (1, m)
    } else {
        (0, "")
    };
    (rank, major, minor_str.parse().unwrap_or(0))
}

impl Registry {
    pub fn new() -> Self {
        let all = builtin_resources();
        let builtin = all.iter().map(|i| Arc::new(ResourceType::from_builtin(i, all))).collect();
        Registry { inner: RwLock::new(Inner { builtin, custom: Vec::new() }) }
    }

    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        let inner = self.inner.read();
        inner.builtin.iter().chain(inner.custom.iter()).cloned().collect()
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        let inner = self.inner.read();
        inner
            .builtin
            .iter()
            .chain(inner.custom.iter())
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The resource type that owns a storage table at its storage version.
    pub fn storage_type(&self, table: &str) -> Option<Arc<ResourceType>> {
        self.all().into_iter().find(|t| &*t.table == table && t.is_storage_version())
    }

    /// Kind → type, in the preferred version of its group (for ownerReference and object lookups).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.all().into_iter().find(|t| t.group == group && t.version == version && t.kind == kind)
    }

    /// Whether a group/version is served (for 404 vs 405 decisions and discovery).
    pub fn serves_version(&self, group: &str, version: &str) -> bool {
        self.all().iter().any(|t| t.group == group && t.version == version)
    }

    /// Groups in discovery order (built-in order first, then custom groups sorted), each with its versions
    /// sorted by priority.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let types = self.all();
        for t in &types {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) if !versions.contains(&t.version) => versions.push(t.version.clone()),
                Some(_) => {}
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        let builtin_count = {
            let inner = self.inner.read();
            let mut seen: Vec<&str> = Vec::new();
            for t in &inner.builtin {
                if !seen.contains(&t.group.as_str()) {
                    seen.push(&t.group);
                }
            }
            seen.len()
        };
        let split = builtin_count.min(out.len());
        out[split..].sort_by(|a, b| a.0.cmp(&b.0));
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Replaces the resource types a CRD serves (empty `types` removes them).
    pub fn set_custom(&self, crd_name: &str, types: Vec<ResourceType>) {
        let mut inner = self.inner.write();
        inner.custom.retain(|t| t.custom.as_ref().is_none_or(|c| c.crd_name != crd_name));
        inner.custom.extend(types.into_iter().map(Arc::new));
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec!["v1alpha1", "v1beta1", "v1", "v2", "v1alpha2", "v2beta1"];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(v, ["v2", "v1", "v2beta1", "v1beta1", "v1alpha2", "v1alpha1"]);
    }
}
