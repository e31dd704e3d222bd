//! The CRD types of `datadoghq.com`: `DatadogPodAutoscaler` v1alpha2 (storage version, read and
//! written), v1alpha1 (read, converted to v1alpha2) and the cluster-scoped
//! `DatadogPodAutoscalerClusterProfile` v1alpha2, with the JSON names of the operator's CRDs.
//!
//! Optional fields stay `Option` and are skipped when absent, so an object read and written back
//! is the object that was read (defaults are applied by the API server's schema, not here).

mod common;
mod profile;
mod status;
#[cfg(test)]
mod tests;
mod v1alpha1;
mod v1alpha2;

pub use common::*;
pub use profile::{
    DatadogPodAutoscalerClusterProfile, DatadogPodAutoscalerClusterProfileSpec,
    DatadogPodAutoscalerClusterProfileStatus, DatadogPodAutoscalerTemplate, ProfileCondition,
};
pub use status::*;
pub use v1alpha1::{
    ApplyMode, ConversionError, DatadogPodAutoscalerV1Alpha1, DatadogPodAutoscalerV1Alpha1Spec, PolicyV1Alpha1,
};
pub use v1alpha2::{DatadogPodAutoscaler, DatadogPodAutoscalerSpec};

/// The API group of every type here.
pub const GROUP: &str = "datadoghq.com";
