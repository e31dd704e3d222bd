//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static TYPED_OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.core.v1.TypedObjectReference",
    &[fld(1, "apiGroup", Str, One), fld(2, "kind", Str, One), fld(3, "name", Str, One), fld(4, "namespace", Str, One)],
);

pub static PERSISTENT_VOLUME_CLAIM_SPEC: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaimSpec",
    &[
        fld(1, "accessModes", Str, List),
        fld(2, "resources", Msg(&VOLUME_RESOURCE_REQUIREMENTS), One),
        fld(3, "volumeName", Str, One),
        fld(4, "selector", Msg(&LABEL_SELECTOR), One),
        fld(5, "storageClassName", Str, One),
        fld(6, "volumeMode", Str, One),
        fld(7, "dataSource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE), One),
        fld(8, "dataSourceRef", Msg(&TYPED_OBJECT_REFERENCE), One),
        fld(9, "volumeAttributesClassName", Str, One),
    ],
);

pub static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaimTemplate",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC), One)],
);

pub static EPHEMERAL_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.EphemeralVolumeSource",
    &[fld(1, "volumeClaimTemplate", Msg(&PERSISTENT_VOLUME_CLAIM_TEMPLATE), One)],
);

pub static IMAGE_VOLUME_SOURCE: Message =
    msg("k8s.io.api.core.v1.ImageVolumeSource", &[fld(1, "reference", Str, One), fld(2, "pullPolicy", Str, One)]);

pub static VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.VolumeSource",
    &[
        fld(1, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE), One),
        fld(2, "emptyDir", Msg(&EMPTY_DIR_VOLUME_SOURCE), One),
        fld(3, "gcePersistentDisk", Msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE), One),
        fld(4, "awsElasticBlockStore", Msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE), One),
        fld(5, "gitRepo", Msg(&GIT_REPO_VOLUME_SOURCE), One),
        fld(6, "secret", Msg(&SECRET_VOLUME_SOURCE), One),
        fld(7, "nfs", Msg(&NFS_VOLUME_SOURCE), One),
        fld(8, "iscsi", Msg(&ISCSI_VOLUME_SOURCE), One),
        fld(9, "glusterfs", Msg(&GLUSTERFS_VOLUME_SOURCE), One),
        fld(10, "persistentVolumeClaim", Msg(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE), One),
        fld(11, "rbd", Msg(&RBD_VOLUME_SOURCE), One),
        fld(12, "flexVolume", Msg(&FLEX_VOLUME_SOURCE), One),
        fld(13, "cinder", Msg(&CINDER_VOLUME_SOURCE), One),
        fld(14, "cephfs", Msg(&CEPH_FS_VOLUME_SOURCE), One),
        fld(15, "flocker", Msg(&FLOCKER_VOLUME_SOURCE), One),
        fld(16, "downwardAPI", Msg(&DOWNWARD_APIVOLUME_SOURCE), One),
        fld(17, "fc", Msg(&FC_VOLUME_SOURCE), One),
        fld(18, "azureFile", Msg(&AZURE_FILE_VOLUME_SOURCE), One),
        fld(19, "configMap", Msg(&CONFIG_MAP_VOLUME_SOURCE), One),
        fld(20, "vsphereVolume", Msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE), One),
        fld(21, "quobyte", Msg(&QUOBYTE_VOLUME_SOURCE), One),
        fld(22, "azureDisk", Msg(&AZURE_DISK_VOLUME_SOURCE), One),
        fld(23, "photonPersistentDisk", Msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE), One),
        fld(24, "portworxVolume", Msg(&PORTWORX_VOLUME_SOURCE), One),
        fld(25, "scaleIO", Msg(&SCALE_IO_VOLUME_SOURCE), One),
        fld(26, "projected", Msg(&PROJECTED_VOLUME_SOURCE), One),
        fld(27, "storageos", Msg(&STORAGE_OS_VOLUME_SOURCE), One),
        fld(28, "csi", Msg(&CSIVOLUME_SOURCE), One),
        fld(29, "ephemeral", Msg(&EPHEMERAL_VOLUME_SOURCE), One),
        fld(30, "image", Msg(&IMAGE_VOLUME_SOURCE), One),
    ],
);

pub static VOLUME: Message =
    msg("k8s.io.api.core.v1.Volume", &[fld(1, "name", Str, One), fld(2, "", Msg(&VOLUME_SOURCE), Inline)]);

