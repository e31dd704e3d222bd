//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static EVICTION: Message = msg(
    "k8s.io.api.policy.v1.Eviction",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "deleteOptions", Msg(&DELETE_OPTIONS), One)],
);

pub static POD_DISRUPTION_BUDGET_SPEC: Message = msg(
    "k8s.io.api.policy.v1.PodDisruptionBudgetSpec",
    &[
        fld(1, "minAvailable", IntOrString, One),
        fld(2, "selector", Msg(&LABEL_SELECTOR), One),
        fld(3, "maxUnavailable", IntOrString, One),
        fld(4, "unhealthyPodEvictionPolicy", Str, One),
    ],
);

pub static POD_DISRUPTION_BUDGET_STATUS: Message = msg(
    "k8s.io.api.policy.v1.PodDisruptionBudgetStatus",
    &[
        fld(1, "observedGeneration", I64, One),
        fld(2, "disruptedPods", Time, Map),
        fld(3, "disruptionsAllowed", I32, One),
        fld(4, "currentHealthy", I32, One),
        fld(5, "desiredHealthy", I32, One),
        fld(6, "expectedPods", I32, One),
        fld(7, "conditions", Msg(&CONDITION), List),
    ],
);

pub static POD_DISRUPTION_BUDGET: Message = msg(
    "k8s.io.api.policy.v1.PodDisruptionBudget",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&POD_DISRUPTION_BUDGET_SPEC), One),
        fld(3, "status", Msg(&POD_DISRUPTION_BUDGET_STATUS), One),
    ],
);

pub static LEASE_SPEC: Message = msg(
    "k8s.io.api.coordination.v1.LeaseSpec",
    &[
        fld(1, "holderIdentity", Str, One),
        fld(2, "leaseDurationSeconds", I32, One),
        fld(3, "acquireTime", MicroTime, One),
        fld(4, "renewTime", MicroTime, One),
        fld(5, "leaseTransitions", I32, One),
        fld(6, "strategy", Str, One),
        fld(7, "preferredHolder", Str, One),
    ],
);

pub static LEASE: Message = msg(
    "k8s.io.api.coordination.v1.Lease",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&LEASE_SPEC), One)],
);

pub static POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Message = msg(
    "k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement",
    &[fld(1, "containerName", Str, One), fld(2, "operator", Str, One), fld(3, "values", I32, List)],
);

pub static POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Message = msg(
    "k8s.io.api.batch.v1.PodFailurePolicyOnPodConditionsPattern",
    &[fld(1, "type", Str, One), fld(2, "status", Str, One)],
);

pub static POD_FAILURE_POLICY_RULE: Message = msg(
    "k8s.io.api.batch.v1.PodFailurePolicyRule",
    &[
        fld(1, "action", Str, One),
        fld(2, "onExitCodes", Msg(&POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT), One),
        fld(3, "onPodConditions", Msg(&POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN), List),
    ],
);

pub static POD_FAILURE_POLICY: Message =
    msg("k8s.io.api.batch.v1.PodFailurePolicy", &[fld(1, "rules", Msg(&POD_FAILURE_POLICY_RULE), List)]);

pub static SUCCESS_POLICY_RULE: Message = msg(
    "k8s.io.api.batch.v1.SuccessPolicyRule",
    &[fld(1, "succeededIndexes", Str, One), fld(2, "succeededCount", I32, One)],
);

pub static SUCCESS_POLICY: Message =
    msg("k8s.io.api.batch.v1.SuccessPolicy", &[fld(1, "rules", Msg(&SUCCESS_POLICY_RULE), List)]);

pub static JOB_SPEC: Message = msg(
    "k8s.io.api.batch.v1.JobSpec",
    &[
        fld(1, "parallelism", I32, One),
        fld(2, "completions", I32, One),
        fld(3, "activeDeadlineSeconds", I64, One),
        fld(4, "selector", Msg(&LABEL_SELECTOR), One),
        fld(5, "manualSelector", Bool, One),
        fld(6, "template", Msg(&POD_TEMPLATE_SPEC), One),
        fld(7, "backoffLimit", I32, One),
        fld(8, "ttlSecondsAfterFinished", I32, One),
        fld(9, "completionMode", Str, One),
        fld(10, "suspend", Bool, One),
        fld(11, "podFailurePolicy", Msg(&POD_FAILURE_POLICY), One),
        fld(12, "backoffLimitPerIndex", I32, One),
        fld(13, "maxFailedIndexes", I32, One),
        fld(14, "podReplacementPolicy", Str, One),
        fld(15, "managedBy", Str, One),
        fld(16, "successPolicy", Msg(&SUCCESS_POLICY), One),
    ],
);

