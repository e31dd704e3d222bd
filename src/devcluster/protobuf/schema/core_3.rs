//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static POD_DNS_CONFIG: Message = msg(
    "k8s.io.api.core.v1.PodDnsConfig",
    &[
        fld(1, "nameservers", Str, List),
        fld(2, "searches", Str, List),
        fld(3, "options", Msg(&POD_DNS_CONFIG_OPTION), List),
    ],
);

pub static POD_READINESS_GATE: Message =
    msg("k8s.io.api.core.v1.PodReadinessGate", &[fld(1, "conditionType", Str, One)]);

pub static TOPOLOGY_SPREAD_CONSTRAINT: Message = msg(
    "k8s.io.api.core.v1.TopologySpreadConstraint",
    &[
        fld(1, "maxSkew", I32, One),
        fld(2, "topologyKey", Str, One),
        fld(3, "whenUnsatisfiable", Str, One),
        fld(4, "labelSelector", Msg(&LABEL_SELECTOR), One),
        fld(5, "minDomains", I32, One),
        fld(6, "nodeAffinityPolicy", Str, One),
        fld(7, "nodeTaintsPolicy", Str, One),
        fld(8, "matchLabelKeys", Str, List),
    ],
);

pub static POD_OS: Message = msg("k8s.io.api.core.v1.PodOs", &[fld(1, "name", Str, One)]);

pub static POD_SCHEDULING_GATE: Message = msg("k8s.io.api.core.v1.PodSchedulingGate", &[fld(1, "name", Str, One)]);

pub static POD_RESOURCE_CLAIM: Message = msg(
    "k8s.io.api.core.v1.PodResourceClaim",
    &[fld(1, "name", Str, One), fld(3, "resourceClaimName", Str, One), fld(4, "resourceClaimTemplateName", Str, One)],
);

pub static WORKLOAD_REFERENCE: Message = msg(
    "k8s.io.api.core.v1.WorkloadReference",
    &[fld(1, "name", Str, One), fld(2, "podGroup", Str, One), fld(3, "podGroupReplicaKey", Str, One)],
);

pub static POD_SPEC: Message = msg(
    "k8s.io.api.core.v1.PodSpec",
    &[
        fld(1, "volumes", Msg(&VOLUME), List),
        fld(2, "containers", Msg(&CONTAINER), List),
        fld(3, "restartPolicy", Str, One),
        fld(4, "terminationGracePeriodSeconds", I64, One),
        fld(5, "activeDeadlineSeconds", I64, One),
        fld(6, "dnsPolicy", Str, One),
        fld(7, "nodeSelector", Str, Map),
        fld(8, "serviceAccountName", Str, One),
        fld(9, "serviceAccount", Str, One),
        fld(10, "nodeName", Str, One),
        fld(11, "hostNetwork", Bool, One),
        fld(12, "hostPID", Bool, One),
        fld(13, "hostIPC", Bool, One),
        fld(14, "securityContext", Msg(&POD_SECURITY_CONTEXT), One),
        fld(15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), List),
        fld(16, "hostname", Str, One),
        fld(17, "subdomain", Str, One),
        fld(18, "affinity", Msg(&AFFINITY), One),
        fld(19, "schedulerName", Str, One),
        fld(20, "initContainers", Msg(&CONTAINER), List),
        fld(21, "automountServiceAccountToken", Bool, One),
        fld(22, "tolerations", Msg(&TOLERATION), List),
        fld(23, "hostAliases", Msg(&HOST_ALIAS), List),
        fld(24, "priorityClassName", Str, One),
        fld(25, "priority", I32, One),
        fld(26, "dnsConfig", Msg(&POD_DNS_CONFIG), One),
        fld(27, "shareProcessNamespace", Bool, One),
        fld(28, "readinessGates", Msg(&POD_READINESS_GATE), List),
        fld(29, "runtimeClassName", Str, One),
        fld(30, "enableServiceLinks", Bool, One),
        fld(31, "preemptionPolicy", Str, One),
        fld(32, "overhead", Quantity, Map),
        fld(33, "topologySpreadConstraints", Msg(&TOPOLOGY_SPREAD_CONSTRAINT), List),
        fld(34, "ephemeralContainers", Msg(&EPHEMERAL_CONTAINER), List),
        fld(35, "setHostnameAsFQDN", Bool, One),
        fld(36, "os", Msg(&POD_OS), One),
        fld(37, "hostUsers", Bool, One),
        fld(38, "schedulingGates", Msg(&POD_SCHEDULING_GATE), List),
        fld(39, "resourceClaims", Msg(&POD_RESOURCE_CLAIM), List),
        fld(40, "resources", Msg(&RESOURCE_REQUIREMENTS), One),
        fld(41, "hostnameOverride", Str, One),
        fld(42, "workloadRef", Msg(&WORKLOAD_REFERENCE), One),
    ],
);

