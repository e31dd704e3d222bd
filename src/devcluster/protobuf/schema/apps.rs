//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static ROLLING_UPDATE_DEPLOYMENT: Message = msg(
    "k8s.io.api.apps.v1.RollingUpdateDeployment",
    &[fld(1, "maxUnavailable", IntOrString, One), fld(2, "maxSurge", IntOrString, One)],
);

pub static DEPLOYMENT_STRATEGY: Message = msg(
    "k8s.io.api.apps.v1.DeploymentStrategy",
    &[fld(1, "type", Str, One), fld(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT), One)],
);

pub static DEPLOYMENT_SPEC: Message = msg(
    "k8s.io.api.apps.v1.DeploymentSpec",
    &[
        fld(1, "replicas", I32, One),
        fld(2, "selector", Msg(&LABEL_SELECTOR), One),
        fld(3, "template", Msg(&POD_TEMPLATE_SPEC), One),
        fld(4, "strategy", Msg(&DEPLOYMENT_STRATEGY), One),
        fld(5, "minReadySeconds", I32, One),
        fld(6, "revisionHistoryLimit", I32, One),
        fld(7, "paused", Bool, One),
        fld(9, "progressDeadlineSeconds", I32, One),
    ],
);

pub static DEPLOYMENT_CONDITION: Message = msg(
    "k8s.io.api.apps.v1.DeploymentCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(4, "reason", Str, One),
        fld(5, "message", Str, One),
        fld(6, "lastUpdateTime", Time, One),
        fld(7, "lastTransitionTime", Time, One),
    ],
);

pub static DEPLOYMENT_STATUS: Message = msg(
    "k8s.io.api.apps.v1.DeploymentStatus",
    &[
        fld(1, "observedGeneration", I64, One),
        fld(2, "replicas", I32, One),
        fld(3, "updatedReplicas", I32, One),
        fld(4, "availableReplicas", I32, One),
        fld(5, "unavailableReplicas", I32, One),
        fld(6, "conditions", Msg(&DEPLOYMENT_CONDITION), List),
        fld(7, "readyReplicas", I32, One),
        fld(8, "collisionCount", I32, One),
        fld(9, "terminatingReplicas", I32, One),
    ],
);

pub static DEPLOYMENT: Message = msg(
    "k8s.io.api.apps.v1.Deployment",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&DEPLOYMENT_SPEC), One),
        fld(3, "status", Msg(&DEPLOYMENT_STATUS), One),
    ],
);

pub static REPLICA_SET_SPEC: Message = msg(
    "k8s.io.api.apps.v1.ReplicaSetSpec",
    &[
        fld(1, "replicas", I32, One),
        fld(2, "selector", Msg(&LABEL_SELECTOR), One),
        fld(3, "template", Msg(&POD_TEMPLATE_SPEC), One),
        fld(4, "minReadySeconds", I32, One),
    ],
);

pub static REPLICA_SET_CONDITION: Message = msg(
    "k8s.io.api.apps.v1.ReplicaSetCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastTransitionTime", Time, One),
        fld(4, "reason", Str, One),
        fld(5, "message", Str, One),
    ],
);

pub static REPLICA_SET_STATUS: Message = msg(
    "k8s.io.api.apps.v1.ReplicaSetStatus",
    &[
        fld(1, "replicas", I32, One),
        fld(2, "fullyLabeledReplicas", I32, One),
        fld(3, "observedGeneration", I64, One),
        fld(4, "readyReplicas", I32, One),
        fld(5, "availableReplicas", I32, One),
        fld(6, "conditions", Msg(&REPLICA_SET_CONDITION), List),
        fld(7, "terminatingReplicas", I32, One),
    ],
);

pub static REPLICA_SET: Message = msg(
    "k8s.io.api.apps.v1.ReplicaSet",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&REPLICA_SET_SPEC), One),
        fld(3, "status", Msg(&REPLICA_SET_STATUS), One),
    ],
);

pub static ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Message = msg(
    "k8s.io.api.apps.v1.RollingUpdateStatefulSetStrategy",
    &[fld(1, "partition", I32, One), fld(2, "maxUnavailable", IntOrString, One)],
);

pub static STATEFUL_SET_UPDATE_STRATEGY: Message = msg(
    "k8s.io.api.apps.v1.StatefulSetUpdateStrategy",
    &[fld(1, "type", Str, One), fld(2, "rollingUpdate", Msg(&ROLLING_UPDATE_STATEFUL_SET_STRATEGY), One)],
);

pub static STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Message = msg(
    "k8s.io.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
    &[fld(1, "whenDeleted", Str, One), fld(2, "whenScaled", Str, One)],
);