pub static JOB_CONDITION: Message = msg(
    "k8s.io.api.batch.v1.JobCondition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "lastProbeTime", Time, One),
        fld(4, "lastTransitionTime", Time, One),
        fld(5, "reason", Str, One),
        fld(6, "message", Str, One),
    ],
);

pub static UNCOUNTED_TERMINATED_PODS: Message =
    msg("k8s.io.api.batch.v1.UncountedTerminatedPods", &[fld(1, "succeeded", Str, List), fld(2, "failed", Str, List)]);

pub static JOB_STATUS: Message = msg(
    "k8s.io.api.batch.v1.JobStatus",
    &[
        fld(1, "conditions", Msg(&JOB_CONDITION), List),
        fld(2, "startTime", Time, One),
        fld(3, "completionTime", Time, One),
        fld(4, "active", I32, One),
        fld(5, "succeeded", I32, One),
        fld(6, "failed", I32, One),
        fld(7, "completedIndexes", Str, One),
        fld(8, "uncountedTerminatedPods", Msg(&UNCOUNTED_TERMINATED_PODS), One),
        fld(9, "ready", I32, One),
        fld(10, "failedIndexes", Str, One),
        fld(11, "terminating", I32, One),
    ],
);

pub static JOB: Message = msg(
    "k8s.io.api.batch.v1.Job",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&JOB_SPEC), One),
        fld(3, "status", Msg(&JOB_STATUS), One),
    ],
);

pub static JOB_TEMPLATE_SPEC: Message = msg(
    "k8s.io.api.batch.v1.JobTemplateSpec",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&JOB_SPEC), One)],
);

pub static CRON_JOB_SPEC: Message = msg(
    "k8s.io.api.batch.v1.CronJobSpec",
    &[
        fld(1, "schedule", Str, One),
        fld(2, "startingDeadlineSeconds", I64, One),
        fld(3, "concurrencyPolicy", Str, One),
        fld(4, "suspend", Bool, One),
        fld(5, "jobTemplate", Msg(&JOB_TEMPLATE_SPEC), One),
        fld(6, "successfulJobsHistoryLimit", I32, One),
        fld(7, "failedJobsHistoryLimit", I32, One),
        fld(8, "timeZone", Str, One),
    ],
);

pub static CRON_JOB_STATUS: Message = msg(
    "k8s.io.api.batch.v1.CronJobStatus",
    &[
        fld(1, "active", Msg(&OBJECT_REFERENCE), List),
        fld(4, "lastScheduleTime", Time, One),
        fld(5, "lastSuccessfulTime", Time, One),
    ],
);

pub static CRON_JOB: Message = msg(
    "k8s.io.api.batch.v1.CronJob",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&CRON_JOB_SPEC), One),
        fld(3, "status", Msg(&CRON_JOB_STATUS), One),
    ],
);

pub static SERVICE_BACKEND_PORT: Message =
    msg("k8s.io.api.networking.v1.ServiceBackendPort", &[fld(1, "name", Str, One), fld(2, "number", I32, One)]);

pub static INGRESS_SERVICE_BACKEND: Message = msg(
    "k8s.io.api.networking.v1.IngressServiceBackend",
    &[fld(1, "name", Str, One), fld(2, "port", Msg(&SERVICE_BACKEND_PORT), One)],
);