pub static CONTAINER_PORT: Message = msg(
    "k8s.io.api.core.v1.ContainerPort",
    &[
        fld(1, "name", Str, One),
        fld(2, "hostPort", I32, One),
        fld(3, "containerPort", I32, One),
        fld(4, "protocol", Str, One),
        fld(5, "hostIP", Str, One),
    ],
);

pub static CONFIG_MAP_ENV_SOURCE: Message = msg(
    "k8s.io.api.core.v1.ConfigMapEnvSource",
    &[fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline), fld(2, "optional", Bool, One)],
);

pub static SECRET_ENV_SOURCE: Message = msg(
    "k8s.io.api.core.v1.SecretEnvSource",
    &[fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline), fld(2, "optional", Bool, One)],
);

pub static ENV_FROM_SOURCE: Message = msg(
    "k8s.io.api.core.v1.EnvFromSource",
    &[
        fld(1, "prefix", Str, One),
        fld(2, "configMapRef", Msg(&CONFIG_MAP_ENV_SOURCE), One),
        fld(3, "secretRef", Msg(&SECRET_ENV_SOURCE), One),
    ],
);

pub static CONFIG_MAP_KEY_SELECTOR: Message = msg(
    "k8s.io.api.core.v1.ConfigMapKeySelector",
    &[fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline), fld(2, "key", Str, One), fld(3, "optional", Bool, One)],
);

pub static SECRET_KEY_SELECTOR: Message = msg(
    "k8s.io.api.core.v1.SecretKeySelector",
    &[fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline), fld(2, "key", Str, One), fld(3, "optional", Bool, One)],
);

pub static FILE_KEY_SELECTOR: Message = msg(
    "k8s.io.api.core.v1.FileKeySelector",
    &[fld(1, "volumeName", Str, One), fld(2, "path", Str, One), fld(3, "key", Str, One), fld(4, "optional", Bool, One)],
);

pub static ENV_VAR_SOURCE: Message = msg(
    "k8s.io.api.core.v1.EnvVarSource",
    &[
        fld(1, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR), One),
        fld(2, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR), One),
        fld(3, "configMapKeyRef", Msg(&CONFIG_MAP_KEY_SELECTOR), One),
        fld(4, "secretKeyRef", Msg(&SECRET_KEY_SELECTOR), One),
        fld(5, "fileKeyRef", Msg(&FILE_KEY_SELECTOR), One),
    ],
);

pub static ENV_VAR: Message = msg(
    "k8s.io.api.core.v1.EnvVar",
    &[fld(1, "name", Str, One), fld(2, "value", Str, One), fld(3, "valueFrom", Msg(&ENV_VAR_SOURCE), One)],
);

pub static RESOURCE_CLAIM: Message =
    msg("k8s.io.api.core.v1.ResourceClaim", &[fld(1, "name", Str, One), fld(2, "request", Str, One)]);

pub static RESOURCE_REQUIREMENTS: Message = msg(
    "k8s.io.api.core.v1.ResourceRequirements",
    &[fld(1, "limits", Quantity, Map), fld(2, "requests", Quantity, Map), fld(3, "claims", Msg(&RESOURCE_CLAIM), List)],
);

pub static CONTAINER_RESIZE_POLICY: Message = msg(
    "k8s.io.api.core.v1.ContainerResizePolicy",
    &[fld(1, "resourceName", Str, One), fld(2, "restartPolicy", Str, One)],
);

pub static CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = msg(
    "k8s.io.api.core.v1.ContainerRestartRuleOnExitCodes",
    &[fld(1, "operator", Str, One), fld(2, "values", I32, List)],
);

pub static CONTAINER_RESTART_RULE: Message = msg(
    "k8s.io.api.core.v1.ContainerRestartRule",
    &[fld(1, "action", Str, One), fld(2, "exitCodes", Msg(&CONTAINER_RESTART_RULE_ON_EXIT_CODES), One)],
);

pub static VOLUME_MOUNT: Message = msg(
    "k8s.io.api.core.v1.VolumeMount",
    &[
        fld(1, "name", Str, One),
        fld(2, "readOnly", Bool, One),
        fld(3, "mountPath", Str, One),
        fld(4, "subPath", Str, One),
        fld(5, "mountPropagation", Str, One),
        fld(6, "subPathExpr", Str, One),
        fld(7, "recursiveReadOnly", Str, One),
    ],
);

pub static VOLUME_DEVICE: Message =
    msg("k8s.io.api.core.v1.VolumeDevice", &[fld(1, "name", Str, One), fld(2, "devicePath", Str, One)]);