pub static POD_CONDITION: Message = msg(
    "k8s.io.api.core.v1.PodCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastProbeTime", Time, One),
        fld(4, "lastTransitionTime", Time, One),
        fld(5, "reason", Str, One),
        fld(6, "message", Str, One),
        fld(7, "observedGeneration", I64, One),
    ],
);

pub static HOST_IP: Message = msg("k8s.io.api.core.v1.HostIp", &[fld(1, "ip", Str, One)]);

pub static POD_IP: Message = msg("k8s.io.api.core.v1.PodIp", &[fld(1, "ip", Str, One)]);

pub static CONTAINER_STATE_WAITING: Message =
    msg("k8s.io.api.core.v1.ContainerStateWaiting", &[fld(1, "reason", Str, One), fld(2, "message", Str, One)]);

pub static CONTAINER_STATE_RUNNING: Message =
    msg("k8s.io.api.core.v1.ContainerStateRunning", &[fld(1, "startedAt", Time, One)]);

pub static CONTAINER_STATE_TERMINATED: Message = msg(
    "k8s.io.api.core.v1.ContainerStateTerminated",
    &[
        fld(1, "exitCode", I32, One),
        fld(2, "signal", I32, One),
        fld(3, "reason", Str, One),
        fld(4, "message", Str, One),
        fld(5, "startedAt", Time, One),
        fld(6, "finishedAt", Time, One),
        fld(7, "containerID", Str, One),
    ],
);

pub static CONTAINER_STATE: Message = msg(
    "k8s.io.api.core.v1.ContainerState",
    &[
        fld(1, "waiting", Msg(&CONTAINER_STATE_WAITING), One),
        fld(2, "running", Msg(&CONTAINER_STATE_RUNNING), One),
        fld(3, "terminated", Msg(&CONTAINER_STATE_TERMINATED), One),
    ],
);

pub static VOLUME_MOUNT_STATUS: Message = msg(
    "k8s.io.api.core.v1.VolumeMountStatus",
    &[
        fld(1, "name", Str, One),
        fld(2, "mountPath", Str, One),
        fld(3, "readOnly", Bool, One),
        fld(4, "recursiveReadOnly", Str, One),
    ],
);

pub static LINUX_CONTAINER_USER: Message = msg(
    "k8s.io.api.core.v1.LinuxContainerUser",
    &[fld(1, "uid", I64, One), fld(2, "gid", I64, One), fld(3, "supplementalGroups", I64, List)],
);

pub static CONTAINER_USER: Message =
    msg("k8s.io.api.core.v1.ContainerUser", &[fld(1, "linux", Msg(&LINUX_CONTAINER_USER), One)]);

pub static RESOURCE_HEALTH: Message =
    msg("k8s.io.api.core.v1.ResourceHealth", &[fld(1, "resourceID", Str, One), fld(2, "health", Str, One)]);

pub static RESOURCE_STATUS: Message = msg(
    "k8s.io.api.core.v1.ResourceStatus",
    &[fld(1, "name", Str, One), fld(2, "resources", Msg(&RESOURCE_HEALTH), List)],
);

pub static CONTAINER_STATUS: Message = msg(
    "k8s.io.api.core.v1.ContainerStatus",
    &[
        fld(1, "name", Str, One),
        fld(2, "state", Msg(&CONTAINER_STATE), One),
        fld(3, "lastState", Msg(&CONTAINER_STATE), One),
        fld(4, "ready", Bool, One),
        fld(5, "restartCount", I32, One),
        fld(6, "image", Str, One),
        fld(7, "imageID", Str, One),
        fld(8, "containerID", Str, One),
        fld(9, "started", Bool, One),
        fld(10, "allocatedResources", Quantity, Map),
        fld(11, "resources", Msg(&RESOURCE_REQUIREMENTS), One),
        fld(12, "volumeMounts", Msg(&VOLUME_MOUNT_STATUS), List),
        fld(13, "user", Msg(&CONTAINER_USER), One),
        fld(14, "allocatedResourcesStatus", Msg(&RESOURCE_STATUS), List),
        fld(15, "stopSignal", Str, One),
    ],
);

