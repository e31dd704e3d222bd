//! The controller's copy of the watched DatadogPodAutoscaler objects: each event's object is read
//! once into the typed [`DatadogPodAutoscaler`] without its `managedFields` (or, when our types
//! cannot read it, the reason, so such a DPA is known to exist and never taken for absent).
//!
//! kube's reflector store kept every DPA as a `DynamicObject` — a `serde_json::Value` tree of the
//! whole object, managed fields included — and each reconcile parsed it again: about 24 KiB per
//! DPA in the heap profile (BENCHMARKS.md, issue #6, session 5); the typed object is a few KiB.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::api::DynamicObject;
use kube::runtime::watcher::Event;
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::workload::crd::DatadogPodAutoscaler;
use crate::workload::model::DpaKey;

/// One watched DPA as the controller keeps it.
#[derive(Debug)]
pub struct StoredDpa {
    /// `metadata.creationTimestamp` (admission order of the limit).
    pub created: Option<Timestamp>,
    /// The object, or why our types cannot read it.
    pub object: Result<DatadogPodAutoscaler, Arc<Unreadable>>,
}

/// A watched DPA our types cannot read (a value the CRD schema admits but our types do not, e.g.
/// `minReplicas` beyond 32 bits): the reason naming the field, and what the leader's untyped
/// write of its `Error` condition needs.
#[derive(Debug, PartialEq)]
pub struct Unreadable {
    pub error: String,
    pub resource_version: Option<String>,
    /// `status` as watched (untyped).
    pub status: Option<serde_json::Value>,
}

impl StoredDpa {
    /// Reads `object` (managed fields dropped); `None` without a namespace or a name.
    pub fn read(object: &DynamicObject) -> Option<(DpaKey, StoredDpa)> {
        let key = DpaKey::new(object.metadata.namespace.as_deref()?, object.metadata.name.as_deref()?);
        let created = object.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let parsed = serde_json::to_value(object).map_err(|e| e.to_string()).and_then(|value| {
            serde_path_to_error::deserialize::<_, DatadogPodAutoscaler>(value).map_err(|e| {
                match e.path().to_string().as_str() {
                    "." => e.inner().to_string(),
                    path => format!("{path}: {}", e.inner()),
                }
            })
        });
        let parsed = parsed.map_err(|error| {
            Arc::new(Unreadable {
                error,
                resource_version: object.metadata.resource_version.clone(),
                status: object.data.get("status").cloned(),
            })
        });
        let object = parsed.map(|mut dpa| {
            dpa.metadata.managed_fields = None;
            dpa
        });
        Some((key, StoredDpa { created, object }))
    }
}

/// The watched DPAs by key, replaced whole on each (re)list as kube's reflector store is.
pub struct ObjectStore {
    state: RwLock<State>,
    ready: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    objects: HashMap<DpaKey, Arc<StoredDpa>>,
    /// The list in progress (between `Init` and `InitDone`).
    listing: Option<HashMap<DpaKey, Arc<StoredDpa>>>,
}

impl Default for ObjectStore {
    fn default() -> Self {
        ObjectStore { state: RwLock::default(), ready: watch::channel(false).0 }
    }
}

impl ObjectStore {
    /// Applies one watcher event; returns the key it concerns (`None` for list boundaries and
    /// objects without a namespace or name).
    pub fn apply(&self, event: &Event<DynamicObject>) -> Option<DpaKey> {
        let mut state = self.state.write();
        match event {
            Event::Init => {
                state.listing = Some(HashMap::new());
                None
            }
            Event::InitApply(object) => {
                let (key, stored) = StoredDpa::read(object)?;
                state.listing.get_or_insert_default().insert(key.clone(), Arc::new(stored));
                Some(key)
            }
            Event::InitDone => {
                let mut listed = state.listing.take().unwrap_or_default();
                listed.shrink_to_fit();
                state.objects = listed;
                drop(state);
                self.ready.send_replace(true);
                None
            }
            Event::Apply(object) => {
                let (key, stored) = StoredDpa::read(object)?;
                state.objects.insert(key.clone(), Arc::new(stored));
                Some(key)
            }
            Event::Delete(object) => {
                let key = DpaKey::new(object.metadata.namespace.as_deref()?, object.metadata.name.as_deref()?);
                state.objects.remove(&key);
                Some(key)
            }
        }
    }

