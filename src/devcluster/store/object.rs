//! A stored object: its JSON bytes (what lists and watches send) plus the few parsed fields the
//! server filters on, so a list of 50,000 pods never re-parses them.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey { namespace: namespace.into(), name: name.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OwnerLink {
    pub uid: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub block_owner_deletion: bool,
}

#[derive(Debug)]
pub struct Stored {
    pub rv: u64,
    pub key: ObjectKey,
    pub uid: String,
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    /// Values of the resource's selectable fields (`spec.nodeName`, `status.phase`, …).
    pub fields: Vec<(String, String)>,
    pub owners: Vec<OwnerLink>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Stored {
    /// Stamps `metadata.resourceVersion` and serialises.
    pub fn encode(rv: u64, key: ObjectKey, mut obj: Value, fields: Vec<(String, String)>) -> Result<Self, StoreError> {
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let meta = &obj["metadata"];
        let labels = meta["labels"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        let owners = meta["ownerReferences"]
            .as_array()
            .map(|refs| refs.iter().filter_map(owner_link).collect())
            .unwrap_or_default();
        let finalizers = meta["finalizers"]
            .as_array()
            .map(|f| f.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let uid = meta["uid"].as_str().unwrap_or_default().to_string();
        let deleting = !meta["deletionTimestamp"].is_null();
        let json = serde_json::to_vec(&obj).map_err(|e| StoreError::Encode(e.to_string()))?;
        Ok(Stored { rv, key, uid, json: Bytes::from(json), labels, fields, owners, deleting, finalizers })
    }

    /// The object parsed back into JSON.
    pub fn value(&self) -> Value {
        // The bytes were produced by serde_json from a Value, so they always parse.
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    /// The same object at another resourceVersion (the DELETED event of a removal).
    pub fn with_rv(&self, rv: u64) -> Result<Self, StoreError> {
        Self::encode(rv, self.key.clone(), self.value(), self.fields.clone())
    }

    pub fn field(&self, name: &str) -> Option<String> {
        match name {
            "metadata.name" => Some(self.key.name.clone()),
            "metadata.namespace" => Some(self.key.namespace.clone()),
            _ => self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        }
    }
}

fn owner_link(r: &Value) -> Option<OwnerLink> {
    Some(OwnerLink {
        uid: r["uid"].as_str()?.to_string(),
        api_version: r["apiVersion"].as_str().unwrap_or_default().to_string(),
        kind: r["kind"].as_str().unwrap_or_default().to_string(),
        name: r["name"].as_str().unwrap_or_default().to_string(),
        block_owner_deletion: r["blockOwnerDeletion"].as_bool().unwrap_or(false),
    })
}
