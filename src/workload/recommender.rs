//! The recommendation sources of workload autoscaling: what writes `main` and `fallback` scaling
//! values into the [`InternalStore`](super::InternalStore) for the controller to act on.
//!
//! - [`feed`]: the Remote-Config-format feed (spec §10.3) — `CONTAINER_AUTOSCALING_SETTINGS`
//!   (Remote DPA specs) and `CONTAINER_AUTOSCALING_VALUES` (Datadog's recommendations) read from a
//!   directory or polled from an HTTP(S) URL (`autoscaling.workload.recommendations.source`).
//! - [`local`]: the local fallback recommender (spec §10.11), horizontal replicas from pod usage
//!   sampled from the resource metrics API (`metrics.k8s.io/v1beta1` PodMetrics).
//! - [`external`]: the external (custom) recommender (spec §10.12), called over HTTP(S) for DPAs
//!   with the `autoscaling.datadoghq.com/custom-recommender` annotation.
//!
//! Every source writes only on the leader (see [`IsLeader`]), one DPA at a time under its lock,
//! and calls [`InternalStore::notify`](super::InternalStore::notify) only when it changed something.

pub mod external;
pub mod feed;
pub mod local;

use std::sync::Arc;

use super::model::{CustomRecommenderConfig, PodAutoscalerInternal};
use crate::cluster::LeaderHandle;

/// The annotation naming a DPA's custom recommender: `{"endpoint": url, "settings": {k: string}}`.
pub const CUSTOM_RECOMMENDER_ANNOTATION: &str = "autoscaling.datadoghq.com/custom-recommender";

/// Asked before every pass and every write: true when this process may write.
pub type IsLeader = Arc<dyn Fn() -> bool + Send + Sync>;

/// The leadership check of a lease handle; without one (election off) this process is the leader.
pub fn leader_check(handle: Option<LeaderHandle>) -> IsLeader {
    Arc::new(move || handle.as_ref().is_none_or(LeaderHandle::is_leader_now))
}

/// A check that always answers `leader` (tests, single-replica setups).
pub fn fixed_leadership(leader: bool) -> IsLeader {
    Arc::new(move || leader)
}

/// The DPA's custom recommender: the parsed configuration the controller keeps, else the annotation
/// read here (a DPA whose annotation does not parse has none; the controller reports that).
pub fn custom_recommender(dpa: &PodAutoscalerInternal) -> Option<CustomRecommenderConfig> {
    if let Some(config) = &dpa.custom_recommender {
        return Some(config.clone());
    }
    serde_json::from_str(dpa.annotation(CUSTOM_RECOMMENDER_ANNOTATION)?).ok()
}

/// An error and its causes, `a: b: c` (reqwest's top-level text alone hides timeouts and refusals).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}
