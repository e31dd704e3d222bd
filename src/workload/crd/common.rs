//! Spec types shared by the DPA versions and the cluster-profile template
//! (datadog-operator `api/datadoghq/common` and `v1alpha2`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

/// `spec.targetRef` (autoscaling/v2 CrossVersionObjectReference).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
}

/// `spec.owner`: who is the source of truth for the spec.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The Kubernetes object is the source of truth.
    Local,
    /// Managed from the Datadog app through Remote Configuration.
    Remote,
}

/// `applyPolicy` of v1alpha2 and of the profile template.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplyPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ApplyPolicyMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdatePolicy>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ApplyPolicyMode {
    /// Recommendations are applied (the schema's default).
    #[default]
    Apply,
    /// Recommendations are computed and shown in status only.
    Preview,
}

/// `scaleUp` / `scaleDown` (v1alpha1: `upscale` / `downscale`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ScalingStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<ScalingRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingStrategy {
    Max,
    Min,
    Disabled,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRule {
    #[serde(rename = "type")]
    pub type_: ScalingRuleType,
    pub value: i32,
    pub period_seconds: i32,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingRuleType {
    Pods,
    Percent,
}

/// `applyPolicy.update`: the vertical update policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<UpdateStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_pending_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_fallback_delay: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateStrategy {
    Auto,
    Disabled,
    TriggerRollout,
}

/// One entry of `objectives` (v1alpha1: `targets`) and of `fallback.horizontal.objectives`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    #[serde(rename = "type")]
    pub type_: ObjectiveType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_resource: Option<PodResourceObjective>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource: Option<ContainerResourceObjective>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_query: Option<CustomQueryObjective>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectiveType {
    PodResource,
    ContainerResource,
    CustomQuery,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ResourceName {
    Cpu,
    Memory,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PodResourceObjective {
    pub name: ResourceName,
    pub value: ObjectiveValue,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ContainerResourceObjective {
    pub name: ResourceName,
    pub value: ObjectiveValue,
    pub container: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveValue {
    #[serde(rename = "type")]
    pub type_: ObjectiveValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_value: Option<IntOrString>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectiveValueType {
    Utilization,
    AbsoluteValue,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CustomQueryObjective {
    pub request: QueryRequest,
    pub value: ObjectiveValue,
    pub window: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct QueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    pub queries: Vec<Query>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: QuerySource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsQuery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apm_metrics: Option<ApmMetricsQuery>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuerySource {
    Metrics,
    ApmMetrics,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MetricsQuery {
    pub query: String,
}

/// `apmMetrics`; `stat` stays a string (the schema's enum is long and grows with APM).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApmMetricsQuery {
    pub stat: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_kind: Option<String>,
}

/// `fallback`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Fallback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalFallback>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HorizontalFallback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<FallbackDirection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<FallbackTriggers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Vec<Objective>>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackDirection {
    ScaleUp,
    ScaleDown,
    All,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FallbackTriggers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_recommendation_threshold_seconds: Option<i32>,
}

/// `constraints`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<ContainerConstraints>>,
}

/// A resource list (`cpu`, `memory`, …) of quantities.
pub type ResourceList = BTreeMap<String, Quantity>;

/// `constraints.containers[]`; `name: "*"` matches every container.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerConstraints {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Deprecated form of `minAllowed`/`maxAllowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceBounds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_allowed: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_allowed: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_values: Option<ControlledValues>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceBounds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_allowed: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_allowed: Option<ResourceList>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlledValues {
    RequestsAndLimits,
    RequestsOnly,
    CPURequestsRemoveLimitsMemoryRequestsAndLimits,
}

/// `options`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burstable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_memory: Option<OutOfMemoryOptions>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OutOfMemoryOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bump_up_ratio: Option<IntOrString>,
}