    pub fn get(&self, key: &DpaKey) -> Option<Arc<StoredDpa>> {
        self.state.read().objects.get(key).cloned()
    }

    /// Every stored DPA's key and creation time.
    pub fn keys(&self) -> Vec<(DpaKey, Option<Timestamp>)> {
        self.state.read().objects.iter().map(|(k, o)| (k.clone(), o.created)).collect()
    }

    pub fn len(&self) -> usize {
        self.state.read().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once the first list is in (at once if it is); `Err` when the store is gone.
    pub async fn wait_until_ready(&self) -> Result<(), watch::error::RecvError> {
        self.ready.subscribe().wait_for(|ready| *ready).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dynamic(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    fn dpa(name: &str, target: serde_json::Value) -> DynamicObject {
        dynamic(json!({
            "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscaler",
            "metadata": {"namespace": "prod", "name": name, "creationTimestamp": "2024-05-01T10:00:00Z",
                "resourceVersion": "7",
                "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "datadoghq.com/v1alpha2",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:owner": {}, "f:targetRef": {}}}}]},
            "spec": {"owner": "Local", "targetRef": target},
            "status": {"conditions": [{"type": "Active", "status": "True", "lastTransitionTime": "2024-05-01T10:00:01Z"}]}
        }))
    }

    fn deployment(name: &str) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name})
    }

    #[tokio::test]
    async fn objects_are_typed_without_managed_fields_and_lists_replace_the_store() {
        let store = ObjectStore::default();
        let waiter = tokio::time::timeout(std::time::Duration::from_millis(50), store.wait_until_ready());
        assert!(waiter.await.is_err(), "ready before the first list");
        let key = |n: &str| DpaKey::new("prod", n);
        assert_eq!(store.apply(&Event::Init), None);
        assert_eq!(store.apply(&Event::InitApply(dpa("web", deployment("web")))), Some(key("web")));
        assert!(store.get(&key("web")).is_none(), "a list in progress is not visible");
        store.apply(&Event::InitDone);
        store.wait_until_ready().await.unwrap();

        let web = store.get(&key("web")).unwrap();
        let object = web.object.as_ref().unwrap();
        assert_eq!(object.spec.target_ref.name, "web");
        assert_eq!(object.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(object.metadata.managed_fields, None);
        assert_eq!(object.status.as_ref().unwrap().conditions.as_ref().unwrap().len(), 1);
        assert_eq!(web.created, Some("2024-05-01T10:00:00Z".parse().unwrap()));

        // A relist drops what it no longer lists; single events insert and remove.
        store.apply(&Event::Init);
        store.apply(&Event::InitApply(dpa("api", deployment("api"))));
        store.apply(&Event::InitDone);
        assert!(store.get(&key("web")).is_none());
        store.apply(&Event::Apply(dpa("web", deployment("web2"))));
        assert_eq!(store.get(&key("web")).unwrap().object.as_ref().unwrap().spec.target_ref.name, "web2");
        assert_eq!(store.apply(&Event::Delete(dpa("api", deployment("api")))), Some(key("api")));
        let keys: Vec<DpaKey> = store.keys().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![key("web")]);
    }

    #[test]
    fn an_unreadable_object_is_kept_with_the_reason() {
        let store = ObjectStore::default();
        // `targetRef` without `name` does not read as our type.
        let bad = dpa("broken", json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        assert_eq!(store.apply(&Event::Apply(bad)), Some(DpaKey::new("prod", "broken")));
        let stored = store.get(&DpaKey::new("prod", "broken")).expect("kept, not absent");
        let unreadable = stored.object.as_ref().unwrap_err();
        assert_eq!(unreadable.error, "spec.targetRef: missing field `name`");
        assert_eq!(unreadable.resource_version.as_deref(), Some("7"));
        assert_eq!(unreadable.status.as_ref().unwrap()["conditions"][0]["type"], "Active");
        assert_eq!(store.len(), 1);
    }
}
