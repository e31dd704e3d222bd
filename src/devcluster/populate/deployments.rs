//! Bulk Deployments for benchmarks: each Deployment written through the API path (defaults
//! applied), its one ReplicaSet named `<deployment>-<pod-template-hash>` with the template, hash,
//! revision and replica annotations the Deployment controller would have given it, and its pods
//! (Running, Ready, with the fields kube-apiserver's defaulting and admission add) straight into
//! the store. The controllers find every ReplicaSet already matching its Deployment, so they write
//! only the Deployments' statuses and create or delete nothing.

use serde_json::{Value, json};

use super::super::Cluster;
use super::super::ops::{WriteOptions, key};
use super::super::workloads::hash::template_hash;
use super::{PopulateSpec, store_pod};

const HASH_LABEL: &str = "pod-template-hash";

/// Creates `spec.pods` pods in Deployments of `spec.pods_per_owner` replicas named
/// `<prefix>-<n>`, spread round-robin over namespaces `bench-0..bench-<spec.namespaces>` (created
/// when missing). Returns how many objects were created.
pub fn run(c: &Cluster, spec: &PopulateSpec, prefix: &str) -> anyhow::Result<usize> {
    let _hold = super::Hold::new(c);
    let lookup = |group: &str, resource: &str| {
        c.registry.lookup(group, "v1", resource).ok_or_else(|| anyhow::anyhow!("{resource} not served"))
    };
    let (ns_rt, pods_rt) = (lookup("", "namespaces")?, lookup("", "pods")?);
    let (deploy_rt, rs_rt) = (lookup("apps", "deployments")?, lookup("apps", "replicasets")?);
    let namespaces = spec.namespaces.max(1);
    let per_owner = spec.pods_per_owner.max(1);
    let opts = WriteOptions { field_manager: "devcluster-populate".into(), ..Default::default() };
    let status_opts = WriteOptions { subresource: Some("status".into()), ..opts.clone() };
    let mut created = 0;
    for n in 0..namespaces.min(spec.pods.div_ceil(per_owner)) {
        let name = format!("bench-{n}");
        if c.store.get(&ns_rt.table, &key(&ns_rt, "", &name)).is_none() {
            c.op_create(&ns_rt, "", json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":name}}), &opts)?;
            created += 1;
        }
    }
    let mut owner = (String::new(), String::new(), String::new()); // (rs name, rs uid, hash)
    for i in 0..spec.pods {
        let group = i / per_owner;
        let ns = format!("bench-{}", group % namespaces);
        let app = format!("{prefix}-{group}");
        if i % per_owner == 0 {
            let replicas = per_owner.min(spec.pods - i);
            let d = c.op_create(&deploy_rt, &ns, deployment(&ns, &app, replicas), &opts)?.object;
            let hash = template_hash(&d["spec"]["template"], None);
            let rs_name = format!("{app}-{hash}");
            let mut rs = c.op_create(&rs_rt, &ns, replica_set(&d, &hash, replicas), &opts)?.object;
            let uid = rs["metadata"]["uid"].as_str().unwrap_or_default().to_string();
            rs["status"] = json!({"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                                  "availableReplicas": replicas, "observedGeneration": 1});
            c.op_update(&rs_rt, &ns, &rs_name, rs, &status_opts)?;
            owner = (rs_name, uid, hash);
            created += 2;
        }
        let (rs_name, rs_uid, hash) = &owner;
        store_pod(c, &pods_rt, &ns, pod(&ns, &app, rs_name, rs_uid, hash, i))?;
        created += 1;
    }
    Ok(created)
}

fn deployment(ns: &str, app: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": ns, "labels": {"app": app, "team": "bench"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app, "tier": "web"},
                             "annotations": {"ad.datadoghq.com/tags": "{\"team\":\"bench\"}"}},
                "spec": {
                    "serviceAccountName": "default",
                    "containers": [{
                        "name": "app", "image": "registry.example/app:1.2.3",
                        "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                        "env": [{"name": "DD_ENV", "value": "bench"}, {"name": "DD_SERVICE", "value": app}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
                    }]
                }
            }
        }
    })
}

/// The ReplicaSet the Deployment controller creates for `d`'s template (revision 1, default
/// RollingUpdate surge of 25 % in the max-replicas annotation).
fn replica_set(d: &Value, hash: &str, replicas: usize) -> Value {
    let m = &d["metadata"];
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let surge = (replicas * 25).div_ceil(100);
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", m["name"].as_str().unwrap_or_default()), "namespace": m["namespace"],
            "labels": template["metadata"]["labels"],
            "annotations": {"deployment.kubernetes.io/revision": "1",
                            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                            "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": m["name"], "uid": m["uid"],
                                 "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template}
    })
}

/// A pod as kube-apiserver stores it after defaulting and admission, bound and Ready.
pub fn pod(ns: &str, app: &str, rs: &str, rs_uid: &str, hash: &str, i: usize) -> Value {
    let ip = format!("10.{}.{}.{}", 128 + ((i >> 16) & 127), (i >> 8) & 255, i & 255);
    let ready = |t: &str| json!({"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"});
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{rs}-{i:05x}"), "generateName": format!("{rs}-"), "namespace": ns,
            "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": app, "tier": "web", HASH_LABEL: hash},
            "annotations": {"ad.datadoghq.com/tags": "{\"team\":\"bench\"}"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": rs_uid,
                                 "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "nodeName": format!("node-{}", i % 500),
            "serviceAccountName": "default", "serviceAccount": "default",
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30, "enableServiceLinks": true, "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority", "securityContext": {},
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]}}],
            "containers": [{
                "name": "app", "image": "registry.example/app:1.2.3", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                "env": [{"name": "DD_ENV", "value": "bench"}, {"name": "DD_SERVICE", "value": app}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10,
                                   "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"name": "kube-api-access", "readOnly": true,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
            }]
        },
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": format!("10.0.{}.{}", (i % 500) / 250, (i % 500) % 250),
            "qosClass": "Burstable", "startTime": "2026-01-01T00:00:01Z",
            "conditions": [ready("PodReadyToStartContainers"), ready("Initialized"), ready("Ready"),
                           ready("ContainersReady"), ready("PodScheduled")],
            "containerStatuses": [{"name": "app", "ready": true, "started": true, "restartCount": 0,
                                   "image": "registry.example/app:1.2.3",
                                   "imageID": "registry.example/app@sha256:4c1e0b9d8f3a2e7c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a",
                                   "containerID": format!("containerd://{:064x}", i),
                                   "state": {"running": {"startedAt": "2026-01-01T00:00:03Z"}}}]
        }
    })
}