pub static EXEC_ACTION: Message = msg("k8s.io.api.core.v1.ExecAction", &[fld(1, "command", Str, List)]);

pub static HTTP_HEADER: Message =
    msg("k8s.io.api.core.v1.HttpHeader", &[fld(1, "name", Str, One), fld(2, "value", Str, One)]);

pub static HTTP_GET_ACTION: Message = msg(
    "k8s.io.api.core.v1.HttpGetAction",
    &[
        fld(1, "path", Str, One),
        fld(2, "port", IntOrString, One),
        fld(3, "host", Str, One),
        fld(4, "scheme", Str, One),
        fld(5, "httpHeaders", Msg(&HTTP_HEADER), List),
    ],
);

pub static TCP_SOCKET_ACTION: Message =
    msg("k8s.io.api.core.v1.TcpSocketAction", &[fld(1, "port", IntOrString, One), fld(2, "host", Str, One)]);

pub static GRPC_ACTION: Message =
    msg("k8s.io.api.core.v1.GrpcAction", &[fld(1, "port", I32, One), fld(2, "service", Str, One)]);

pub static PROBE_HANDLER: Message = msg(
    "k8s.io.api.core.v1.ProbeHandler",
    &[
        fld(1, "exec", Msg(&EXEC_ACTION), One),
        fld(2, "httpGet", Msg(&HTTP_GET_ACTION), One),
        fld(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION), One),
        fld(4, "grpc", Msg(&GRPC_ACTION), One),
    ],
);

pub static PROBE: Message = msg(
    "k8s.io.api.core.v1.Probe",
    &[
        fld(1, "", Msg(&PROBE_HANDLER), Inline),
        fld(2, "initialDelaySeconds", I32, One),
        fld(3, "timeoutSeconds", I32, One),
        fld(4, "periodSeconds", I32, One),
        fld(5, "successThreshold", I32, One),
        fld(6, "failureThreshold", I32, One),
        fld(7, "terminationGracePeriodSeconds", I64, One),
    ],
);

pub static SLEEP_ACTION: Message = msg("k8s.io.api.core.v1.SleepAction", &[fld(1, "seconds", I64, One)]);

pub static LIFECYCLE_HANDLER: Message = msg(
    "k8s.io.api.core.v1.LifecycleHandler",
    &[
        fld(1, "exec", Msg(&EXEC_ACTION), One),
        fld(2, "httpGet", Msg(&HTTP_GET_ACTION), One),
        fld(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION), One),
        fld(4, "sleep", Msg(&SLEEP_ACTION), One),
    ],
);

pub static LIFECYCLE: Message = msg(
    "k8s.io.api.core.v1.Lifecycle",
    &[
        fld(1, "postStart", Msg(&LIFECYCLE_HANDLER), One),
        fld(2, "preStop", Msg(&LIFECYCLE_HANDLER), One),
        fld(3, "stopSignal", Str, One),
    ],
);

pub static CAPABILITIES: Message =
    msg("k8s.io.api.core.v1.Capabilities", &[fld(1, "add", Str, List), fld(2, "drop", Str, List)]);

pub static SE_LINUX_OPTIONS: Message = msg(
    "k8s.io.api.core.v1.SeLinuxOptions",
    &[fld(1, "user", Str, One), fld(2, "role", Str, One), fld(3, "type", Str, One), fld(4, "level", Str, One)],
);

pub static WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = msg(
    "k8s.io.api.core.v1.WindowsSecurityContextOptions",
    &[
        fld(1, "gmsaCredentialSpecName", Str, One),
        fld(2, "gmsaCredentialSpec", Str, One),
        fld(3, "runAsUserName", Str, One),
        fld(4, "hostProcess", Bool, One),
    ],
);

pub static SECCOMP_PROFILE: Message =
    msg("k8s.io.api.core.v1.SeccompProfile", &[fld(1, "type", Str, One), fld(2, "localhostProfile", Str, One)]);

pub static APP_ARMOR_PROFILE: Message =
    msg("k8s.io.api.core.v1.AppArmorProfile", &[fld(1, "type", Str, One), fld(2, "localhostProfile", Str, One)]);

