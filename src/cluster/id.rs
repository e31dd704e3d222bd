//! The cluster ID (spec §3): the `id` key of the `datadog-cluster-id` ConfigMap in our own
//! namespace, seeded with the UID of the `kube-system` Namespace, resolved once and cached.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::OnceCell;

pub const CONFIG_MAP: &str = "datadog-cluster-id";
const KEY: &str = "id";
/// A UUID's text length: anything else in the ConfigMap is replaced.
const ID_LEN: usize = 36;

#[derive(Debug, thiserror::Error)]
pub enum ClusterIdError {
    #[error("cannot read ConfigMap {namespace}/{CONFIG_MAP}: {source}")]
    Read { namespace: String, source: kube::Error },
    #[error("cannot read Namespace kube-system (its UID is the cluster ID): {0}")]
    KubeSystem(kube::Error),
    #[error("Namespace kube-system has no metadata.uid")]
    NoUid,
    #[error("cannot write ConfigMap {namespace}/{CONFIG_MAP}: {source}")]
    Write { namespace: String, source: kube::Error },
}

/// Resolves the cluster ID once, then answers from the cache.
pub struct ClusterId {
    client: kube::Client,
    namespace: String,
    cached: OnceCell<String>,
}

impl ClusterId {
    /// `namespace` is the agent's own namespace (the service-account one, not `kube_resources_namespace`).
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        ClusterId { client, namespace: namespace.to_owned(), cached: OnceCell::new() }
    }

    pub async fn get(&self) -> Result<String, ClusterIdError> {
        self.cached.get_or_try_init(|| self.resolve()).await.cloned()
    }

    async fn resolve(&self) -> Result<String, ClusterIdError> {
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        let read_error = |source| ClusterIdError::Read { namespace: self.namespace.clone(), source };
        let Some(mut existing) = maps.get_opt(CONFIG_MAP).await.map_err(read_error)? else {
            let id = self.kube_system_uid().await?;
            let map = ConfigMap {
                metadata: ObjectMeta { name: Some(CONFIG_MAP.into()), ..ObjectMeta::default() },
                data: Some(BTreeMap::from([(KEY.to_owned(), id.clone())])),
                ..ConfigMap::default()
            };
            maps.create(&PostParams::default(), &map).await.map_err(|source| self.write_error(source))?;
            tracing::info!(namespace = %self.namespace, cluster_id = %id, "created ConfigMap {CONFIG_MAP}");
            return Ok(id);
        };
        if let Some(id) = existing.data.as_ref().and_then(|data| data.get(KEY)).filter(|id| id.len() == ID_LEN) {
            return Ok(id.clone());
        }
        let id = self.kube_system_uid().await?;
        existing.data.get_or_insert_default().insert(KEY.to_owned(), id.clone());
        maps.replace(CONFIG_MAP, &PostParams::default(), &existing).await.map_err(|source| self.write_error(source))?;
        tracing::warn!(namespace = %self.namespace, cluster_id = %id, "ConfigMap {CONFIG_MAP} had no valid id: replaced");
        Ok(id)
    }

    async fn kube_system_uid(&self) -> Result<String, ClusterIdError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = namespaces.get("kube-system").await.map_err(ClusterIdError::KubeSystem)?;
        namespace.metadata.uid.ok_or(ClusterIdError::NoUid)
    }

    fn write_error(&self, source: kube::Error) -> ClusterIdError {
        ClusterIdError::Write { namespace: self.namespace.clone(), source }
    }
}
