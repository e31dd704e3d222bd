//! AdmissionReviews as kube-apiserver sends them to `/autoscaling` (POST over TLS, keep-alive):
//! a pod CREATE of the target Deployment `bench-0/checkout` (patched) and of a Deployment no DPA
//! targets (allowed, no patch). The pod object is what the API server has after defaulting and
//! the earlier admission plugins: a generateName'd ReplicaSet pod with the usual fields.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ClientConfig;
use serde_json::{Value, json};

use super::super::common::client::{Conn, HOST, Reply};

pub const PATH: &str = "/autoscaling?timeout=5s";

/// The review of a pod of ReplicaSet `<app>-<hash>` in `ns`.
pub fn review(ns: &str, app: &str, hash: &str, uid: &str) -> Value {
    let rs = format!("{app}-{hash}");
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid,
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": ns, "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                     "uid": "5f0c9c52-8d7e-4b43-9a53-3b7ad1f0a0c1",
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]},
        "object": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": format!("{rs}-"), "namespace": ns, "creationTimestamp": null,
                "labels": {"app": app, "pod-template-hash": hash, "tier": "web"},
                "annotations": {"ad.datadoghq.com/tags": "{\"team\":\"bench\"}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                    "uid": "0b7c1e55-2f1d-4c39-8e3e-7d0a5b9f6e21", "controller": true, "blockOwnerDeletion": true}],
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                    "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}}}}]},
            "spec": {
                "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace",
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
                "containers": [{
                    "name": "app", "image": format!("registry.example/{app}:2.0.1"),
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "DD_ENV", "value": "bench"}, {"name": "DD_SERVICE", "value": app}],
                    "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                    "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": true,
                        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "serviceAccountName": "default", "serviceAccount": "default", "securityContext": {},
                "schedulerName": "default-scheduler", "enableServiceLinks": true, "priority": 0,
                "preemptionPolicy": "PreemptLowerPriority",
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]},
            "status": {}},
        "oldObject": null, "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}})
}

/// The HTTP/1.1 request kube-apiserver's webhook client sends.
pub fn request(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json, */*\r\nContent-Type: application/json\r\n\
         User-Agent: kube-apiserver-admission\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Sends `review` once; the response review, the request bytes and the reply as read (head and
/// body: what every later request must get back byte for byte).
pub async fn probe(
    addr: SocketAddr,
    tls: Arc<ClientConfig>,
    review: &Value,
) -> anyhow::Result<(Value, Vec<u8>, Reply)> {
    let bytes = request(&serde_json::to_vec(review)?);
    let mut conn = Conn::connect(addr, tls).await?;
    let reply = conn.round_trip(&bytes).await?;
    if reply.status != 200 {
        bail!("POST {PATH}: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let parsed: Value = serde_json::from_slice(&reply.body).context("AdmissionReview response")?;
    Ok((parsed, bytes, reply))
}

/// The decoded JSON patch of a response review (empty when there is none).
pub fn patch_of(response: &Value) -> anyhow::Result<Vec<Value>> {
    use base64::Engine;
    let Some(patch) = response["response"]["patch"].as_str() else { return Ok(Vec::new()) };
    let bytes = base64::engine::general_purpose::STANDARD.decode(patch)?;
    Ok(serde_json::from_slice(&bytes)?)
}
