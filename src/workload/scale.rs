//! The `scale` subresource of a DPA target (`autoscaling/v1` Scale), for any kind that has one
//! (Deployment, StatefulSet, Argo Rollout, custom resources): the target's `apiVersion` + `kind`
//! resolved to its resource through discovery, cached per kind; a read; and a write of
//! `spec.replicas` pinned to the resourceVersion read, so a write never lands on a target that
//! moved in between.

use std::collections::HashMap;

use k8s_openapi::api::autoscaling::v1::Scale;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use parking_lot::RwLock;

/// Why the scale subresource of a target could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// The target object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The kind is not served, is not namespaced, or has no scale subresource.
    #[error("{0}")]
    Unsupported(String),
    /// Any other failure (transport, conflict, forbidden, …).
    #[error("{0}")]
    Api(String),
}

/// `apps/v1` + `Deployment` → its GVK; `v1` is the core group. `None` when the apiVersion has an
/// empty group or version part, or the kind is empty.
pub fn parse_gvk(api_version: &str, kind: &str) -> Option<GroupVersionKind> {
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) if !group.is_empty() => (group, version),
        Some(_) => return None,
        None => ("", api_version),
    };
    if version.is_empty() || version.contains('/') || kind.is_empty() {
        return None;
    }
    Some(GroupVersionKind::gvk(group, version, kind))
}

fn describe(gvk: &GroupVersionKind) -> String {
    format!("{} {}", gvk.api_version(), gvk.kind)
}

/// Reads and writes `scale` subresources; remembers which resource serves each kind.
#[derive(Default)]
pub struct ScaleClient {
    resources: RwLock<HashMap<GroupVersionKind, ApiResource>>,
}

impl ScaleClient {
    /// The resource serving `gvk`, if it is namespaced and has a scale subresource.
    pub async fn resource(&self, client: &kube::Client, gvk: &GroupVersionKind) -> Result<ApiResource, ScaleError> {
        if let Some(ar) = self.resources.read().get(gvk) {
            return Ok(ar.clone());
        }
        let (ar, caps) = discovery::pinned_kind(client, gvk).await.map_err(|e| match e {
            kube::Error::Discovery(_) => ScaleError::Unsupported(format!("{} is not served: {e}", describe(gvk))),
            kube::Error::Api(status) if status.code == 404 => {
                ScaleError::Unsupported(format!("{} is not served: {}", describe(gvk), status.message))
            }
            e => ScaleError::Api(format!("discovery of {} failed: {e}", describe(gvk))),
        })?;
        if caps.scope != Scope::Namespaced {
            return Err(ScaleError::Unsupported(format!("{} is not namespaced", describe(gvk))));
        }
        if !caps.subresources.iter().any(|(sub, _)| sub.plural == "scale") {
            return Err(ScaleError::Unsupported(format!("{} has no scale subresource", describe(gvk))));
        }
        self.resources.write().insert(gvk.clone(), ar.clone());
        Ok(ar)
    }

    async fn api(
        &self,
        client: &kube::Client,
        namespace: &str,
        gvk: &GroupVersionKind,
    ) -> Result<Api<DynamicObject>, ScaleError> {
        let ar = self.resource(client, gvk).await?;
        Ok(Api::namespaced_with(client.clone(), namespace, &ar))
    }

    /// The Scale of `namespace/name`.
    pub async fn get(
        &self,
        client: &kube::Client,
        namespace: &str,
        gvk: &GroupVersionKind,
        name: &str,
    ) -> Result<Scale, ScaleError> {
        let api = self.api(client, namespace, gvk).await?;
        api.get_scale(name).await.map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => {
                ScaleError::NotFound(format!("{} {namespace}/{name} not found", describe(gvk)))
            }
            e => ScaleError::Api(e.to_string()),
        })
    }

    /// Writes `replicas` into the target `scale` was read from, pinned to its resourceVersion.
    pub async fn set_replicas(
        &self,
        client: &kube::Client,
        gvk: &GroupVersionKind,
        scale: &Scale,
        replicas: i32,
    ) -> Result<Scale, ScaleError> {
        let (Some(namespace), Some(name)) = (scale.metadata.namespace.as_deref(), scale.metadata.name.as_deref())
        else {
            return Err(ScaleError::Api(format!("the Scale read for {} has no namespace/name", describe(gvk))));
        };
        let api = self.api(client, namespace, gvk).await?;
        let mut next = scale.clone();
        next.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
        api.replace_scale(name, &PostParams::default(), &next).await.map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => {
                ScaleError::NotFound(format!("{} {namespace}/{name} not found", describe(gvk)))
            }
            e => ScaleError::Api(e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse_to_group_and_version() {
        assert_eq!(parse_gvk("apps/v1", "Deployment"), Some(GroupVersionKind::gvk("apps", "v1", "Deployment")));
        assert_eq!(
            parse_gvk("v1", "ReplicationController"),
            Some(GroupVersionKind::gvk("", "v1", "ReplicationController"))
        );
        assert_eq!(
            parse_gvk("argoproj.io/v1alpha1", "Rollout"),
            Some(GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"))
        );
        for (api_version, kind) in [("", "Deployment"), ("apps/", "Deployment"), ("/v1", "Deployment"), ("a/b/c", "X")]
        {
            assert_eq!(parse_gvk(api_version, kind), None, "{api_version:?}");
        }
        assert_eq!(parse_gvk("apps/v1", ""), None);
    }
}
