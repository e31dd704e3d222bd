//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static NAMESPACE_SPEC: Message = msg("k8s.io.api.core.v1.NamespaceSpec", &[fld(1, "finalizers", Str, List)]);

pub static NAMESPACE_CONDITION: Message = msg(
    "k8s.io.api.core.v1.NamespaceCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(4, "lastTransitionTime", Time, One),
        fld(5, "reason", Str, One),
        fld(6, "message", Str, One),
    ],
);

pub static NAMESPACE_STATUS: Message = msg(
    "k8s.io.api.core.v1.NamespaceStatus",
    &[fld(1, "phase", Str, One), fld(2, "conditions", Msg(&NAMESPACE_CONDITION), List)],
);

pub static NAMESPACE: Message = msg(
    "k8s.io.api.core.v1.Namespace",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&NAMESPACE_SPEC), One),
        fld(3, "status", Msg(&NAMESPACE_STATUS), One),
    ],
);

pub static OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.core.v1.ObjectReference",
    &[
        fld(1, "kind", Str, One),
        fld(2, "namespace", Str, One),
        fld(3, "name", Str, One),
        fld(4, "uid", Str, One),
        fld(5, "apiVersion", Str, One),
        fld(6, "resourceVersion", Str, One),
        fld(7, "fieldPath", Str, One),
    ],
);

pub static LOCAL_OBJECT_REFERENCE: Message =
    msg("k8s.io.api.core.v1.LocalObjectReference", &[fld(1, "name", Str, One)]);

pub static SERVICE_ACCOUNT: Message = msg(
    "k8s.io.api.core.v1.ServiceAccount",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "secrets", Msg(&OBJECT_REFERENCE), List),
        fld(3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), List),
        fld(4, "automountServiceAccountToken", Bool, One),
    ],
);

pub static CONFIG_MAP: Message = msg(
    "k8s.io.api.core.v1.ConfigMap",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "data", Str, Map),
        fld(3, "binaryData", Bytes, Map),
        fld(4, "immutable", Bool, One),
    ],
);

pub static SECRET: Message = msg(
    "k8s.io.api.core.v1.Secret",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "data", Bytes, Map),
        fld(3, "type", Str, One),
        fld(4, "stringData", Str, Map),
        fld(5, "immutable", Bool, One),
    ],
);

pub static SERVICE_PORT: Message = msg(
    "k8s.io.api.core.v1.ServicePort",
    &[
        fld(1, "name", Str, One),
        fld(2, "protocol", Str, One),
        fld(3, "port", I32, One),
        fld(4, "targetPort", IntOrString, One),
        fld(5, "nodePort", I32, One),
        fld(6, "appProtocol", Str, One),
    ],
);

pub static CLIENT_IP_CONFIG: Message = msg("k8s.io.api.core.v1.ClientIpConfig", &[fld(1, "timeoutSeconds", I32, One)]);

pub static SESSION_AFFINITY_CONFIG: Message =
    msg("k8s.io.api.core.v1.SessionAffinityConfig", &[fld(1, "clientIP", Msg(&CLIENT_IP_CONFIG), One)]);

pub static SERVICE_SPEC: Message = msg(
    "k8s.io.api.core.v1.ServiceSpec",
    &[
        fld(1, "ports", Msg(&SERVICE_PORT), List),
        fld(2, "selector", Str, Map),
        fld(3, "clusterIP", Str, One),
        fld(4, "type", Str, One),
        fld(5, "externalIPs", Str, List),
        fld(7, "sessionAffinity", Str, One),
        fld(8, "loadBalancerIP", Str, One),
        fld(9, "loadBalancerSourceRanges", Str, List),
        fld(10, "externalName", Str, One),
        fld(11, "externalTrafficPolicy", Str, One),
        fld(12, "healthCheckNodePort", I32, One),
        fld(13, "publishNotReadyAddresses", Bool, One),
        fld(14, "sessionAffinityConfig", Msg(&SESSION_AFFINITY_CONFIG), One),
        fld(17, "ipFamilyPolicy", Str, One),
        fld(18, "clusterIPs", Str, List),
        fld(19, "ipFamilies", Str, List),
        fld(20, "allocateLoadBalancerNodePorts", Bool, One),
        fld(21, "loadBalancerClass", Str, One),
        fld(22, "internalTrafficPolicy", Str, One),
        fld(23, "trafficDistribution", Str, One),
    ],
);

