//! The scheduler's binding and the kubelet's pod lifecycle, without containers: an unbound pod is
//! bound to a node (round robin, through `pods/binding` as `system:kube-scheduler`), then the node's
//! kubelet reports it Running with a podIP, container statuses and the conditions kubelet 1.33
//! sets; it turns Ready after `Config::pod_ready_delay`. In-place resizes are in `resize`.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::super::admission;
use super::super::meta::now_rfc3339;
use super::super::ops::WriteOptions;
use super::super::rbac::UserInfo;
use super::super::status::ApiResult;
use super::super::store::{ObjectKey, Stored};
use super::{Work, Workloads, failed, name_of, resize};

/// The kubelet's memory of the pods it runs.
#[derive(Default)]
pub struct Kubelet {
    /// Pods whose last resize was Deferred, retried when room may have freed up.
    pub deferred: BTreeSet<ObjectKey>,
    /// Pods started not ready, and when they turn ready.
    starting: HashMap<ObjectKey, Instant>,
    next_ip: u32,
    next_node: usize,
}

impl Kubelet {
    pub fn forget(&mut self, key: &ObjectKey) {
        self.deferred.remove(key);
        self.starting.remove(key);
    }

    /// A unique pod address in 10.244.0.0/16.
    fn allocate_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip = self.next_ip.wrapping_add(1) % (250 * 256);
        format!("10.244.{}.{}", n / 250, n % 250 + 2)
    }
}

/// Unbound or not yet started (cheap: from the fields stored beside the object).
pub fn needs_start(stored: &Stored) -> bool {
    let phase = stored.field("status.phase").unwrap_or_default();
    stored.field("spec.nodeName").unwrap_or_default().is_empty() || phase.is_empty() || phase == "Pending"
}

pub async fn reconcile(w: &mut Workloads, key: &ObjectKey) -> ApiResult<()> {
    let Some(stored) = w.get(&w.types.pods, key) else { return Ok(()) };
    if stored.deleting {
        return Ok(());
    }
    let pod = stored.value();
    if pod["spec"]["nodeName"].as_str().unwrap_or_default().is_empty() {
        return bind(w, &pod, key).await;
    }
    match pod["status"]["phase"].as_str().unwrap_or_default() {
        "" | "Pending" => start(w, &pod, key).await,
        "Running" => {
            if let Some(at) = w.kubelet.starting.get(key).copied() {
                if at > Instant::now() {
                    w.later(at - Instant::now(), Work::Pod(key.clone()));
                    return Ok(());
                }
                w.kubelet.starting.remove(key);
                return write_status(w, &pod, key, became_ready(&pod["status"])).await;
            }
            resize::reconcile(w, &pod, key).await
        }
        _ => Ok(()),
    }
}

fn node_user(node: &str) -> UserInfo {
    UserInfo {
        name: format!("system:node:{node}"),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
        ..Default::default()
    }
}

async fn bind(w: &mut Workloads, pod: &Value, key: &ObjectKey) -> ApiResult<()> {
    let (_, nodes) = w.cluster.store.snapshot(&w.types.nodes.table);
    let names: Vec<&String> = nodes.keys().map(|k| &k.name).collect();
    if names.is_empty() {
        return Ok(());
    }
    let node = names[w.kubelet.next_node % names.len()].clone();
    w.kubelet.next_node += 1;
    let mut next = pod.clone();
    next["spec"]["nodeName"] = json!(node);
    let opts = WriteOptions {
        field_manager: "kube-scheduler".into(),
        subresource: Some("binding".into()),
        ..Default::default()
    };
    let user = UserInfo {
        name: "system:kube-scheduler".into(),
        groups: vec!["system:authenticated".into()],
        ..Default::default()
    };
    admission::update(&w.cluster, &w.types.pods, &key.namespace, name_of(pod), next, &opts, &user)
        .await
        .map(|_| ())
        .map_err(|e| failed("binding pod", key, e))
}

