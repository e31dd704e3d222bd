//! The workload autoscaling part of the stack: started only with `autoscaling.workload.enabled`,
//! with the settings-derived [`WorkloadSettings`] and the stack's leader handle; its admission
//! webhooks join the server's TLS listener. When disabled nothing is started and the webhook paths
//! answer "allowed, no patch" ([`AllowUnchanged`]), so a MutatingWebhookConfiguration left in
//! place costs kube-apiserver one cheap round trip and no error.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::LeaderHandle;
use crate::cluster::http2::WatchClients;
use crate::config::Settings;
use crate::server::{AdmissionWebhook, AllowUnchanged, Webhooks};
use crate::status::WorkloadParts;
use crate::workload::horizontal::HorizontalController;
use crate::workload::recommender::external::{ExternalRecommender, ExternalRecommenderConfig};
use crate::workload::recommender::feed::{FeedConfig, RecommendationFeed};
use crate::workload::recommender::leader_check;
use crate::workload::recommender::local::{LocalRecommender, LocalRecommenderConfig};
use crate::workload::{
    AutoscalingStack, InternalStore, ScalingSteps, StackConfig, VerticalController, WorkloadSettings,
};

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

/// The running autoscaling stack and the recommendation feed `/status` shows.
pub struct Workload {
    pub stack: AutoscalingStack,
    pub feed: Option<Arc<RecommendationFeed>>,
}

impl std::ops::Deref for Workload {
    type Target = AutoscalingStack;
    fn deref(&self) -> &AutoscalingStack {
        &self.stack
    }
}

/// Starts the autoscaling stack when `autoscaling.workload.enabled` is true: the DPA controller
/// with its horizontal and vertical steps, the recommendation feed (when
/// `autoscaling.workload.recommendations.source` is set), the local fallback recommender (with
/// `autoscaling.failover.enabled`) and the external recommender (with
/// `autoscaling.workload.external_recommender.enabled`), all sharing one internal store. The
/// pod-index watches run on `watch_clients` (on `client` when `None`).
pub fn start(
    settings: &Settings,
    client: &kube::Client,
    watch_clients: Option<WatchClients>,
    leader: &LeaderHandle,
) -> anyhow::Result<Option<Workload>> {
    if !settings.autoscaling_workload_enabled() {
        return Ok(None);
    }
    let store = Arc::new(InternalStore::default());
    let steps = ScalingSteps {
        horizontal: Arc::new(HorizontalController::default()),
        vertical: Arc::new(VerticalController::default()),
    };
    let config = StackConfig {
        settings: workload_settings(settings),
        leader: Some(leader.clone()),
        steps: Some(steps),
        store: Some(store.clone()),
        builtin_profiles: true,
        watch_clients,
    };
    let feed_config = FeedConfig::from_settings(settings).map_err(|e| anyhow::anyhow!("{e}"))?;
    let external_config = ExternalRecommenderConfig::from_settings(settings);
    let mut stack = AutoscalingStack::start(client.clone(), config);
    let is_leader = leader_check(Some(leader.clone()));
    let feed = match feed_config {
        Some(config) => {
            let feed = RecommendationFeed::new(config, store.clone(), is_leader.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .with_gate(stack.gate.clone());
            let feed = Arc::new(feed);
            stack.spawn(feed.clone().run(stack.stop_signal()));
            Some(feed)
        }
        None => None,
    };
    if settings.flag("autoscaling.failover.enabled") {
        let local = LocalRecommender::new(
            client.clone(),
            store.clone(),
            stack.pods.clone(),
            is_leader.clone(),
            LocalRecommenderConfig::default(),
        );
        stack.spawn(Arc::new(local).run(stack.stop_signal()));
    }
    if let Some(config) = external_config {
        let external = ExternalRecommender::new(store, stack.pods.clone(), is_leader, config)
            .map_err(|e| anyhow::anyhow!("autoscaling.workload.external_recommender: {e}"))?;
        stack.spawn(Arc::new(external).run(stack.stop_signal()));
    }
    Ok(Some(Workload { stack, feed }))
}

/// The webhooks the server answers: the stack's when it runs, [`AllowUnchanged`] otherwise.
pub fn webhooks(workload: Option<&Workload>) -> Webhooks {
    let pods: Arc<dyn AdmissionWebhook> = match workload {
        Some(w) => w.stack.webhook(),
        None => Arc::new(AllowUnchanged),
    };
    let hpas: Arc<dyn AdmissionWebhook> = match workload {
        Some(w) => w.stack.hpa_guard(),
        None => Arc::new(AllowUnchanged),
    };
    Webhooks::default().with(POD_WEBHOOK_PATH, pods).with(HPA_WEBHOOK_PATH, hpas)
}

/// What `/status` reads of the running stack.
pub fn status_parts(workload: &Workload) -> WorkloadParts {
    let stack = &workload.stack;
    let feed = workload.feed.clone().map(|feed| -> crate::status::FeedStatusSource {
        Arc::new(move || serde_json::to_value(feed.status()).unwrap_or_default())
    });
    WorkloadParts { gate: stack.gate.clone(), dpas: stack.dpas.clone(), pods: stack.pods.clone(), feed }
}

/// Stops the stack's loops, waiting at most [`STOP_TIMEOUT`].
pub async fn shutdown(workload: Option<Workload>) {
    let Some(workload) = workload else { return };
    if tokio::time::timeout(STOP_TIMEOUT, workload.stack.shutdown()).await.is_err() {
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