pub static SECURITY_CONTEXT: Message = msg(
    "k8s.io.api.core.v1.SecurityContext",
    &[
        fld(1, "capabilities", Msg(&CAPABILITIES), One),
        fld(2, "privileged", Bool, One),
        fld(3, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS), One),
        fld(4, "runAsUser", I64, One),
        fld(5, "runAsNonRoot", Bool, One),
        fld(6, "readOnlyRootFilesystem", Bool, One),
        fld(7, "allowPrivilegeEscalation", Bool, One),
        fld(8, "runAsGroup", I64, One),
        fld(9, "procMount", Str, One),
        fld(10, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS), One),
        fld(11, "seccompProfile", Msg(&SECCOMP_PROFILE), One),
        fld(12, "appArmorProfile", Msg(&APP_ARMOR_PROFILE), One),
    ],
);

pub static CONTAINER: Message = msg(
    "k8s.io.api.core.v1.Container",
    &[
        fld(1, "name", Str, One),
        fld(2, "image", Str, One),
        fld(3, "command", Str, List),
        fld(4, "args", Str, List),
        fld(5, "workingDir", Str, One),
        fld(6, "ports", Msg(&CONTAINER_PORT), List),
        fld(7, "env", Msg(&ENV_VAR), List),
        fld(8, "resources", Msg(&RESOURCE_REQUIREMENTS), One),
        fld(9, "volumeMounts", Msg(&VOLUME_MOUNT), List),
        fld(10, "livenessProbe", Msg(&PROBE), One),
        fld(11, "readinessProbe", Msg(&PROBE), One),
        fld(12, "lifecycle", Msg(&LIFECYCLE), One),
        fld(13, "terminationMessagePath", Str, One),
        fld(14, "imagePullPolicy", Str, One),
        fld(15, "securityContext", Msg(&SECURITY_CONTEXT), One),
        fld(16, "stdin", Bool, One),
        fld(17, "stdinOnce", Bool, One),
        fld(18, "tty", Bool, One),
        fld(19, "envFrom", Msg(&ENV_FROM_SOURCE), List),
        fld(20, "terminationMessagePolicy", Str, One),
        fld(21, "volumeDevices", Msg(&VOLUME_DEVICE), List),
        fld(22, "startupProbe", Msg(&PROBE), One),
        fld(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY), List),
        fld(24, "restartPolicy", Str, One),
        fld(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE), List),
    ],
);

pub static EPHEMERAL_CONTAINER_COMMON: Message = msg(
    "k8s.io.api.core.v1.EphemeralContainerCommon",
    &[
        fld(1, "name", Str, One),
        fld(2, "image", Str, One),
        fld(3, "command", Str, List),
        fld(4, "args", Str, List),
        fld(5, "workingDir", Str, One),
        fld(6, "ports", Msg(&CONTAINER_PORT), List),
        fld(7, "env", Msg(&ENV_VAR), List),
        fld(8, "resources", Msg(&RESOURCE_REQUIREMENTS), One),
        fld(9, "volumeMounts", Msg(&VOLUME_MOUNT), List),
        fld(10, "livenessProbe", Msg(&PROBE), One),
        fld(11, "readinessProbe", Msg(&PROBE), One),
        fld(12, "lifecycle", Msg(&LIFECYCLE), One),
        fld(13, "terminationMessagePath", Str, One),
        fld(14, "imagePullPolicy", Str, One),
        fld(15, "securityContext", Msg(&SECURITY_CONTEXT), One),
        fld(16, "stdin", Bool, One),
        fld(17, "stdinOnce", Bool, One),
        fld(18, "tty", Bool, One),
        fld(19, "envFrom", Msg(&ENV_FROM_SOURCE), List),
        fld(20, "terminationMessagePolicy", Str, One),
        fld(21, "volumeDevices", Msg(&VOLUME_DEVICE), List),
        fld(22, "startupProbe", Msg(&PROBE), One),
        fld(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY), List),
        fld(24, "restartPolicy", Str, One),
        fld(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE), List),
    ],
);

pub static EPHEMERAL_CONTAINER: Message = msg(
    "k8s.io.api.core.v1.EphemeralContainer",
    &[fld(1, "", Msg(&EPHEMERAL_CONTAINER_COMMON), Inline), fld(2, "targetContainerName", Str, One)],
);

pub static SYSCTL: Message = msg("k8s.io.api.core.v1.Sysctl", &[fld(1, "name", Str, One), fld(2, "value", Str, One)]);

