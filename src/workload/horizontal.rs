//! The horizontal controller (spec §10.7): scales a DPA's target through its `scale`
//! subresource to the active horizontal recommendation, within the constraints, stabilization
//! windows and scaling rules of the spec, recording each action, limit reason and error in the
//! DPA for the status builder, and an Event per scale (`SuccessfulScale` / `FailedScale`).
//!
//! [`compute`] is the pure decision; [`history`] keeps the actions and recommendations the
//! decision reads; [`HorizontalController`] is the reconcile step that reads and writes the
//! target.

pub mod compute;
mod controller;
pub mod history;

pub use compute::{
    Bounds, FORCE_REPLICAS_ANNOTATION, ScaleDecision, ScaleDirection, ScaleInputs, compute_scale_action,
    fallback_direction, pinned_decision, pinned_replicas,
};
pub use controller::{FAILED_SCALE_EVENT, HorizontalController, SUCCESSFUL_SCALE_EVENT, horizontal_enabled};
