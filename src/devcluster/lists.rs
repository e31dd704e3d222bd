//! How lists merge for server-side apply: strategic-merge tags for built-in kinds,
//! `x-kubernetes-list-type`/`-map-keys` from the schema for custom resources.

use serde_json::Value;

use super::apply::{ListKind, ListKinds};
use super::patch::{ListStrategy, list_strategy};
use super::registry::ResourceType;

pub struct ListKindsFor<'a> {
    rt: &'a ResourceType,
}

impl<'a> ListKindsFor<'a> {
    pub fn new(rt: &'a ResourceType) -> Self {
        ListKindsFor { rt }
    }
}

impl ListKinds for ListKindsFor<'_> {
    fn list_kind(&self, path: &[&str]) -> ListKind {
        if path.first() == Some(&"metadata") {
            return match path.get(1) {
                Some(&"finalizers") => ListKind::Set,
                Some(&"ownerReferences") => ListKind::Map(vec!["uid".into()]),
                _ => ListKind::Atomic,
            };
        }
        match &self.rt.custom {
            Some(custom) => schema_list_kind(&custom.raw_schema, path),
            None => match list_strategy(&self.rt.kind, path) {
                ListStrategy::MergeByKey(k) => ListKind::Map(vec![k.to_string()]),
                ListStrategy::MergePrimitives => ListKind::Set,
                ListStrategy::Replace => ListKind::Atomic,
            },
        }
    }

    /// Key fields the schema defaults: container and service ports' protocol.
    fn key_default(&self, path: &[&str], field: &str) -> Option<Value> {
        (path.last() == Some(&"ports") && field == "protocol").then(|| Value::String("TCP".into()))
    }
}

/// Walks `properties`/`items` down to the list at `path` and reads its list type.
fn schema_list_kind(schema: &Value, path: &[&str]) -> ListKind {
    let mut node = schema;
    for part in path {
        node = if node["type"] == "array" { &node["items"]["properties"][*part] } else { &node["properties"][*part] };
        if node.is_null() {
            return ListKind::Atomic;
        }
    }
    match node["x-kubernetes-list-type"].as_str() {
        Some("set") => ListKind::Set,
        Some("map") => ListKind::Map(
            node["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|keys| keys.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        ),
        _ => ListKind::Atomic,
    }
}