pub static POD_SECURITY_CONTEXT: Message = msg(
    "k8s.io.api.core.v1.PodSecurityContext",
    &[
        fld(1, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS), One),
        fld(2, "runAsUser", I64, One),
        fld(3, "runAsNonRoot", Bool, One),
        fld(4, "supplementalGroups", I64, List),
        fld(5, "fsGroup", I64, One),
        fld(6, "runAsGroup", I64, One),
        fld(7, "sysctls", Msg(&SYSCTL), List),
        fld(8, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS), One),
        fld(9, "fsGroupChangePolicy", Str, One),
        fld(10, "seccompProfile", Msg(&SECCOMP_PROFILE), One),
        fld(11, "appArmorProfile", Msg(&APP_ARMOR_PROFILE), One),
        fld(12, "supplementalGroupsPolicy", Str, One),
        fld(13, "seLinuxChangePolicy", Str, One),
    ],
);

pub static NODE_SELECTOR_REQUIREMENT: Message = msg(
    "k8s.io.api.core.v1.NodeSelectorRequirement",
    &[fld(1, "key", Str, One), fld(2, "operator", Str, One), fld(3, "values", Str, List)],
);

pub static NODE_SELECTOR_TERM: Message = msg(
    "k8s.io.api.core.v1.NodeSelectorTerm",
    &[
        fld(1, "matchExpressions", Msg(&NODE_SELECTOR_REQUIREMENT), List),
        fld(2, "matchFields", Msg(&NODE_SELECTOR_REQUIREMENT), List),
    ],
);

pub static NODE_SELECTOR: Message =
    msg("k8s.io.api.core.v1.NodeSelector", &[fld(1, "nodeSelectorTerms", Msg(&NODE_SELECTOR_TERM), List)]);

pub static PREFERRED_SCHEDULING_TERM: Message = msg(
    "k8s.io.api.core.v1.PreferredSchedulingTerm",
    &[fld(1, "weight", I32, One), fld(2, "preference", Msg(&NODE_SELECTOR_TERM), One)],
);

pub static NODE_AFFINITY: Message = msg(
    "k8s.io.api.core.v1.NodeAffinity",
    &[
        fld(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&NODE_SELECTOR), One),
        fld(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&PREFERRED_SCHEDULING_TERM), List),
    ],
);

pub static POD_AFFINITY_TERM: Message = msg(
    "k8s.io.api.core.v1.PodAffinityTerm",
    &[
        fld(1, "labelSelector", Msg(&LABEL_SELECTOR), One),
        fld(2, "namespaces", Str, List),
        fld(3, "topologyKey", Str, One),
        fld(4, "namespaceSelector", Msg(&LABEL_SELECTOR), One),
        fld(5, "matchLabelKeys", Str, List),
        fld(6, "mismatchLabelKeys", Str, List),
    ],
);

pub static WEIGHTED_POD_AFFINITY_TERM: Message = msg(
    "k8s.io.api.core.v1.WeightedPodAffinityTerm",
    &[fld(1, "weight", I32, One), fld(2, "podAffinityTerm", Msg(&POD_AFFINITY_TERM), One)],
);

pub static POD_AFFINITY: Message = msg(
    "k8s.io.api.core.v1.PodAffinity",
    &[
        fld(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM), List),
        fld(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM), List),
    ],
);

pub static POD_ANTI_AFFINITY: Message = msg(
    "k8s.io.api.core.v1.PodAntiAffinity",
    &[
        fld(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM), List),
        fld(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM), List),
    ],
);

pub static AFFINITY: Message = msg(
    "k8s.io.api.core.v1.Affinity",
    &[
        fld(1, "nodeAffinity", Msg(&NODE_AFFINITY), One),
        fld(2, "podAffinity", Msg(&POD_AFFINITY), One),
        fld(3, "podAntiAffinity", Msg(&POD_ANTI_AFFINITY), One),
    ],
);

pub static TOLERATION: Message = msg(
    "k8s.io.api.core.v1.Toleration",
    &[
        fld(1, "key", Str, One),
        fld(2, "operator", Str, One),
        fld(3, "value", Str, One),
        fld(4, "effect", Str, One),
        fld(5, "tolerationSeconds", I64, One),
    ],
);

pub static HOST_ALIAS: Message =
    msg("k8s.io.api.core.v1.HostAlias", &[fld(1, "ip", Str, One), fld(2, "hostnames", Str, List)]);

pub static POD_DNS_CONFIG_OPTION: Message =
    msg("k8s.io.api.core.v1.PodDnsConfigOption", &[fld(1, "name", Str, One), fld(2, "value", Str, One)]);