pub static PORT_STATUS: Message = msg(
    "k8s.io.api.core.v1.PortStatus",
    &[fld(1, "port", I32, One), fld(2, "protocol", Str, One), fld(3, "error", Str, One)],
);

pub static LOAD_BALANCER_INGRESS: Message = msg(
    "k8s.io.api.core.v1.LoadBalancerIngress",
    &[
        fld(1, "ip", Str, One),
        fld(2, "hostname", Str, One),
        fld(3, "ipMode", Str, One),
        fld(4, "ports", Msg(&PORT_STATUS), List),
    ],
);

pub static LOAD_BALANCER_STATUS: Message =
    msg("k8s.io.api.core.v1.LoadBalancerStatus", &[fld(1, "ingress", Msg(&LOAD_BALANCER_INGRESS), List)]);

pub static SERVICE_STATUS: Message = msg(
    "k8s.io.api.core.v1.ServiceStatus",
    &[fld(1, "loadBalancer", Msg(&LOAD_BALANCER_STATUS), One), fld(2, "conditions", Msg(&CONDITION), List)],
);

pub static SERVICE: Message = msg(
    "k8s.io.api.core.v1.Service",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SERVICE_SPEC), One),
        fld(3, "status", Msg(&SERVICE_STATUS), One),
    ],
);

pub static HOST_PATH_VOLUME_SOURCE: Message =
    msg("k8s.io.api.core.v1.HostPathVolumeSource", &[fld(1, "path", Str, One), fld(2, "type", Str, One)]);

pub static EMPTY_DIR_VOLUME_SOURCE: Message =
    msg("k8s.io.api.core.v1.EmptyDirVolumeSource", &[fld(1, "medium", Str, One), fld(2, "sizeLimit", Quantity, One)]);

pub static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.GcePersistentDiskVolumeSource",
    &[
        fld(1, "pdName", Str, One),
        fld(2, "fsType", Str, One),
        fld(3, "partition", I32, One),
        fld(4, "readOnly", Bool, One),
    ],
);

pub static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.AwsElasticBlockStoreVolumeSource",
    &[
        fld(1, "volumeID", Str, One),
        fld(2, "fsType", Str, One),
        fld(3, "partition", I32, One),
        fld(4, "readOnly", Bool, One),
    ],
);

pub static GIT_REPO_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.GitRepoVolumeSource",
    &[fld(1, "repository", Str, One), fld(2, "revision", Str, One), fld(3, "directory", Str, One)],
);

pub static KEY_TO_PATH: Message =
    msg("k8s.io.api.core.v1.KeyToPath", &[fld(1, "key", Str, One), fld(2, "path", Str, One), fld(3, "mode", I32, One)]);

pub static SECRET_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.SecretVolumeSource",
    &[
        fld(1, "secretName", Str, One),
        fld(2, "items", Msg(&KEY_TO_PATH), List),
        fld(3, "defaultMode", I32, One),
        fld(4, "optional", Bool, One),
    ],
);

pub static NFS_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.NfsVolumeSource",
    &[fld(1, "server", Str, One), fld(2, "path", Str, One), fld(3, "readOnly", Bool, One)],
);

pub static ISCSI_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.IscsiVolumeSource",
    &[
        fld(1, "targetPortal", Str, One),
        fld(2, "iqn", Str, One),
        fld(3, "lun", I32, One),
        fld(4, "iscsiInterface", Str, One),
        fld(5, "fsType", Str, One),
        fld(6, "readOnly", Bool, One),
        fld(7, "portals", Str, List),
        fld(8, "chapAuthDiscovery", Bool, One),
        fld(10, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
        fld(11, "chapAuthSession", Bool, One),
        fld(12, "initiatorName", Str, One),
    ],
);

pub static GLUSTERFS_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.GlusterfsVolumeSource",
    &[fld(1, "endpoints", Str, One), fld(2, "path", Str, One), fld(3, "readOnly", Bool, One)],
);

pub static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.PersistentVolumeClaimVolumeSource",
    &[fld(1, "claimName", Str, One), fld(2, "readOnly", Bool, One)],
);

pub static RBD_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.RbdVolumeSource",
    &[
        fld(1, "monitors", Str, List),
        fld(2, "image", Str, One),
        fld(3, "fsType", Str, One),
        fld(4, "pool", Str, One),
        fld(5, "user", Str, One),
        fld(6, "keyring", Str, One),
        fld(7, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
        fld(8, "readOnly", Bool, One),
    ],
);

