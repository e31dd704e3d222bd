//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static SCALE_SPEC: Message = msg("k8s.io.api.autoscaling.v1.ScaleSpec", &[fld(1, "replicas", I32, One)]);

pub static SCALE_STATUS: Message =
    msg("k8s.io.api.autoscaling.v1.ScaleStatus", &[fld(1, "replicas", I32, One), fld(2, "selector", Str, One)]);

pub static SCALE: Message = msg(
    "k8s.io.api.autoscaling.v1.Scale",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SCALE_SPEC), One),
        fld(3, "status", Msg(&SCALE_STATUS), One),
    ],
);

pub static CROSS_VERSION_OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.autoscaling.v1.CrossVersionObjectReference",
    &[fld(1, "kind", Str, One), fld(2, "name", Str, One), fld(3, "apiVersion", Str, One)],
);

pub static HORIZONTAL_POD_AUTOSCALER_SPEC: Message = msg(
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerSpec",
    &[
        fld(1, "scaleTargetRef", Msg(&CROSS_VERSION_OBJECT_REFERENCE), One),
        fld(2, "minReplicas", I32, One),
        fld(3, "maxReplicas", I32, One),
        fld(4, "targetCPUUtilizationPercentage", I32, One),
    ],
);

pub static HORIZONTAL_POD_AUTOSCALER_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatus",
    &[
        fld(1, "observedGeneration", I64, One),
        fld(2, "lastScaleTime", Time, One),
        fld(3, "currentReplicas", I32, One),
        fld(4, "desiredReplicas", I32, One),
        fld(5, "currentCPUUtilizationPercentage", I32, One),
    ],
);

pub static HORIZONTAL_POD_AUTOSCALER: Message = msg(
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&HORIZONTAL_POD_AUTOSCALER_SPEC), One),
        fld(3, "status", Msg(&HORIZONTAL_POD_AUTOSCALER_STATUS), One),
    ],
);

pub static AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.autoscaling.v2.CrossVersionObjectReference",
    &[fld(1, "kind", Str, One), fld(2, "name", Str, One), fld(3, "apiVersion", Str, One)],
);

pub static METRIC_TARGET: Message = msg(
    "k8s.io.api.autoscaling.v2.MetricTarget",
    &[
        fld(1, "type", Str, One),
        fld(2, "value", Quantity, One),
        fld(3, "averageValue", Quantity, One),
        fld(4, "averageUtilization", I32, One),
    ],
);

pub static METRIC_IDENTIFIER: Message = msg(
    "k8s.io.api.autoscaling.v2.MetricIdentifier",
    &[fld(1, "name", Str, One), fld(2, "selector", Msg(&LABEL_SELECTOR), One)],
);

pub static OBJECT_METRIC_SOURCE: Message = msg(
    "k8s.io.api.autoscaling.v2.ObjectMetricSource",
    &[
        fld(1, "describedObject", Msg(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), One),
        fld(2, "target", Msg(&METRIC_TARGET), One),
        fld(3, "metric", Msg(&METRIC_IDENTIFIER), One),
    ],
);

pub static PODS_METRIC_SOURCE: Message = msg(
    "k8s.io.api.autoscaling.v2.PodsMetricSource",
    &[fld(1, "metric", Msg(&METRIC_IDENTIFIER), One), fld(2, "target", Msg(&METRIC_TARGET), One)],
);

pub static RESOURCE_METRIC_SOURCE: Message = msg(
    "k8s.io.api.autoscaling.v2.ResourceMetricSource",
    &[fld(1, "name", Str, One), fld(2, "target", Msg(&METRIC_TARGET), One)],
);

pub static CONTAINER_RESOURCE_METRIC_SOURCE: Message = msg(
    "k8s.io.api.autoscaling.v2.ContainerResourceMetricSource",
    &[fld(1, "name", Str, One), fld(2, "target", Msg(&METRIC_TARGET), One), fld(3, "container", Str, One)],
);

pub static EXTERNAL_METRIC_SOURCE: Message = msg(
    "k8s.io.api.autoscaling.v2.ExternalMetricSource",
    &[fld(1, "metric", Msg(&METRIC_IDENTIFIER), One), fld(2, "target", Msg(&METRIC_TARGET), One)],
);

