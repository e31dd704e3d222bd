//! Workload autoscaling against devcluster: the lazy start gate and the pod index (no pod watch
//! before the first DPA, only the target's pods after), and the `/autoscaling` webhook registered
//! in devcluster patching the pods of a DPA target end to end, and the vertical controller's
//! rollout and in-place resize paths.

mod workload {
    pub mod gate;
    pub mod support;
    pub mod vertical;
    pub mod webhook;
}
