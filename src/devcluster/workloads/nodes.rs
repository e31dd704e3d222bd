//! The cluster's node: `devcluster-node-1`, Ready, with the capacity and allocatable a modest
//! worker reports (8 CPUs, 32 GiB, 110 pods) so resizes can be Deferred or Infeasible against it.

use serde_json::json;

use super::super::Cluster;
use super::super::ops::WriteOptions;

pub const NODE: &str = "devcluster-node-1";
const INTERNAL_IP: &str = "172.18.0.2";

pub fn seed(cluster: &Cluster) -> anyhow::Result<()> {
    let rt = cluster.registry.lookup("", "v1", "nodes").ok_or_else(|| anyhow::anyhow!("nodes not served"))?;
    let opts = WriteOptions { field_manager: "kubelet".into(), ..Default::default() };
    let labels = json!({
        "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
    });
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": "10.244.0.0/16", "podCIDRs": ["10.244.0.0/16"]},
    });
    let mut created =
        cluster.op_create(&rt, "", node, &opts).map_err(|e| anyhow::anyhow!("node {NODE}: {}", e.message))?;
    let now = super::super::meta::now_rfc3339();
    let resources = json!({"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    created.object["status"] = json!({
        "capacity": resources, "allocatable": resources,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": INTERNAL_IP}, {"type": "Hostname", "address": NODE}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "devcluster", "systemUUID": "devcluster", "bootID": "devcluster",
            "kernelVersion": "6.1.0", "osImage": "devcluster (simulated)", "containerRuntimeVersion": "containerd://2.0.0",
            "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0", "operatingSystem": "linux", "architecture": "amd64",
        },
    });
    let status_opts = WriteOptions { subresource: Some("status".into()), ..opts };
    cluster
        .op_update(&rt, "", NODE, created.object, &status_opts)
        .map_err(|e| anyhow::anyhow!("node {NODE} status: {}", e.message))?;
    Ok(())
}
