//! `DatadogPodAutoscaler` `datadoghq.com/v1alpha1`, read only: objects stored or sent in the older
//! version are read here and converted to v1alpha2 (`policy` → `applyPolicy`, `targets` →
//! `objectives`, `upscale`/`downscale` → `scaleUp`/`scaleDown`). The type is written by hand so
//! that a v1alpha1 object without a spec (the operator's scaffold sample) still reads, and its
//! conversion says what is missing.

use crate::apimachinery::resource::namespaced_resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::common::{
    ApplyPolicy, ApplyPolicyMode, Constraints, Objective, Owner, ScalingPolicy, TargetRef, UpdatePolicy,
};
use super::status::DatadogPodAutoscalerStatus;
use super::v1alpha2::{DatadogPodAutoscaler, DatadogPodAutoscalerSpec};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct DatadogPodAutoscalerV1Alpha1 {
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<DatadogPodAutoscalerV1Alpha1Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DatadogPodAutoscalerStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatadogPodAutoscalerV1Alpha1Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<TargetRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyV1Alpha1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Objective>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PolicyV1Alpha1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_mode: Option<ApplyMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upscale: Option<ScalingPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downscale: Option<ScalingPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdatePolicy>,
}

/// v1alpha1 `policy.applyMode`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMode {
    /// Every recommendation is applied.
    All,
    /// Only manual recommendations are applied.
    Manual,
    /// Nothing is applied.
    None,
}

impl ApplyMode {
    /// `All` applies; `Manual` and `None` apply no automatic recommendation, which v1alpha2 calls
    /// `Preview` (inferred: the operator's conversion code was not available to read).
    fn to_v1alpha2(self) -> ApplyPolicyMode {
        match self {
            ApplyMode::All => ApplyPolicyMode::Apply,
            ApplyMode::Manual | ApplyMode::None => ApplyPolicyMode::Preview,
        }
    }
}

/// A v1alpha1 object that cannot become a v1alpha2 one; names the object and the field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("DatadogPodAutoscaler {object} (v1alpha1): {field} is required")]
pub struct ConversionError {
    pub object: String,
    pub field: &'static str,
}

impl DatadogPodAutoscalerV1Alpha1 {
    /// The same object in v1alpha2.
    pub fn to_v1alpha2(&self) -> Result<DatadogPodAutoscaler, ConversionError> {
        let missing = |field| ConversionError { object: self.key(), field };
        let spec = self.spec.as_ref().ok_or_else(|| missing("spec"))?;
        let target_ref = spec.target_ref.clone().ok_or_else(|| missing("spec.targetRef"))?;
        let owner = spec.owner.ok_or_else(|| missing("spec.owner"))?;
        let apply_policy = spec.policy.as_ref().map(|p| ApplyPolicy {
            mode: p.apply_mode.map(ApplyMode::to_v1alpha2),
            scale_up: p.upscale.clone(),
            scale_down: p.downscale.clone(),
            update: p.update.clone(),
        });
        let mut metadata = self.metadata.clone();
        metadata.managed_fields = None;
        Ok(DatadogPodAutoscaler {
            metadata,
            spec: DatadogPodAutoscalerSpec {
                target_ref,
                owner,
                remote_version: spec.remote_version,
                apply_policy,
                objectives: spec.targets.clone(),
                fallback: None,
                constraints: spec.constraints.clone(),
                options: None,
            },
            status: self.status.clone(),
        })
    }

    fn key(&self) -> String {
        let name = self.metadata.name.as_deref().unwrap_or("<unnamed>");
        match self.metadata.namespace.as_deref() {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        }
    }
}

namespaced_resource!(DatadogPodAutoscalerV1Alpha1, group: super::GROUP, version: "v1alpha1", kind: "DatadogPodAutoscaler", plural: "datadogpodautoscalers");
