//! Workload autoscaling (spec §10): the DatadogPodAutoscaler and cluster-profile CRD types, the
//! lazy start gate, the in-memory DPA store, the pod index that watches only the pods of DPA
//! targets, the `/autoscaling` pod admission webhook, the DPA controller with its horizontal and
//! vertical steps, and the recommendation sources.
//!
//! Nothing here watches pods or workloads until the gate opens (the first DPA or cluster profile
//! seen); the webhook answers "allowed, no patch" until then without decoding the pod.

pub mod context;
pub mod controller;
pub mod crd;
pub mod dpa_store;
pub mod gate;
pub mod hash;
pub mod horizontal;
pub mod model;
pub mod owner;
pub mod pod_index;
pub mod profile;
pub mod recommender;
pub mod scale;
pub mod stack;
pub mod vertical;
pub mod webhook;

pub use context::{Context, WorkloadSettings};
pub use dpa_store::{DpaEntry, DpaStore, TargetKey};
pub use gate::AutoscalingGate;
pub use horizontal::HorizontalController;
pub use model::{
    ConditionError, DpaKey, HorizontalValues, InternalStore, PodAutoscalerInternal, ProcessResult, Reason,
    ScalingValues, ValueSource, VerticalValues,
};
pub use pod_index::{PodEntry, PodIndex};
pub use stack::{AutoscalingStack, ScalingSteps, StackConfig};
pub use vertical::VerticalController;
pub use webhook::{WebhookState, review};

/// Annotation naming the DPA (`<ns>/<name>`) whose recommendations a pod received.
pub const AUTOSCALER_ID_ANNOTATION: &str = "autoscaling.datadoghq.com/autoscaler-id";
/// Annotation carrying the vertical recommendation ID (`status.vertical.target.version`).
pub const REC_ID_ANNOTATION: &str = "autoscaling.datadoghq.com/rec-id";
