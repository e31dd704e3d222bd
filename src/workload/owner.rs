//! Pod owner → autoscaling target, from the pod alone (spec §10.10), as the DCA resolves it:
//! `ownerReferences[0]`; a ReplicaSet of an Argo Rollout (pod label `rollouts-pod-template-hash`)
//! → the Rollout; a ReplicaSet named `<deployment>-<hash>` → the Deployment; else the owner itself.

/// The workload a pod belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// Label Argo Rollouts put on their ReplicaSets' pods.
const ROLLOUT_HASH_LABEL: &str = "rollouts-pod-template-hash";

/// Resolves a pod's first owner; `label` reads the pod's labels.
pub fn resolve<'a>(
    owner_api_version: &str,
    owner_kind: &str,
    owner_name: &str,
    label: impl Fn(&str) -> Option<&'a str>,
) -> WorkloadRef {
    let (api_version, kind, name) = resolve_ref(owner_api_version, owner_kind, owner_name, label);
    WorkloadRef { api_version: api_version.into(), kind: kind.into(), name: name.into() }
}

/// [`resolve`] without copying: the workload's apiVersion, kind and name, borrowed from the
/// owner reference (or static).
pub fn resolve_ref<'a, 'l>(
    owner_api_version: &'a str,
    owner_kind: &'a str,
    owner_name: &'a str,
    label: impl Fn(&str) -> Option<&'l str>,
) -> (&'a str, &'a str, &'a str) {
    if owner_kind == "ReplicaSet" {
        let rollout = label(ROLLOUT_HASH_LABEL).and_then(|h| owner_name.strip_suffix(h)?.strip_suffix('-'));
        if let Some(rollout) = rollout {
            return ("argoproj.io/v1alpha1", "Rollout", rollout);
        }
        if let Some(deployment) = deployment_of_replica_set(owner_name) {
            return ("apps/v1", "Deployment", deployment);
        }
    }
    (owner_api_version, owner_kind, owner_name)
}

#[cfg(test)]
fn workload(api_version: &str, kind: &str, name: &str) -> WorkloadRef {
    WorkloadRef { api_version: api_version.into(), kind: kind.into(), name: name.into() }
}

/// The Deployment a ReplicaSet name belongs to: `<name>-<hash>` where the hash is the
/// Deployment controller's (digits before Kubernetes 1.8, then ≥ 3 characters of its safe
/// alphabet, which has no vowels).
pub fn deployment_of_replica_set(name: &str) -> Option<&str> {
    const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";
    let (deployment, hash) = name.rsplit_once('-')?;
    let digits = !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit());
    let safe = hash.len() >= 3 && hash.chars().all(|c| SAFE.contains(c));
    (!deployment.is_empty() && (digits || safe)).then_some(deployment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_set_names_as_the_dca_parses_them() {
        for (rs, deployment) in [
            ("frontend-2891696001", Some("frontend")),
            ("front-end-2891696001", Some("front-end")),
            ("frontend2891696001", None),
            ("-frontend2891696001", None),
            ("manually-created", None),
            ("frontend-56c89cfff7", Some("frontend")),
            ("frontend-56c", Some("frontend")),
            ("frontend-56c89cfff7c2", Some("frontend")),
            ("front-end-768dd754b7", Some("front-end")),
            ("frontend-5f", None),
            ("frontend-56a89cfff7", None),
        ] {
            assert_eq!(deployment_of_replica_set(rs), deployment, "{rs}");
        }
    }

    #[test]
    fn owners_resolve_to_their_workload() {
        let none = |_: &str| None;
        assert_eq!(resolve("apps/v1", "ReplicaSet", "web-85cb8d69c5", none), workload("apps/v1", "Deployment", "web"));
        assert_eq!(resolve("apps/v1", "ReplicaSet", "manual", none), workload("apps/v1", "ReplicaSet", "manual"));
        assert_eq!(resolve("apps/v1", "StatefulSet", "db", none), workload("apps/v1", "StatefulSet", "db"));
        let argo = |k: &str| (k == ROLLOUT_HASH_LABEL).then_some("6d4f5c7b9");
        assert_eq!(
            resolve("apps/v1", "ReplicaSet", "canary-6d4f5c7b9", argo),
            workload("argoproj.io/v1alpha1", "Rollout", "canary")
        );
    }
}
