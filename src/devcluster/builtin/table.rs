//! The static discovery table (kube-apiserver v1.33 facts).

use super::{ResourceInfo, SubresourceInfo};

/// Verbs of an ordinary collection resource.
const FULL: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// Namespaces have no `deletecollection`.
const NO_DELETECOLLECTION: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
const CREATE: &[&str] = &["create"];
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const UPDATE: &[&str] = &["update"];
const GET_LIST: &[&str] = &["get", "list"];
const ALL: &[&str] = &["all"];
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const BASE: ResourceInfo = ResourceInfo {
    group: "",
    version: "v1",
    kind: "",
    list_kind: "",
    plural: "",
    singular: "",
    namespaced: true,
    verbs: FULL,
    short_names: &[],
    categories: &[],
    subresources: &[],
    storage: true,
};

const fn sub(
    name: &'static str,
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    verbs: &'static [&'static str],
) -> SubresourceInfo {
    SubresourceInfo { name, kind, group, version, verbs }
}

const fn status(kind: &'static str, group: &'static str, version: &'static str) -> SubresourceInfo {
    sub("status", kind, group, version, GET_PATCH_UPDATE)
}

const SCALE: SubresourceInfo = sub("scale", "Scale", "autoscaling", "v1", GET_PATCH_UPDATE);

const NAMESPACE_SUBS: &[SubresourceInfo] =
    &[sub("finalize", "Namespace", "", "v1", UPDATE), status("Namespace", "", "v1")];
const POD_SUBS: &[SubresourceInfo] = &[
    sub("ephemeralcontainers", "Pod", "", "v1", GET_PATCH_UPDATE),
    sub("eviction", "Eviction", "policy", "v1", CREATE),
    sub("resize", "Pod", "", "v1", GET_PATCH_UPDATE),
    status("Pod", "", "v1"),
];
const SA_SUBS: &[SubresourceInfo] = &[sub("token", "TokenRequest", "authentication.k8s.io", "v1", CREATE)];
const SERVICE_SUBS: &[SubresourceInfo] = &[status("Service", "", "v1")];
const DEPLOYMENT_SUBS: &[SubresourceInfo] = &[SCALE, status("Deployment", "apps", "v1")];
const REPLICASET_SUBS: &[SubresourceInfo] = &[SCALE, status("ReplicaSet", "apps", "v1")];
const STATEFULSET_SUBS: &[SubresourceInfo] = &[SCALE, status("StatefulSet", "apps", "v1")];
const HPA_V2_SUBS: &[SubresourceInfo] = &[status("HorizontalPodAutoscaler", "autoscaling", "v2")];
const HPA_V1_SUBS: &[SubresourceInfo] = &[status("HorizontalPodAutoscaler", "autoscaling", "v1")];
const CRD_SUBS: &[SubresourceInfo] = &[status("CustomResourceDefinition", "apiextensions.k8s.io", "v1")];
const APISERVICE_SUBS: &[SubresourceInfo] = &[status("APIService", "apiregistration.k8s.io", "v1")];
const NODE_SUBS: &[SubresourceInfo] = &[status("Node", "", "v1")];
const PDB_SUBS: &[SubresourceInfo] = &[status("PodDisruptionBudget", "policy", "v1")];

