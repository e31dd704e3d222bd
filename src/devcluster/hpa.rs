//! The HorizontalPodAutoscaler controller of kube-controller-manager, simulated: every sync period
//! each autoscaling/v2 HPA gets its target's scale, reads its metrics (External through the
//! aggregation layer over HTTP, Resource from a per-pod usage annotation — see `metrics.rs`),
//! computes and normalizes the replica count as kube does, scales through the scale subresource
//! and writes status and Events — all over HTTPS as `system:serviceaccount:kube-system:horizontal-pod-autoscaler`.
//!
//! Layout: `calc` (replica calculator), `normalize` (stabilization windows and rate policies),
//! `metrics` (one metric → proposal or failure), `reconcile` (one HPA), `status` (conditions),
//! `render` (Go renderings of selectors and client errors), `api` (the cluster seam)
//! and `http` (that seam over devcluster's own HTTPS API).

mod api;
mod calc;
mod http;
mod metrics;
mod normalize;
mod reconcile;
mod render;
mod status;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::Cluster;
pub use http::{SA_NAME, SA_NAMESPACE};
pub use metrics::USAGE_ANNOTATION_PREFIX;
use normalize::HpaMemory;
use reconcile::{Clock, Settings};

/// Runs until `stop`: one pass over every HPA per `Config::hpa_sync_period`.
pub async fn run(cluster: Arc<Cluster>, base_url: String, ca_pem: String, mut stop: watch::Receiver<bool>) {
    let api = match http::HttpApi::new(cluster.clone(), base_url, &ca_pem) {
        Ok(api) => api,
        Err(e) => {
            tracing::error!(error = %e, "HPA controller not started: no client for devcluster");
            return;
        }
    };
    let settings = Settings {
        downscale_stabilization: cluster.config.hpa_downscale_stabilization,
        tolerance: calc::DEFAULT_TOLERANCE,
    };
    let mut memories: HashMap<(String, String), HpaMemory> = HashMap::new();
    let mut ticker = tokio::time::interval(cluster.config.hpa_sync_period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = sync_all(&cluster, &api, &mut memories, &settings) => {}
        }
    }
}

/// One pass: every HPA in key order; memories of deleted HPAs are dropped.
async fn sync_all(
    cluster: &Cluster,
    api: &http::HttpApi,
    memories: &mut HashMap<(String, String), HpaMemory>,
    settings: &Settings,
) {
    let Some(rt) = cluster.registry.lookup("autoscaling", "v2", "horizontalpodautoscalers") else { return };
    let (_, hpas) = cluster.store.snapshot(&rt.table);
    let mut keys = Vec::new();
    for stored in hpas.values() {
        let key = (stored.key.namespace.clone(), stored.key.name.clone());
        let hpa = match super::builtin::convert(
            "autoscaling",
            "HorizontalPodAutoscaler",
            &rt.storage_version,
            "v2",
            stored.value(),
        ) {
            Ok(hpa) => hpa,
            Err(e) => {
                tracing::warn!(hpa = %format!("{}/{}", key.0, key.1), error = %e, "HPA not readable as autoscaling/v2");
                continue;
            }
        };
        let memory = memories.entry(key.clone()).or_default();
        if let Err(e) = reconcile::reconcile(api, &hpa, memory, settings, &Clock::now()).await {
            tracing::info!(hpa = %format!("{}/{}", key.0, key.1), error = %e, "HPA sync");
        }
        keys.push(key);
    }
    memories.retain(|k, _| keys.contains(k));
}
