//! The workload autoscaling part of the stack: started only with `autoscaling.workload.enabled`,
//! with the settings-derived [`WorkloadSettings`] and the stack's leader handle; its admission
//! webhooks join the server's TLS listener. When disabled nothing is started and the webhook paths
//! answer "allowed, no patch" ([`AllowUnchanged`]), so a MutatingWebhookConfiguration left in
//! place costs kube-apiserver one cheap round trip and no error.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::LeaderHandle;
use crate::config::Settings;
use crate::server::{AdmissionWebhook, AllowUnchanged, Webhooks};
use crate::status::WorkloadParts;
use crate::workload::{AutoscalingStack, StackConfig, WorkloadSettings};

/// Path of the pod admission webhook (spec §10.10).
pub const POD_WEBHOOK_PATH: &str = "/autoscaling";
/// Path of the HPA guard webhook (spec §10.13).
pub const HPA_WEBHOOK_PATH: &str = "/hpa-autoscaling";

/// How long shutdown waits for the autoscaling stack's loops.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// `autoscaling.workload.*` with this process's identity: `DD_POD_NAME` before the host name, and
/// the namespace of the service-account mount, else the resources namespace (dev, tests), so the
/// self-target refusal knows where the server runs.
pub fn workload_settings(settings: &Settings) -> WorkloadSettings {
    let mut ws = WorkloadSettings::from_settings(settings);
    if let Some(pod) = settings.pod_name() {
        ws.own_pod_name = Some(pod.to_owned());
    }
    if ws.own_namespace.is_none() {
        ws.own_namespace = Some(settings.resources_namespace().to_owned());
    }
    ws
}

/// Start-up check (spec §1 step 7): workload autoscaling needs a cluster name.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    if settings.autoscaling_workload_enabled() && settings.cluster_name().is_none() {
        anyhow::bail!(
            "autoscaling is enabled (autoscaling.workload.enabled) but no cluster name is set: \
             set DD_CLUSTER_NAME, or cluster_name in datadog.yaml"
        );
    }
    Ok(())
}

/// Starts the autoscaling stack when `autoscaling.workload.enabled` is true.
pub fn start(settings: &Settings, client: &kube::Client, leader: &LeaderHandle) -> Option<AutoscalingStack> {
    if !settings.autoscaling_workload_enabled() {
        return None;
    }
    let config =
        StackConfig { settings: workload_settings(settings), leader: Some(leader.clone()), ..Default::default() };
    Some(AutoscalingStack::start(client.clone(), config))
}

/// The webhooks the server answers: the stack's when it runs, [`AllowUnchanged`] otherwise.
pub fn webhooks(stack: Option<&AutoscalingStack>) -> Webhooks {
    let pods: Arc<dyn AdmissionWebhook> = match stack {
        Some(stack) => stack.webhook(),
        None => Arc::new(AllowUnchanged),
    };
    // MERGE: the HPA guard (issue #6 item 6, another branch) replaces AllowUnchanged here when
    // the stack runs; until then an HPA update is admitted as is, which is what failing open did.
    let hpas: Arc<dyn AdmissionWebhook> = Arc::new(AllowUnchanged);
    Webhooks::default().with(POD_WEBHOOK_PATH, pods).with(HPA_WEBHOOK_PATH, hpas)
}

/// What `/status` reads of the running stack.
pub fn status_parts(stack: &AutoscalingStack) -> WorkloadParts {
    // MERGE: the recommendation feed (another branch) sets `feed` to its per-config states.
    WorkloadParts { gate: stack.gate.clone(), dpas: stack.dpas.clone(), pods: stack.pods.clone(), feed: None }
}

/// Stops the stack's loops, waiting at most [`STOP_TIMEOUT`].
pub async fn shutdown(stack: Option<AutoscalingStack>) {
    let Some(stack) = stack else { return };
    if tokio::time::timeout(STOP_TIMEOUT, stack.shutdown()).await.is_err() {
        tracing::warn!("the workload autoscaling stack did not stop within {STOP_TIMEOUT:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        crate::config::load(None, env, &[]).expect("settings").0
    }

    #[test]
    fn identity_comes_from_the_pod_name_and_the_resources_namespace() {
        let s = settings(&[
            ("DD_POD_NAME", "dca-0"),
            ("DD_KUBE_RESOURCES_NAMESPACE", "datadog"),
            ("DD_AUTOSCALING_WORKLOAD_LIMIT", "7"),
        ]);
        let ws = workload_settings(&s);
        assert_eq!(ws.own_pod_name.as_deref(), Some("dca-0"));
        assert_eq!(ws.own_namespace.as_deref(), Some(crate::cluster::own_namespace().as_deref().unwrap_or("datadog")));
        assert_eq!(ws.limit, 7);
    }

    #[test]
    fn autoscaling_needs_a_cluster_name() {
        let err = check(&settings(&[("DD_AUTOSCALING_WORKLOAD_ENABLED", "true")])).unwrap_err().to_string();
        assert!(err.contains("DD_CLUSTER_NAME") && err.contains("autoscaling.workload.enabled"), "{err}");
        check(&settings(&[("DD_AUTOSCALING_WORKLOAD_ENABLED", "true"), ("DD_CLUSTER_NAME", "prod")])).unwrap();
        check(&settings(&[])).unwrap();
    }

    #[test]
    fn disabled_serves_allow_unchanged_on_both_paths() {
        let hooks = webhooks(None);
        let body = br#"{"apiVersion":"admission.k8s.io/v1","request":{"uid":"u"}}"#;
        for path in [POD_WEBHOOK_PATH, HPA_WEBHOOK_PATH] {
            let hook = hooks.find(path).unwrap_or_else(|| panic!("{path} not served"));
            let out: serde_json::Value = serde_json::from_slice(&hook.review(body)).unwrap();
            assert_eq!(out["response"], serde_json::json!({"uid": "u", "allowed": true}), "{path}");
        }
        assert!(hooks.find("/other").is_none());
    }
}