pub static POD_RESOURCE_CLAIM_STATUS: Message = msg(
    "k8s.io.api.core.v1.PodResourceClaimStatus",
    &[fld(1, "name", Str, One), fld(2, "resourceClaimName", Str, One)],
);

pub static CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = msg(
    "k8s.io.api.core.v1.ContainerExtendedResourceRequest",
    &[fld(1, "containerName", Str, One), fld(2, "resourceName", Str, One), fld(3, "requestName", Str, One)],
);

pub static POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = msg(
    "k8s.io.api.core.v1.PodExtendedResourceClaimStatus",
    &[
        fld(1, "requestMappings", Msg(&CONTAINER_EXTENDED_RESOURCE_REQUEST), List),
        fld(2, "resourceClaimName", Str, One),
    ],
);

pub static POD_STATUS: Message = msg(
    "k8s.io.api.core.v1.PodStatus",
    &[
        fld(1, "phase", Str, One),
        fld(2, "conditions", Msg(&POD_CONDITION), List),
        fld(3, "message", Str, One),
        fld(4, "reason", Str, One),
        fld(5, "hostIP", Str, One),
        fld(6, "podIP", Str, One),
        fld(7, "startTime", Time, One),
        fld(8, "containerStatuses", Msg(&CONTAINER_STATUS), List),
        fld(9, "qosClass", Str, One),
        fld(10, "initContainerStatuses", Msg(&CONTAINER_STATUS), List),
        fld(11, "nominatedNodeName", Str, One),
        fld(12, "podIPs", Msg(&POD_IP), List),
        fld(13, "ephemeralContainerStatuses", Msg(&CONTAINER_STATUS), List),
        fld(14, "resize", Str, One),
        fld(15, "resourceClaimStatuses", Msg(&POD_RESOURCE_CLAIM_STATUS), List),
        fld(16, "hostIPs", Msg(&HOST_IP), List),
        fld(17, "observedGeneration", I64, One),
        fld(18, "extendedResourceClaimStatus", Msg(&POD_EXTENDED_RESOURCE_CLAIM_STATUS), One),
        fld(19, "allocatedResources", Quantity, Map),
        fld(20, "resources", Msg(&RESOURCE_REQUIREMENTS), One),
    ],
);

pub static POD: Message = msg(
    "k8s.io.api.core.v1.Pod",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&POD_SPEC), One),
        fld(3, "status", Msg(&POD_STATUS), One),
    ],
);

pub static POD_TEMPLATE_SPEC: Message = msg(
    "k8s.io.api.core.v1.PodTemplateSpec",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&POD_SPEC), One)],
);

pub static PERSISTENT_VOLUME_CLAIM_CONDITION: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaimCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastProbeTime", Time, One),
        fld(4, "lastTransitionTime", Time, One),
        fld(5, "reason", Str, One),
        fld(6, "message", Str, One),
    ],
);

pub static MODIFY_VOLUME_STATUS: Message = msg(
    "k8s.io.api.core.v1.ModifyVolumeStatus",
    &[fld(1, "targetVolumeAttributesClassName", Str, One), fld(2, "status", Str, One)],
);

pub static PERSISTENT_VOLUME_CLAIM_STATUS: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaimStatus",
    &[
        fld(1, "phase", Str, One),
        fld(2, "accessModes", Str, List),
        fld(3, "capacity", Quantity, Map),
        fld(4, "conditions", Msg(&PERSISTENT_VOLUME_CLAIM_CONDITION), List),
        fld(5, "allocatedResources", Quantity, Map),
        fld(7, "allocatedResourceStatuses", Str, Map),
        fld(8, "currentVolumeAttributesClassName", Str, One),
        fld(9, "modifyVolumeStatus", Msg(&MODIFY_VOLUME_STATUS), One),
    ],
);

pub static PERSISTENT_VOLUME_CLAIM: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaim",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC), One),
        fld(3, "status", Msg(&PERSISTENT_VOLUME_CLAIM_STATUS), One),
    ],
);

pub static ENDPOINT_ADDRESS: Message = msg(
    "k8s.io.api.core.v1.EndpointAddress",
    &[
        fld(1, "ip", Str, One),
        fld(2, "targetRef", Msg(&OBJECT_REFERENCE), One),
        fld(3, "hostname", Str, One),
        fld(4, "nodeName", Str, One),
    ],
);

