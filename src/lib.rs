#![forbid(unsafe_code)]
//! autoscaling-apiserver: the Datadog Cluster Agent's autoscaling subsystem as a Kubernetes
//! aggregated API server, plus `devcluster`, the embedded control plane it is tested against.

pub mod apimachinery;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod datadog;
pub mod dev;
pub mod devcluster;
pub mod external_metrics;
pub mod server;
pub mod stack;
pub mod status;
pub mod workload;
