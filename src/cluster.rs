//! Cluster-level coordination the leader-only loops depend on: leader election on a Lease or
//! ConfigMap lock (`lease`, spec §2) and the cluster ID kept in the `datadog-cluster-id`
//! ConfigMap (`id`, spec §3); the HTTP/2 kube client the many pod watches share (`http2`).

pub mod http2;
pub mod id;
pub mod lease;

pub use id::{ClusterId, ClusterIdError};
pub use lease::{Claim, LeaderElection, LeaderGuard, LeaderHandle, LeaseConfig, LockKind};

/// Where a pod finds its own namespace.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The pod's own namespace from the service-account mount, when running in a pod.
pub fn own_namespace() -> Option<String> {
    let text = std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE).ok()?;
    Some(text.trim().to_owned()).filter(|ns| !ns.is_empty())
}

/// The host name (what the DCA used as identity before `DD_POD_NAME`).
pub fn hostname() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_kernel.or_else(|| std::env::var("HOSTNAME").ok())?;
    Some(name.trim().to_owned()).filter(|name| !name.is_empty())
}
