//! `status` of a DatadogPodAutoscaler (`common.DatadogPodAutoscalerStatus`, identical in v1alpha1
//! and v1alpha2). Sources and action types stay strings: the controller writes values newer
//! versions of the DCA added (`External`, `ResizeTriggered`, …) and readers must keep them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use super::common::ResourceList;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<VerticalStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<StatusOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<DpaCondition>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HorizontalStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<HorizontalTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_actions: Option<Vec<HorizontalAction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recommendations: Option<Vec<HorizontalTarget>>,
}

/// A horizontal recommendation: `{source, generatedAt, desiredReplicas}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HorizontalTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<Time>,
    pub desired_replicas: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HorizontalAction {
    pub time: Time,
    /// Replicas before the action.
    pub replicas: i32,
    pub to_replicas: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VerticalStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<VerticalTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_action: Option<VerticalAction>,
}

/// The active vertical recommendation; `version` is the resources hash pods carry as `rec-id`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerticalTarget {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<Time>,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evicted: Option<i32>,
    pub desired_resources: Vec<ContainerResources>,
    #[serde(rename = "podCPURequest")]
    pub pod_cpu_request: IntOrString,
    pub pod_memory_request: IntOrString,
}

/// Recommended resources of one container.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ContainerResources {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeValues>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct RuntimeValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gomemlimit: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerticalAction {
    pub time: Time,
    pub version: String,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StatusOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burstable: Option<bool>,
}

/// One of the DPA's status conditions (`type`, `status` required).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DpaCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
