//! The pod watcher's `RecommendationApplied` event (spec §10.10): a pod of a target seen with
//! `rec-id` and `autoscaler-id` but without `autoscaling.datadoghq.com/event` gets, from the
//! leader only, that annotation (`"true"`) and a Normal event on the Pod.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::workload::context::Context;
use crate::workload::pod_index::{AppliedNotice, EVENT_ANNOTATION};

/// Pods remembered as handled (with their rec-id) before the memory is reset.
const REMEMBERED: usize = 4096;

/// Records the events of the pods the pod index reports, until `stop`.
pub async fn run_applied_events(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let mut notices = ctx.pods.subscribe_applied();
    let mut handled: HashMap<(String, String), String> = HashMap::new();
    loop {
        let notice = tokio::select! {
            n = notices.recv() => n,
            _ = stop.changed() => return,
        };
        match notice {
            Ok(notice) => {
                let key = (notice.namespace.clone(), notice.pod.clone());
                if !ctx.is_leader() || handled.get(&key) == Some(&notice.rec_id) {
                    continue;
                }
                if record(&ctx, &notice).await {
                    if handled.len() >= REMEMBERED {
                        handled.clear();
                    }
                    handled.insert(key, notice.rec_id);
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "RecommendationApplied notices dropped (the pods get theirs on their next change)"
                )
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Annotates the pod, then records the event; false when the pod could not be annotated.
async fn record(ctx: &Context, notice: &AppliedNotice) -> bool {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &notice.namespace);
    let body = json!({"metadata": {"annotations": {EVENT_ANNOTATION: "true"}}});
    if let Err(e) = api.patch(&notice.pod, &PatchParams::default(), &Patch::Merge(&body)).await {
        let pod = format!("{}/{}", notice.namespace, notice.pod);
        tracing::warn!(%pod, error = %super::error_message(&e), "could not mark the pod's RecommendationApplied event");
        return false;
    }
    let regarding = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(notice.namespace.clone()),
        name: Some(notice.pod.clone()),
        uid: notice.uid.clone(),
        ..Default::default()
    };
    let note = format!(
        "POD patched with recommendations from autoscaler {}, recommendation id: {}",
        notice.autoscaler_id, notice.rec_id
    );
    ctx.event(&regarding, EventType::Normal, "RecommendationApplied", note).await;
    true
}
