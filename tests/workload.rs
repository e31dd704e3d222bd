//! Workload autoscaling against devcluster: the lazy start gate and the pod index (no pod watch
//! before the first DPA, only the target's pods after), and the `/autoscaling` webhook registered
//! in devcluster patching the pods of a DPA target end to end; the stack as `serve` wires it
//! (disabled, enabled, the shipped webhook configuration, failing open); the DPA controller (Remote
//! DPAs, validation, the limit, leader change, Preview and pause); the horizontal controller
//! scaling targets through their scale subresource; the vertical controller's rollout and
//! in-place resize paths; cluster profiles and their managed DPAs, and the `/hpa-autoscaling` guard;
//! end to end through `serve` (feed → scale-up and rollout → pods patched at creation, leader
//! change through a real Lease); bad input (forbidden specs, garbage AdmissionReviews, malformed
//! feeds); the pod-index watches multiplexed over HTTP/2, and their list-and-watch loop across
//! closed watches and expired history.

mod workload {
    pub mod bad_input;
    pub mod controller;
    pub mod e2e;
    pub mod gate;
    pub mod horizontal;
    pub mod hpa_guard;
    pub mod http2;
    pub mod pod_watch;
    pub mod profile;
    pub mod recommender;
    pub mod serve;
    pub mod support;
    pub mod vertical;
    pub mod webhook;
}