/// The node's InternalIP, for `hostIP`.
fn host_ip(w: &Workloads, node: &str) -> String {
    w.get(&w.types.nodes, &ObjectKey::new("", node))
        .and_then(|n| {
            n.value()["status"]["addresses"]
                .as_array()?
                .iter()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "172.18.0.2".into())
}

async fn start(w: &mut Workloads, pod: &Value, key: &ObjectKey) -> ApiResult<()> {
    let ready = w.ready_delay.is_zero();
    if !ready {
        w.kubelet.starting.insert(key.clone(), Instant::now() + w.ready_delay);
        w.later(w.ready_delay, Work::Pod(key.clone()));
    }
    let now = now_rfc3339();
    let host = host_ip(w, pod["spec"]["nodeName"].as_str().unwrap_or_default());
    let ip = w.kubelet.allocate_ip();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
    let statuses: Vec<Value> = containers.iter().map(|c| container_status(c, uid, ready, &now)).collect();
    let inits: Vec<Value> =
        pod["spec"]["initContainers"].as_array().into_iter().flatten().map(|c| init_status(c, uid, &now)).collect();
    let unready: Vec<&str> = containers.iter().filter_map(|c| c["name"].as_str()).collect();
    let mut status = json!({
        "phase": "Running",
        "conditions": conditions(ready, &unready, &now),
        "hostIP": host, "hostIPs": [{"ip": host}],
        "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": now,
        "containerStatuses": statuses,
        "qosClass": pod["status"]["qosClass"],
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = Value::Array(inits);
    }
    write_status(w, pod, key, status).await
}

/// Kubelet 1.33's pod conditions, in its order.
fn conditions(ready: bool, containers: &[&str], now: &str) -> Value {
    let yes = |kind: &str| json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let readiness = |kind: &str| {
        if ready {
            yes(kind)
        } else {
            json!({"type": kind, "status": "False", "lastProbeTime": null, "lastTransitionTime": now,
                   "reason": "ContainersNotReady",
                   "message": format!("containers with unready status: [{}]", containers.join(" "))})
        }
    };
    json!([
        yes("PodReadyToStartContainers"),
        yes("Initialized"),
        readiness("Ready"),
        readiness("ContainersReady"),
        yes("PodScheduled")
    ])
}

fn became_ready(status: &Value) -> Value {
    let mut next = status.clone();
    let now = now_rfc3339();
    for c in next["conditions"].as_array_mut().into_iter().flatten() {
        if (c["type"] == "Ready" || c["type"] == "ContainersReady") && c["status"] != "True" {
            *c = json!({"type": c["type"], "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
        }
    }
    for s in next["containerStatuses"].as_array_mut().into_iter().flatten() {
        s["ready"] = json!(true);
    }
    next
}

fn hex_digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `nginx` → `docker.io/library/nginx:latest`, as the container runtime reports images.
fn full_image(image: &str) -> String {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let with_registry = if first.contains('.') || first.contains(':') || first == "localhost" {
        image.to_string()
    } else if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else {
        format!("docker.io/{image}")
    };
    let last = with_registry.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') { with_registry } else { format!("{with_registry}:latest") }
}

fn container_status(c: &Value, pod_uid: &str, ready: bool, now: &str) -> Value {
    let name = c["name"].as_str().unwrap_or_default();
    let image = full_image(c["image"].as_str().unwrap_or_default());
    let repo = image.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')).map_or(image.as_str(), |(r, _)| r);
    let mut s = json!({
        "name": name, "image": image,
        "imageID": format!("{repo}@sha256:{}", hex_digest(&[&image])),
        "containerID": format!("containerd://{}", hex_digest(&[pod_uid, name])),
        "ready": ready, "started": true, "restartCount": 0,
        "state": {"running": {"startedAt": now}}, "lastState": {},
    });
    resize::report_resources(&mut s, &c["resources"]);
    s
}

fn init_status(c: &Value, pod_uid: &str, now: &str) -> Value {
    let mut s = container_status(c, pod_uid, false, now);
    s["started"] = json!(false);
    s["state"] = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now,
                                       "containerID": s["containerID"]}});
    s
}

/// Writes the pod's status through `/status` as the node's kubelet, unless it already has it.
pub async fn write_status(w: &Workloads, pod: &Value, key: &ObjectKey, status: Value) -> ApiResult<()> {
    if pod["status"] == status {
        return Ok(());
    }
    let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let mut next = pod.clone();
    next["status"] = status;
    let opts =
        WriteOptions { field_manager: "kubelet".into(), subresource: Some("status".into()), ..Default::default() };
    admission::update(&w.cluster, &w.types.pods, &key.namespace, name_of(pod), next, &opts, &node_user(node))
        .await
        .map(|_| ())
        .map_err(|e| failed("updating the status of pod", key, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_reported_fully_qualified() {
        assert_eq!(full_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(full_image("app:1"), "docker.io/library/app:1");
        assert_eq!(full_image("team/app:2"), "docker.io/team/app:2");
        assert_eq!(full_image("registry.example/app:1.2.3"), "registry.example/app:1.2.3");
        assert_eq!(full_image("localhost:5000/app"), "localhost:5000/app:latest");
    }

    #[test]
    fn unready_conditions_name_the_containers() {
        let c = conditions(false, &["a", "b"], "2020-01-01T00:00:00Z");
        assert_eq!(c[2]["type"], "Ready");
        assert_eq!(c[2]["message"], "containers with unready status: [a b]");
        let ready = became_ready(&json!({"conditions": c, "containerStatuses": [{"ready": false}]}));
        assert_eq!(ready["conditions"][2]["status"], "True");
        assert_eq!(ready["containerStatuses"][0]["ready"], true);
    }
}