/// Ordered like kube-apiserver's `/apis` (group priority), each group's
/// preferred version first, resources alphabetical within a group/version.
pub(super) static RESOURCES: &[ResourceInfo] = &[
    // ---- core/v1 (alphabetical, as discovery lists it) ----
    ResourceInfo {
        kind: "ConfigMap",
        list_kind: "ConfigMapList",
        plural: "configmaps",
        singular: "configmap",
        short_names: &["cm"],
        ..BASE
    },
    ResourceInfo {
        kind: "Endpoints",
        list_kind: "EndpointsList",
        plural: "endpoints",
        singular: "endpoints",
        short_names: &["ep"],
        ..BASE
    },
    ResourceInfo {
        kind: "Event",
        list_kind: "EventList",
        plural: "events",
        singular: "event",
        short_names: &["ev"],
        ..BASE
    },
    ResourceInfo {
        kind: "Namespace",
        list_kind: "NamespaceList",
        plural: "namespaces",
        singular: "namespace",
        namespaced: false,
        verbs: NO_DELETECOLLECTION,
        short_names: &["ns"],
        subresources: NAMESPACE_SUBS,
        ..BASE
    },
    ResourceInfo {
        kind: "Node",
        list_kind: "NodeList",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        short_names: &["no"],
        subresources: NODE_SUBS,
        ..BASE
    },
    ResourceInfo {
        kind: "Pod",
        list_kind: "PodList",
        plural: "pods",
        singular: "pod",
        short_names: &["po"],
        categories: ALL,
        subresources: POD_SUBS,
        ..BASE
    },
    ResourceInfo { kind: "Secret", list_kind: "SecretList", plural: "secrets", singular: "secret", ..BASE },
    ResourceInfo {
        kind: "ServiceAccount",
        list_kind: "ServiceAccountList",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        short_names: &["sa"],
        subresources: SA_SUBS,
        ..BASE
    },
    ResourceInfo {
        kind: "Service",
        list_kind: "ServiceList",
        plural: "services",
        singular: "service",
        short_names: &["svc"],
        categories: ALL,
        subresources: SERVICE_SUBS,
        ..BASE
    },
    // ---- apiregistration.k8s.io/v1 ----
    ResourceInfo {
        group: "apiregistration.k8s.io",
        kind: "APIService",
        list_kind: "APIServiceList",
        plural: "apiservices",
        singular: "apiservice",
        namespaced: false,
        categories: API_EXTENSIONS,
        subresources: APISERVICE_SUBS,
        ..BASE
    },
    // ---- apps/v1 ----
    ResourceInfo {
        group: "apps",
        kind: "ControllerRevision",
        list_kind: "ControllerRevisionList",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        ..BASE
    },
    ResourceInfo {
        group: "apps",
        kind: "Deployment",
        list_kind: "DeploymentList",
        plural: "deployments",
        singular: "deployment",
        short_names: &["deploy"],
        categories: ALL,
        subresources: DEPLOYMENT_SUBS,
        ..BASE
    },
    ResourceInfo {
        group: "apps",
        kind: "ReplicaSet",
        list_kind: "ReplicaSetList",
        plural: "replicasets",
        singular: "replicaset",
        short_names: &["rs"],
        categories: ALL,
        subresources: REPLICASET_SUBS,
        ..BASE
    },
    ResourceInfo {
        group: "apps",
        kind: "StatefulSet",
        list_kind: "StatefulSetList",
        plural: "statefulsets",
        singular: "statefulset",
        short_names: &["sts"],
        categories: ALL,
        subresources: STATEFULSET_SUBS,
        ..BASE
    },
    // ---- events.k8s.io/v1 (stored as core/v1 events) ----
    ResourceInfo {
        group: "events.k8s.io",
        kind: "Event",
        list_kind: "EventList",
        plural: "events",
        singular: "event",
        short_names: &["ev"],
        storage: false,
        ..BASE
    },
    // ---- authentication.k8s.io/v1 ----
    ResourceInfo {
        group: "authentication.k8s.io",
        kind: "TokenReview",
        list_kind: "TokenReviewList",
        plural: "tokenreviews",
        singular: "tokenreview",
        namespaced: false,
        verbs: CREATE,
        ..BASE
    },
    // ---- authorization.k8s.io/v1 ----
    ResourceInfo {
        group: "authorization.k8s.io",
        kind: "LocalSubjectAccessReview",
        list_kind: "LocalSubjectAccessReviewList",
        plural: "localsubjectaccessreviews",
        singular: "localsubjectaccessreview",
        verbs: CREATE,
        ..BASE
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        kind: "SelfSubjectAccessReview",
        list_kind: "SelfSubjectAccessReviewList",
        plural: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        namespaced: false,
        verbs: CREATE,
        ..BASE
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        kind: "SelfSubjectRulesReview",
        list_kind: "SelfSubjectRulesReviewList",
        plural: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        namespaced: false,
        verbs: CREATE,
        ..BASE
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        kind: "SubjectAccessReview",
        list_kind: "SubjectAccessReviewList",
        plural: "subjectaccessreviews",
        singular: "subjectaccessreview",
        namespaced: false,
        verbs: CREATE,
        ..BASE
    },
    // ---- autoscaling (v2 is the storage version) ----
    ResourceInfo {
        group: "autoscaling",
        version: "v2",
        kind: "HorizontalPodAutoscaler",
        list_kind: "HorizontalPodAutoscalerList",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        short_names: &["hpa"],
        categories: ALL,
        subresources: HPA_V2_SUBS,
        ..BASE
    },
    ResourceInfo {
        group: "autoscaling",
        version: "v1",
        kind: "HorizontalPodAutoscaler",
        list_kind: "HorizontalPodAutoscalerList",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        short_names: &["hpa"],
        categories: ALL,
        subresources: HPA_V1_SUBS,
        storage: false,
        ..BASE
    },
    // ---- policy/v1 ----
    ResourceInfo {
        group: "policy",
        kind: "PodDisruptionBudget",
        list_kind: "PodDisruptionBudgetList",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        short_names: &["pdb"],
        subresources: PDB_SUBS,
        ..BASE
    },
    // ---- rbac.authorization.k8s.io/v1 ----
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        kind: "ClusterRoleBinding",
        list_kind: "ClusterRoleBindingList",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        namespaced: false,
        ..BASE
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        list_kind: "ClusterRoleList",
        plural: "clusterroles",
        singular: "clusterrole",
        namespaced: false,
        ..BASE
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        kind: "RoleBinding",
        list_kind: "RoleBindingList",
        plural: "rolebindings",
        singular: "rolebinding",
        ..BASE
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        kind: "Role",
        list_kind: "RoleList",
        plural: "roles",
        singular: "role",
        ..BASE
    },
    // ---- admissionregistration.k8s.io/v1 ----
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        kind: "MutatingWebhookConfiguration",
        list_kind: "MutatingWebhookConfigurationList",
        plural: "mutatingwebhookconfigurations",
        singular: "mutatingwebhookconfiguration",
        namespaced: false,
        categories: API_EXTENSIONS,
        ..BASE
    },
    ResourceInfo {
        group: "admissionregistration.k8s.io",
        kind: "ValidatingWebhookConfiguration",
        list_kind: "ValidatingWebhookConfigurationList",
        plural: "validatingwebhookconfigurations",
        singular: "validatingwebhookconfiguration",
        namespaced: false,
        categories: API_EXTENSIONS,
        ..BASE
    },
    // ---- apiextensions.k8s.io/v1 ----
    ResourceInfo {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        list_kind: "CustomResourceDefinitionList",
        plural: "customresourcedefinitions",
        singular: "customresourcedefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        categories: API_EXTENSIONS,
        subresources: CRD_SUBS,
        ..BASE
    },
    // ---- coordination.k8s.io/v1 ----
    ResourceInfo {
        group: "coordination.k8s.io",
        kind: "Lease",
        list_kind: "LeaseList",
        plural: "leases",
        singular: "lease",
        ..BASE
    },
    // ---- metrics.k8s.io/v1beta1 (metrics-server's resource metrics API, computed on read) ----
    ResourceInfo {
        group: "metrics.k8s.io",
        version: "v1beta1",
        kind: "PodMetrics",
        list_kind: "PodMetricsList",
        plural: "pods",
        singular: "",
        verbs: GET_LIST,
        ..BASE
    },
];