pub static FLEX_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.FlexVolumeSource",
    &[
        fld(1, "driver", Str, One),
        fld(2, "fsType", Str, One),
        fld(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
        fld(4, "readOnly", Bool, One),
        fld(5, "options", Str, Map),
    ],
);

pub static CINDER_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.CinderVolumeSource",
    &[
        fld(1, "volumeID", Str, One),
        fld(2, "fsType", Str, One),
        fld(3, "readOnly", Bool, One),
        fld(4, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
    ],
);

pub static CEPH_FS_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.CephFsVolumeSource",
    &[
        fld(1, "monitors", Str, List),
        fld(2, "path", Str, One),
        fld(3, "user", Str, One),
        fld(4, "secretFile", Str, One),
        fld(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
        fld(6, "readOnly", Bool, One),
    ],
);

pub static FLOCKER_VOLUME_SOURCE: Message =
    msg("k8s.io.api.core.v1.FlockerVolumeSource", &[fld(1, "datasetName", Str, One), fld(2, "datasetUUID", Str, One)]);

pub static OBJECT_FIELD_SELECTOR: Message =
    msg("k8s.io.api.core.v1.ObjectFieldSelector", &[fld(1, "apiVersion", Str, One), fld(2, "fieldPath", Str, One)]);

pub static RESOURCE_FIELD_SELECTOR: Message = msg(
    "k8s.io.api.core.v1.ResourceFieldSelector",
    &[fld(1, "containerName", Str, One), fld(2, "resource", Str, One), fld(3, "divisor", Quantity, One)],
);

pub static DOWNWARD_APIVOLUME_FILE: Message = msg(
    "k8s.io.api.core.v1.DownwardAPIVolumeFile",
    &[
        fld(1, "path", Str, One),
        fld(2, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR), One),
        fld(3, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR), One),
        fld(4, "mode", I32, One),
    ],
);

pub static DOWNWARD_APIVOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.DownwardAPIVolumeSource",
    &[fld(1, "items", Msg(&DOWNWARD_APIVOLUME_FILE), List), fld(2, "defaultMode", I32, One)],
);

pub static FC_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.FcVolumeSource",
    &[
        fld(1, "targetWWNs", Str, List),
        fld(2, "lun", I32, One),
        fld(3, "fsType", Str, One),
        fld(4, "readOnly", Bool, One),
        fld(5, "wwids", Str, List),
    ],
);

pub static AZURE_FILE_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.AzureFileVolumeSource",
    &[fld(1, "secretName", Str, One), fld(2, "shareName", Str, One), fld(3, "readOnly", Bool, One)],
);

pub static CONFIG_MAP_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.ConfigMapVolumeSource",
    &[
        fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline),
        fld(2, "items", Msg(&KEY_TO_PATH), List),
        fld(3, "defaultMode", I32, One),
        fld(4, "optional", Bool, One),
    ],
);

pub static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.VsphereVirtualDiskVolumeSource",
    &[
        fld(1, "volumePath", Str, One),
        fld(2, "fsType", Str, One),
        fld(3, "storagePolicyName", Str, One),
        fld(4, "storagePolicyID", Str, One),
    ],
);

pub static QUOBYTE_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.QuobyteVolumeSource",
    &[
        fld(1, "registry", Str, One),
        fld(2, "volume", Str, One),
        fld(3, "readOnly", Bool, One),
        fld(4, "user", Str, One),
        fld(5, "group", Str, One),
        fld(6, "tenant", Str, One),
    ],
);

pub static AZURE_DISK_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.AzureDiskVolumeSource",
    &[
        fld(1, "diskName", Str, One),
        fld(2, "diskURI", Str, One),
        fld(3, "cachingMode", Str, One),
        fld(4, "fsType", Str, One),
        fld(5, "readOnly", Bool, One),
        fld(6, "kind", Str, One),
    ],
);

pub static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message =
    msg("k8s.io.api.core.v1.PhotonPersistentDiskVolumeSource", &[fld(1, "pdID", Str, One), fld(2, "fsType", Str, One)]);

pub static SECRET_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.SecretProjection",
    &[
        fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline),
        fld(2, "items", Msg(&KEY_TO_PATH), List),
        fld(4, "optional", Bool, One),
    ],
);

