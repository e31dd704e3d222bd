//! Pruning of unknown fields, after apiextensions-apiserver's `pruning.PruneWithOptions`.
//!
//! The resource root is treated like an `x-kubernetes-embedded-resource`: string `apiVersion`
//! and `kind` and an object `metadata` survive whatever the schema says. An undescribed
//! `metadata` (no `properties` in the schema) is then pruned to ObjectMeta's fields, as
//! kube-apiserver's ObjectMeta coercion does.

use serde_json::{Map, Value};

use super::node::{self, Additional};

/// Prunes `obj` against the root schema; returns the pruned paths (`.spec.foo`).
pub fn prune_root(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut pruner = Pruner::default();
    pruner.value(obj, Some(schema), "", true);
    pruner.pruned
}

#[derive(Default)]
struct Pruner {
    pruned: Vec<String>,
}

impl Pruner {
    fn record(&mut self, path: &str) {
        self.pruned.push(format!(".{path}"));
    }

    fn value(&mut self, v: &mut Value, schema: Option<&Value>, path: &str, root: bool) {
        if let Some(s) = schema.filter(|s| node::preserves_unknown(s)) {
            self.skip(v, s, path, root);
            return;
        }
        match v {
            Value::Object(map) => self.object(map, schema, path, root),
            Value::Array(list) => {
                let items = schema.and_then(node::items);
                for (i, item) in list.iter_mut().enumerate() {
                    self.value(item, items, &node::index_path(path, i), false);
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>, schema: Option<&Value>, path: &str, root: bool) {
        let Some(s) = schema else {
            for key in std::mem::take(map).keys() {
                self.record(&node::child_path(path, key));
            }
            return;
        };
        let embedded = root || node::embedded_resource(s);
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let child = node::child_path(path, &key);
            if embedded && self.kept_meta_field(map, s, &key, &child) {
                continue;
            }
            let Some(v) = map.get_mut(&key) else { continue };
            if let Some(prop) = node::property(s, &key) {
                self.value(v, Some(prop), &child, false);
                continue;
            }
            match node::additional(s) {
                Additional::Schema(a) => self.value(v, Some(a), &child, false),
                Additional::Bool => self.value(v, None, &child, false),
                Additional::Absent => {
                    map.remove(&key);
                    self.record(&child);
                }
            }
        }
    }

    /// `x-kubernetes-preserve-unknown-fields`: keep unknown keys, still prune known subtrees.
    fn skip(&mut self, v: &mut Value, s: &Value, path: &str, root: bool) {
        match v {
            Value::Object(map) => {
                let embedded = root || node::embedded_resource(s);
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let child = node::child_path(path, &key);
                    if embedded && self.kept_meta_field(map, s, &key, &child) {
                        continue;
                    }
                    let Some(v) = map.get_mut(&key) else { continue };
                    if let Some(prop) = node::property(s, &key) {
                        self.value(v, Some(prop), &child, false);
                    } else {
                        match node::additional(s) {
                            Additional::Schema(a) => self.value(v, Some(a), &child, false),
                            Additional::Bool => self.value(v, None, &child, false),
                            Additional::Absent => {}
                        }
                    }
                }
            }
            Value::Array(list) => {
                if let Some(items) = node::items(s) {
                    for (i, item) in list.iter_mut().enumerate() {
                        self.skip(item, items, &node::index_path(path, i), false);
                    }
                }
            }
            _ => {}
        }
    }

    /// apiVersion/kind (strings) and metadata (object) of a resource are kept; an undescribed
    /// metadata is pruned to ObjectMeta's fields. Returns whether `key` was such a field.
    fn kept_meta_field(&mut self, map: &mut Map<String, Value>, s: &Value, key: &str, path: &str) -> bool {
        match (key, map.get_mut(key)) {
            ("apiVersion" | "kind", Some(Value::String(_))) => true,
            ("metadata", Some(Value::Object(meta))) => {
                let described = node::property(s, "metadata").is_some_and(node::has_properties);
                if !described {
                    self.object_meta(meta, path);
                }
                true
            }
            _ => false,
        }
    }

    fn object_meta(&mut self, meta: &mut Map<String, Value>, path: &str) {
        let unknown: Vec<String> =
            meta.keys().filter(|k| !node::OBJECT_META_FIELDS.contains(&k.as_str())).cloned().collect();
        for key in unknown {
            meta.remove(&key);
            self.record(&node::child_path(path, &key));
        }
    }
}