pub static ENDPOINT_PORT: Message = msg(
    "k8s.io.api.core.v1.EndpointPort",
    &[
        fld(1, "name", Str, One),
        fld(2, "port", I32, One),
        fld(3, "protocol", Str, One),
        fld(4, "appProtocol", Str, One),
    ],
);

pub static ENDPOINT_SUBSET: Message = msg(
    "k8s.io.api.core.v1.EndpointSubset",
    &[
        fld(1, "addresses", Msg(&ENDPOINT_ADDRESS), List),
        fld(2, "notReadyAddresses", Msg(&ENDPOINT_ADDRESS), List),
        fld(3, "ports", Msg(&ENDPOINT_PORT), List),
    ],
);

pub static ENDPOINTS: Message = msg(
    "k8s.io.api.core.v1.Endpoints",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "subsets", Msg(&ENDPOINT_SUBSET), List)],
);

pub static SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Message = msg(
    "k8s.io.api.core.v1.ScopedResourceSelectorRequirement",
    &[fld(1, "scopeName", Str, One), fld(2, "operator", Str, One), fld(3, "values", Str, List)],
);

pub static SCOPE_SELECTOR: Message = msg(
    "k8s.io.api.core.v1.ScopeSelector",
    &[fld(1, "matchExpressions", Msg(&SCOPED_RESOURCE_SELECTOR_REQUIREMENT), List)],
);

pub static RESOURCE_QUOTA_SPEC: Message = msg(
    "k8s.io.api.core.v1.ResourceQuotaSpec",
    &[fld(1, "hard", Quantity, Map), fld(2, "scopes", Str, List), fld(3, "scopeSelector", Msg(&SCOPE_SELECTOR), One)],
);

pub static RESOURCE_QUOTA_STATUS: Message =
    msg("k8s.io.api.core.v1.ResourceQuotaStatus", &[fld(1, "hard", Quantity, Map), fld(2, "used", Quantity, Map)]);

pub static RESOURCE_QUOTA: Message = msg(
    "k8s.io.api.core.v1.ResourceQuota",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&RESOURCE_QUOTA_SPEC), One),
        fld(3, "status", Msg(&RESOURCE_QUOTA_STATUS), One),
    ],
);

pub static LIMIT_RANGE_ITEM: Message = msg(
    "k8s.io.api.core.v1.LimitRangeItem",
    &[
        fld(1, "type", Str, One),
        fld(2, "max", Quantity, Map),
        fld(3, "min", Quantity, Map),
        fld(4, "default", Quantity, Map),
        fld(5, "defaultRequest", Quantity, Map),
        fld(6, "maxLimitRequestRatio", Quantity, Map),
    ],
);

pub static LIMIT_RANGE_SPEC: Message =
    msg("k8s.io.api.core.v1.LimitRangeSpec", &[fld(1, "limits", Msg(&LIMIT_RANGE_ITEM), List)]);

pub static LIMIT_RANGE: Message = msg(
    "k8s.io.api.core.v1.LimitRange",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&LIMIT_RANGE_SPEC), One)],
);

pub static EVENT_SOURCE: Message =
    msg("k8s.io.api.core.v1.EventSource", &[fld(1, "component", Str, One), fld(2, "host", Str, One)]);

pub static EVENT_SERIES: Message =
    msg("k8s.io.api.core.v1.EventSeries", &[fld(1, "count", I32, One), fld(2, "lastObservedTime", MicroTime, One)]);

pub static EVENT: Message = msg(
    "k8s.io.api.core.v1.Event",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "involvedObject", Msg(&OBJECT_REFERENCE), One),
        fld(3, "reason", Str, One),
        fld(4, "message", Str, One),
        fld(5, "source", Msg(&EVENT_SOURCE), One),
        fld(6, "firstTimestamp", Time, One),
        fld(7, "lastTimestamp", Time, One),
        fld(8, "count", I32, One),
        fld(9, "type", Str, One),
        fld(10, "eventTime", MicroTime, One),
        fld(11, "series", Msg(&EVENT_SERIES), One),
        fld(12, "action", Str, One),
        fld(13, "related", Msg(&OBJECT_REFERENCE), One),
        fld(14, "reportingComponent", Str, One),
        fld(15, "reportingInstance", Str, One),
    ],
);

pub static POD_TEMPLATE: Message = msg(
    "k8s.io.api.core.v1.PodTemplate",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "template", Msg(&POD_TEMPLATE_SPEC), One)],
);

pub static BINDING: Message = msg(
    "k8s.io.api.core.v1.Binding",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "target", Msg(&OBJECT_REFERENCE), One)],
);