pub static STATEFUL_SET_ORDINALS: Message = msg("k8s.io.api.apps.v1.StatefulSetOrdinals", &[fld(1, "start", I32, One)]);

pub static STATEFUL_SET_SPEC: Message = msg(
    "k8s.io.api.apps.v1.StatefulSetSpec",
    &[
        fld(1, "replicas", I32, One),
        fld(2, "selector", Msg(&LABEL_SELECTOR), One),
        fld(3, "template", Msg(&POD_TEMPLATE_SPEC), One),
        fld(4, "volumeClaimTemplates", Msg(&PERSISTENT_VOLUME_CLAIM), List),
        fld(5, "serviceName", Str, One),
        fld(6, "podManagementPolicy", Str, One),
        fld(7, "updateStrategy", Msg(&STATEFUL_SET_UPDATE_STRATEGY), One),
        fld(8, "revisionHistoryLimit", I32, One),
        fld(9, "minReadySeconds", I32, One),
        fld(
            10,
            "persistentVolumeClaimRetentionPolicy",
            Msg(&STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY),
            One,
        ),
        fld(11, "ordinals", Msg(&STATEFUL_SET_ORDINALS), One),
    ],
);

pub static STATEFUL_SET_CONDITION: Message = msg(
    "k8s.io.api.apps.v1.StatefulSetCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastTransitionTime", Time, One),
        fld(4, "reason", Str, One),
        fld(5, "message", Str, One),
    ],
);

pub static STATEFUL_SET_STATUS: Message = msg(
    "k8s.io.api.apps.v1.StatefulSetStatus",
    &[
        fld(1, "observedGeneration", I64, One),
        fld(2, "replicas", I32, One),
        fld(3, "readyReplicas", I32, One),
        fld(4, "currentReplicas", I32, One),
        fld(5, "updatedReplicas", I32, One),
        fld(6, "currentRevision", Str, One),
        fld(7, "updateRevision", Str, One),
        fld(9, "collisionCount", I32, One),
        fld(10, "conditions", Msg(&STATEFUL_SET_CONDITION), List),
        fld(11, "availableReplicas", I32, One),
    ],
);

pub static STATEFUL_SET: Message = msg(
    "k8s.io.api.apps.v1.StatefulSet",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&STATEFUL_SET_SPEC), One),
        fld(3, "status", Msg(&STATEFUL_SET_STATUS), One),
    ],
);

pub static ROLLING_UPDATE_DAEMON_SET: Message = msg(
    "k8s.io.api.apps.v1.RollingUpdateDaemonSet",
    &[fld(1, "maxUnavailable", IntOrString, One), fld(2, "maxSurge", IntOrString, One)],
);

pub static DAEMON_SET_UPDATE_STRATEGY: Message = msg(
    "k8s.io.api.apps.v1.DaemonSetUpdateStrategy",
    &[fld(1, "type", Str, One), fld(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DAEMON_SET), One)],
);

pub static DAEMON_SET_SPEC: Message = msg(
    "k8s.io.api.apps.v1.DaemonSetSpec",
    &[
        fld(1, "selector", Msg(&LABEL_SELECTOR), One),
        fld(2, "template", Msg(&POD_TEMPLATE_SPEC), One),
        fld(3, "updateStrategy", Msg(&DAEMON_SET_UPDATE_STRATEGY), One),
        fld(4, "minReadySeconds", I32, One),
        fld(6, "revisionHistoryLimit", I32, One),
    ],
);

pub static DAEMON_SET_CONDITION: Message = msg(
    "k8s.io.api.apps.v1.DaemonSetCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastTransitionTime", Time, One),
        fld(4, "reason", Str, One),
        fld(5, "message", Str, One),
    ],
);

pub static DAEMON_SET_STATUS: Message = msg(
    "k8s.io.api.apps.v1.DaemonSetStatus",
    &[
        fld(1, "currentNumberScheduled", I32, One),
        fld(2, "numberMisscheduled", I32, One),
        fld(3, "desiredNumberScheduled", I32, One),
        fld(4, "numberReady", I32, One),
        fld(5, "observedGeneration", I64, One),
        fld(6, "updatedNumberScheduled", I32, One),
        fld(7, "numberAvailable", I32, One),
        fld(8, "numberUnavailable", I32, One),
        fld(9, "collisionCount", I32, One),
        fld(10, "conditions", Msg(&DAEMON_SET_CONDITION), List),
    ],
);

pub static DAEMON_SET: Message = msg(
    "k8s.io.api.apps.v1.DaemonSet",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&DAEMON_SET_SPEC), One),
        fld(3, "status", Msg(&DAEMON_SET_STATUS), One),
    ],
);
