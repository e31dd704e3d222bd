//! `patchStrategy` / `patchMergeKey` struct tags of the built-in Kubernetes types (as of
//! k8s.io/api v1.33), looked up by field path from the object root.

use super::ListStrategy::{self, MergeByKey, MergePrimitives, Replace};

/// Kinds whose `.spec.template` is a PodTemplateSpec.
const POD_TEMPLATE_OWNERS: [&str; 6] =
    ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"];

/// Kinds whose `.status.conditions` is tagged `patchStrategy:"merge" patchMergeKey:"type"`.
const TYPED_CONDITION_OWNERS: [&str; 13] = [
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
    "Service",
    "Node",
    "Namespace",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
];

/// patchStrategy/patchMergeKey of built-in types, as in the Kubernetes Go struct tags, for
/// the field at `path` (field names from the object root, list indices omitted), in an
/// object of `kind`. Unknown paths → `Replace`.
pub fn list_strategy(kind: &str, path: &[&str]) -> ListStrategy {
    match path {
        ["metadata", rest @ ..] => object_meta(rest),
        ["status", "conditions"] if TYPED_CONDITION_OWNERS.contains(&kind) => MergeByKey("type"),
        ["spec", "template", rest @ ..] if POD_TEMPLATE_OWNERS.contains(&kind) => pod_template(rest),
        _ => kind_specific(kind, path),
    }
}

fn kind_specific(kind: &str, path: &[&str]) -> ListStrategy {
    match (kind, path) {
        ("Pod", ["spec", rest @ ..]) => pod_spec(rest),
        ("Pod", ["status", rest @ ..]) => pod_status(rest),
        ("PodTemplate", ["template", rest @ ..]) => pod_template(rest),
        ("CronJob", ["spec", "jobTemplate", "metadata", rest @ ..]) => object_meta(rest),
        ("CronJob", ["spec", "jobTemplate", "spec", "template", rest @ ..]) => pod_template(rest),
        ("Service", ["spec", "ports"]) => MergeByKey("port"),
        ("Node", ["spec", "podCIDRs"]) => MergePrimitives,
        ("Node", ["status", "addresses"]) => MergeByKey("type"),
        _ => Replace,
    }
}

fn object_meta(path: &[&str]) -> ListStrategy {
    match path {
        ["ownerReferences"] => MergeByKey("uid"),
        ["finalizers"] => MergePrimitives,
        _ => Replace,
    }
}

fn pod_template(path: &[&str]) -> ListStrategy {
    match path {
        ["metadata", rest @ ..] => object_meta(rest),
        ["spec", rest @ ..] => pod_spec(rest),
        _ => Replace,
    }
}

fn pod_spec(path: &[&str]) -> ListStrategy {
    match path {
        ["containers" | "initContainers" | "ephemeralContainers"] => MergeByKey("name"),
        ["containers" | "initContainers" | "ephemeralContainers", rest @ ..] => container(rest),
        ["volumes"] => MergeByKey("name"),
        ["imagePullSecrets"] => MergeByKey("name"),
        ["hostAliases"] => MergeByKey("ip"),
        ["topologySpreadConstraints"] => MergeByKey("topologyKey"),
        ["resourceClaims"] => MergeByKey("name"),
        ["schedulingGates"] => MergeByKey("name"),
        // tolerations, readinessGates, affinity terms, dnsConfig lists: no patchStrategy.
        _ => Replace,
    }
}

/// Container and EphemeralContainerCommon share these tags.
fn container(path: &[&str]) -> ListStrategy {
    match path {
        ["ports"] => MergeByKey("containerPort"),
        ["env"] => MergeByKey("name"),
        ["volumeMounts"] => MergeByKey("mountPath"),
        ["volumeDevices"] => MergeByKey("devicePath"),
        // command, args, envFrom, resizePolicy, resources.claims: atomic / no patchStrategy.
        _ => Replace,
    }
}

fn pod_status(path: &[&str]) -> ListStrategy {
    match path {
        ["conditions"] => MergeByKey("type"),
        ["podIPs" | "hostIPs"] => MergeByKey("ip"),
        ["resourceClaimStatuses"] => MergeByKey("name"),
        // containerStatuses, initContainerStatuses, ephemeralContainerStatuses: no tags.
        _ => Replace,
    }
}