pub static INGRESS_BACKEND: Message = msg(
    "k8s.io.api.networking.v1.IngressBackend",
    &[
        fld(3, "resource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE), One),
        fld(4, "service", Msg(&INGRESS_SERVICE_BACKEND), One),
    ],
);

pub static INGRESS_TLS: Message =
    msg("k8s.io.api.networking.v1.IngressTls", &[fld(1, "hosts", Str, List), fld(2, "secretName", Str, One)]);

pub static HTTP_INGRESS_PATH: Message = msg(
    "k8s.io.api.networking.v1.HttpIngressPath",
    &[fld(1, "path", Str, One), fld(2, "backend", Msg(&INGRESS_BACKEND), One), fld(3, "pathType", Str, One)],
);

pub static HTTP_INGRESS_RULE_VALUE: Message =
    msg("k8s.io.api.networking.v1.HttpIngressRuleValue", &[fld(1, "paths", Msg(&HTTP_INGRESS_PATH), List)]);

pub static INGRESS_RULE_VALUE: Message =
    msg("k8s.io.api.networking.v1.IngressRuleValue", &[fld(1, "http", Msg(&HTTP_INGRESS_RULE_VALUE), One)]);

pub static INGRESS_RULE: Message = msg(
    "k8s.io.api.networking.v1.IngressRule",
    &[fld(1, "host", Str, One), fld(2, "", Msg(&INGRESS_RULE_VALUE), Inline)],
);

pub static INGRESS_SPEC: Message = msg(
    "k8s.io.api.networking.v1.IngressSpec",
    &[
        fld(1, "defaultBackend", Msg(&INGRESS_BACKEND), One),
        fld(2, "tls", Msg(&INGRESS_TLS), List),
        fld(3, "rules", Msg(&INGRESS_RULE), List),
        fld(4, "ingressClassName", Str, One),
    ],
);

pub static INGRESS_PORT_STATUS: Message = msg(
    "k8s.io.api.networking.v1.IngressPortStatus",
    &[fld(1, "port", I32, One), fld(2, "protocol", Str, One), fld(3, "error", Str, One)],
);

pub static INGRESS_LOAD_BALANCER_INGRESS: Message = msg(
    "k8s.io.api.networking.v1.IngressLoadBalancerIngress",
    &[fld(1, "ip", Str, One), fld(2, "hostname", Str, One), fld(4, "ports", Msg(&INGRESS_PORT_STATUS), List)],
);

pub static INGRESS_LOAD_BALANCER_STATUS: Message = msg(
    "k8s.io.api.networking.v1.IngressLoadBalancerStatus",
    &[fld(1, "ingress", Msg(&INGRESS_LOAD_BALANCER_INGRESS), List)],
);

pub static INGRESS_STATUS: Message =
    msg("k8s.io.api.networking.v1.IngressStatus", &[fld(1, "loadBalancer", Msg(&INGRESS_LOAD_BALANCER_STATUS), One)]);

pub static INGRESS: Message = msg(
    "k8s.io.api.networking.v1.Ingress",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&INGRESS_SPEC), One),
        fld(3, "status", Msg(&INGRESS_STATUS), One),
    ],
);

pub static NETWORK_POLICY_PORT: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicyPort",
    &[fld(1, "protocol", Str, One), fld(2, "port", IntOrString, One), fld(3, "endPort", I32, One)],
);

pub static IP_BLOCK: Message =
    msg("k8s.io.api.networking.v1.IpBlock", &[fld(1, "cidr", Str, One), fld(2, "except", Str, List)]);

pub static NETWORK_POLICY_PEER: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicyPeer",
    &[
        fld(1, "podSelector", Msg(&LABEL_SELECTOR), One),
        fld(2, "namespaceSelector", Msg(&LABEL_SELECTOR), One),
        fld(3, "ipBlock", Msg(&IP_BLOCK), One),
    ],
);

pub static NETWORK_POLICY_INGRESS_RULE: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicyIngressRule",
    &[fld(1, "ports", Msg(&NETWORK_POLICY_PORT), List), fld(2, "from", Msg(&NETWORK_POLICY_PEER), List)],
);

pub static NETWORK_POLICY_EGRESS_RULE: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicyEgressRule",
    &[fld(1, "ports", Msg(&NETWORK_POLICY_PORT), List), fld(2, "to", Msg(&NETWORK_POLICY_PEER), List)],
);

pub static NETWORK_POLICY_SPEC: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicySpec",
    &[
        fld(1, "podSelector", Msg(&LABEL_SELECTOR), One),
        fld(2, "ingress", Msg(&NETWORK_POLICY_INGRESS_RULE), List),
        fld(3, "egress", Msg(&NETWORK_POLICY_EGRESS_RULE), List),
        fld(4, "policyTypes", Str, List),
    ],
);

pub static NETWORK_POLICY: Message = msg(
    "k8s.io.api.networking.v1.NetworkPolicy",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "spec", Msg(&NETWORK_POLICY_SPEC), One)],
);

pub static PRIORITY_CLASS: Message = msg(
    "k8s.io.api.scheduling.v1.PriorityClass",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "value", I32, One),
        fld(3, "globalDefault", Bool, One),
        fld(4, "description", Str, One),
        fld(5, "preemptionPolicy", Str, One),
    ],
);
