//! `status` of a DatadogPodAutoscaler (`common.DatadogPodAutoscalerStatus`, identical in v1alpha1
//! and v1alpha2). Sources and action types stay strings: the controller writes values newer
//! versions of the DCA added (`External`, `ResizeTriggered`, …) and readers must keep them.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Deserializer, Serialize};

use super::common::ResourceList;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    /// Boxed, as `vertical`: most DPAs have one or neither, and the typed object of every DPA
    /// is kept by the controller (328 bytes less per DPA without them, tests/memory.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<Box<HorizontalStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<Box<VerticalStatus>>,
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
    #[serde(rename = "type", deserialize_with = "read_condition_text")]
    pub type_: ConditionText,
    #[serde(deserialize_with = "read_condition_text")]
    pub status: ConditionText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A condition's `type` or `status`: the words the controller writes are kept without a heap
/// copy (each DPA's status holds eight conditions, read into the controller's store of every
/// replica: about 0.6 KiB per DPA as `String`s, tests/memory.rs); any other word is kept as read.
pub type ConditionText = Cow<'static, str>;

/// The condition types and statuses the controller writes.
const CONDITION_WORDS: [&str; 11] = [
    "True",
    "False",
    "Unknown",
    "Error",
    "Active",
    "HorizontalAbleToRecommend",
    "VerticalAbleToRecommend",
    "HorizontalScalingLimited",
    "VerticalScalingLimited",
    "HorizontalAbleToScale",
    "VerticalAbleToApply",
];

/// The controller's word equal to `text`, if it is one.
fn controller_word(text: &str) -> Option<&'static str> {
    CONDITION_WORDS.iter().find(|w| **w == text).copied()
}

/// `text` as a [`ConditionText`]: borrowed when it is one of the controller's words.
pub fn condition_text(text: &str) -> ConditionText {
    controller_word(text).map_or_else(|| Cow::Owned(text.to_owned()), Cow::Borrowed)
}

fn read_condition_text<'de, D: Deserializer<'de>>(d: D) -> Result<ConditionText, D::Error> {
    let text = String::deserialize(d)?;
    Ok(controller_word(&text).map_or(Cow::Owned(text), Cow::Borrowed))
}

#[cfg(test)]
mod condition_text_tests {
    use super::*;

    #[test]
    fn known_words_are_not_copied_and_others_are_kept() {
        let c: DpaCondition = serde_json::from_value(serde_json::json!({
            "type": "HorizontalAbleToScale", "status": "Maybe", "lastTransitionTime": "2026-01-01T00:00:00Z"}))
        .unwrap();
        assert!(matches!(c.type_, Cow::Borrowed("HorizontalAbleToScale")));
        assert!(matches!(&c.status, Cow::Owned(s) if s == "Maybe"), "an unknown word is kept as read");
        assert_eq!(serde_json::to_value(&c).unwrap()["status"], "Maybe");
        assert!(matches!(condition_text("True"), Cow::Borrowed("True")));
        assert_eq!(condition_text("Custom"), "Custom");
    }
}
