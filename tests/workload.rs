//! Workload autoscaling against devcluster: the lazy start gate and the pod index (no pod watch
//! before the first DPA, only the target's pods after), the `/autoscaling` webhook registered
//! in devcluster patching the pods of a DPA target end to end, and the horizontal controller
//! scaling targets through their scale subresource.

mod workload {
    pub mod gate;
    pub mod horizontal;
    pub mod support;
    pub mod webhook;
}
