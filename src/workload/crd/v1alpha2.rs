//! `DatadogPodAutoscaler` `datadoghq.com/v1alpha2`, the storage version.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{ApplyPolicy, Constraints, Fallback, Objective, Options, Owner, TargetRef};
use super::status::DatadogPodAutoscalerStatus;

/// `spec` of a DatadogPodAutoscaler (`targetRef` and `owner` are required).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "datadoghq.com",
    version = "v1alpha2",
    kind = "DatadogPodAutoscaler",
    plural = "datadogpodautoscalers",
    shortname = "dpa",
    namespaced,
    status = "DatadogPodAutoscalerStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerSpec {
    pub target_ref: TargetRef,
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_version: Option<u64>,
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
