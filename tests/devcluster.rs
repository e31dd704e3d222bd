//! devcluster against unmodified clients: kube-rs (this file's modules) and kubectl (kubectl.rs).

mod devcluster {
    pub mod admission;
    pub mod bad_input;
    pub mod crd;
    pub mod crud;
    pub mod gc;
    pub mod hpa;
    pub mod kubectl;
    pub mod patch;
    pub mod rbac;
    pub mod subresources;
    pub mod support;
    pub mod versions;
    pub mod watch;
    pub mod workloads;
}
