//! Workload autoscaling against devcluster: the lazy start gate and the pod index (no pod watch
//! before the first DPA, only the target's pods after), and the `/autoscaling` webhook registered
//! in devcluster patching the pods of a DPA target end to end; the DPA controller (Remote DPAs,
//! validation, the limit, leader change, Preview and pause).

mod workload {
    pub mod controller;
    pub mod gate;
    pub mod support;
    pub mod webhook;
}
