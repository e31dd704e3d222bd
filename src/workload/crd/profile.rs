//! `DatadogPodAutoscalerClusterProfile` `datadoghq.com/v1alpha2`: cluster-scoped templates of DPA
//! specs (spec §10.13); its presence alone opens the lazy start gate.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{ApplyPolicy, Constraints, Fallback, Objective, Options};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "datadoghq.com",
    version = "v1alpha2",
    kind = "DatadogPodAutoscalerClusterProfile",
    plural = "datadogpodautoscalerclusterprofiles",
    shortname = "dpacp",
    status = "DatadogPodAutoscalerClusterProfileStatus",
    schema = "disabled"
)]
pub struct DatadogPodAutoscalerClusterProfileSpec {
    pub template: DatadogPodAutoscalerTemplate,
}

/// A DPA spec without `targetRef`, `owner` and `remoteVersion`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_policy: Option<ApplyPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Vec<Objective>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerClusterProfileStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ProfileCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_autoscalers: Option<i32>,
}

/// A `metav1.Condition` (every field but `observedGeneration` required by the schema).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub last_transition_time: Time,
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
