//! Workload autoscaling against devcluster: the lazy start gate and the pod index (no pod watch
//! before the first DPA, only the target's pods after), the `/autoscaling` webhook registered
//! in devcluster patching the pods of a DPA target end to end, cluster profiles and their managed
//! DPAs, and the `/hpa-autoscaling` guard.

mod workload {
    pub mod gate;
    pub mod hpa_guard;
    pub mod profile;
    pub mod support;
    pub mod webhook;
}