pub static METRIC_SPEC: Message = msg(
    "k8s.io.api.autoscaling.v2.MetricSpec",
    &[
        fld(1, "type", Str, One),
        fld(2, "object", Msg(&OBJECT_METRIC_SOURCE), One),
        fld(3, "pods", Msg(&PODS_METRIC_SOURCE), One),
        fld(4, "resource", Msg(&RESOURCE_METRIC_SOURCE), One),
        fld(5, "external", Msg(&EXTERNAL_METRIC_SOURCE), One),
        fld(7, "containerResource", Msg(&CONTAINER_RESOURCE_METRIC_SOURCE), One),
    ],
);

pub static HPA_SCALING_POLICY: Message = msg(
    "k8s.io.api.autoscaling.v2.HpaScalingPolicy",
    &[fld(1, "type", Str, One), fld(2, "value", I32, One), fld(3, "periodSeconds", I32, One)],
);

pub static HPA_SCALING_RULES: Message = msg(
    "k8s.io.api.autoscaling.v2.HpaScalingRules",
    &[
        fld(1, "selectPolicy", Str, One),
        fld(2, "policies", Msg(&HPA_SCALING_POLICY), List),
        fld(3, "stabilizationWindowSeconds", I32, One),
        fld(4, "tolerance", Quantity, One),
    ],
);

pub static HORIZONTAL_POD_AUTOSCALER_BEHAVIOR: Message = msg(
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerBehavior",
    &[fld(1, "scaleUp", Msg(&HPA_SCALING_RULES), One), fld(2, "scaleDown", Msg(&HPA_SCALING_RULES), One)],
);

pub static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_SPEC: Message = msg(
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
    &[
        fld(1, "scaleTargetRef", Msg(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), One),
        fld(2, "minReplicas", I32, One),
        fld(3, "maxReplicas", I32, One),
        fld(4, "metrics", Msg(&METRIC_SPEC), List),
        fld(5, "behavior", Msg(&HORIZONTAL_POD_AUTOSCALER_BEHAVIOR), One),
    ],
);

pub static METRIC_VALUE_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.MetricValueStatus",
    &[fld(1, "value", Quantity, One), fld(2, "averageValue", Quantity, One), fld(3, "averageUtilization", I32, One)],
);

pub static OBJECT_METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.ObjectMetricStatus",
    &[
        fld(1, "metric", Msg(&METRIC_IDENTIFIER), One),
        fld(2, "current", Msg(&METRIC_VALUE_STATUS), One),
        fld(3, "describedObject", Msg(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), One),
    ],
);

pub static PODS_METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.PodsMetricStatus",
    &[fld(1, "metric", Msg(&METRIC_IDENTIFIER), One), fld(2, "current", Msg(&METRIC_VALUE_STATUS), One)],
);

pub static RESOURCE_METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.ResourceMetricStatus",
    &[fld(1, "name", Str, One), fld(2, "current", Msg(&METRIC_VALUE_STATUS), One)],
);

pub static CONTAINER_RESOURCE_METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.ContainerResourceMetricStatus",
    &[fld(1, "name", Str, One), fld(2, "current", Msg(&METRIC_VALUE_STATUS), One), fld(3, "container", Str, One)],
);

pub static EXTERNAL_METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.ExternalMetricStatus",
    &[fld(1, "metric", Msg(&METRIC_IDENTIFIER), One), fld(2, "current", Msg(&METRIC_VALUE_STATUS), One)],
);

pub static METRIC_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.MetricStatus",
    &[
        fld(1, "type", Str, One),
        fld(2, "object", Msg(&OBJECT_METRIC_STATUS), One),
        fld(3, "pods", Msg(&PODS_METRIC_STATUS), One),
        fld(4, "resource", Msg(&RESOURCE_METRIC_STATUS), One),
        fld(5, "external", Msg(&EXTERNAL_METRIC_STATUS), One),
        fld(7, "containerResource", Msg(&CONTAINER_RESOURCE_METRIC_STATUS), One),
    ],
);

pub static HORIZONTAL_POD_AUTOSCALER_CONDITION: Message = msg(
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastTransitionTime", Time, One),
        fld(4, "reason", Str, One),
        fld(5, "message", Str, One),
    ],
);

pub static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_STATUS: Message = msg(
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
    &[
        fld(1, "observedGeneration", I64, One),
        fld(2, "lastScaleTime", Time, One),
        fld(3, "currentReplicas", I32, One),
        fld(4, "desiredReplicas", I32, One),
        fld(5, "currentMetrics", Msg(&METRIC_STATUS), List),
        fld(6, "conditions", Msg(&HORIZONTAL_POD_AUTOSCALER_CONDITION), List),
    ],
);

pub static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER: Message = msg(
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_SPEC), One),
        fld(3, "status", Msg(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_STATUS), One),
    ],
);