pub static DOWNWARD_APIPROJECTION: Message =
    msg("k8s.io.api.core.v1.DownwardAPIProjection", &[fld(1, "items", Msg(&DOWNWARD_APIVOLUME_FILE), List)]);

pub static CONFIG_MAP_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.ConfigMapProjection",
    &[
        fld(1, "", Msg(&LOCAL_OBJECT_REFERENCE), Inline),
        fld(2, "items", Msg(&KEY_TO_PATH), List),
        fld(4, "optional", Bool, One),
    ],
);

pub static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.ServiceAccountTokenProjection",
    &[fld(1, "audience", Str, One), fld(2, "expirationSeconds", I64, One), fld(3, "path", Str, One)],
);

pub static CLUSTER_TRUST_BUNDLE_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.ClusterTrustBundleProjection",
    &[
        fld(1, "name", Str, One),
        fld(2, "signerName", Str, One),
        fld(3, "labelSelector", Msg(&LABEL_SELECTOR), One),
        fld(4, "path", Str, One),
        fld(5, "optional", Bool, One),
    ],
);

pub static POD_CERTIFICATE_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.PodCertificateProjection",
    &[
        fld(1, "signerName", Str, One),
        fld(2, "keyType", Str, One),
        fld(3, "maxExpirationSeconds", I32, One),
        fld(4, "credentialBundlePath", Str, One),
        fld(5, "keyPath", Str, One),
        fld(6, "certificateChainPath", Str, One),
        fld(7, "userAnnotations", Str, Map),
    ],
);

pub static VOLUME_PROJECTION: Message = msg(
    "k8s.io.api.core.v1.VolumeProjection",
    &[
        fld(1, "secret", Msg(&SECRET_PROJECTION), One),
        fld(2, "downwardAPI", Msg(&DOWNWARD_APIPROJECTION), One),
        fld(3, "configMap", Msg(&CONFIG_MAP_PROJECTION), One),
        fld(4, "serviceAccountToken", Msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION), One),
        fld(5, "clusterTrustBundle", Msg(&CLUSTER_TRUST_BUNDLE_PROJECTION), One),
        fld(6, "podCertificate", Msg(&POD_CERTIFICATE_PROJECTION), One),
    ],
);

pub static PROJECTED_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.ProjectedVolumeSource",
    &[fld(1, "sources", Msg(&VOLUME_PROJECTION), List), fld(2, "defaultMode", I32, One)],
);

pub static PORTWORX_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.PortworxVolumeSource",
    &[fld(1, "volumeID", Str, One), fld(2, "fsType", Str, One), fld(3, "readOnly", Bool, One)],
);

pub static SCALE_IO_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.ScaleIoVolumeSource",
    &[
        fld(1, "gateway", Str, One),
        fld(2, "system", Str, One),
        fld(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
        fld(4, "sslEnabled", Bool, One),
        fld(5, "protectionDomain", Str, One),
        fld(6, "storagePool", Str, One),
        fld(7, "storageMode", Str, One),
        fld(8, "volumeName", Str, One),
        fld(9, "fsType", Str, One),
        fld(10, "readOnly", Bool, One),
    ],
);

pub static STORAGE_OS_VOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.StorageOsVolumeSource",
    &[
        fld(1, "volumeName", Str, One),
        fld(2, "volumeNamespace", Str, One),
        fld(3, "fsType", Str, One),
        fld(4, "readOnly", Bool, One),
        fld(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
    ],
);

pub static CSIVOLUME_SOURCE: Message = msg(
    "k8s.io.api.core.v1.CSIVolumeSource",
    &[
        fld(1, "driver", Str, One),
        fld(2, "readOnly", Bool, One),
        fld(3, "fsType", Str, One),
        fld(4, "volumeAttributes", Str, Map),
        fld(5, "nodePublishSecretRef", Msg(&LOCAL_OBJECT_REFERENCE), One),
    ],
);

pub static VOLUME_RESOURCE_REQUIREMENTS: Message = msg(
    "k8s.io.api.core.v1.VolumeResourceRequirements",
    &[fld(1, "limits", Quantity, Map), fld(2, "requests", Quantity, Map)],
);

pub static TYPED_LOCAL_OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.core.v1.TypedLocalObjectReference",
    &[fld(1, "apiGroup", Str, One), fld(2, "kind", Str, One), fld(3, "name", Str, One)],
);
