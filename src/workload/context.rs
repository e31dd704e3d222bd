//! What the workload controllers share while reconciling: the Kubernetes client, the event
//! recorder (component `datadog-workload-autoscaler`), the pod index, leadership and settings.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use super::model::PodAutoscalerInternal;
use super::pod_index::PodIndex;
use crate::cluster::LeaderHandle;
use crate::config::Settings;

/// The component events are reported as (spec §10.15).
pub const EVENT_COMPONENT: &str = "datadog-workload-autoscaler";

/// `autoscaling.workload.*` settings and who this process is.
#[derive(Clone, Debug)]
pub struct WorkloadSettings {
    /// `autoscaling.workload.limit`: most DPAs handled at once.
    pub limit: usize,
    /// `autoscaling.workload.num_workers`.
    pub num_workers: usize,
    /// `autoscaling.workload.in_place_vertical_scaling.enabled`.
    pub in_place_vertical_scaling: bool,
    /// `autoscaling.workload.in_place_vertical_scaling.disruption_tolerance_percent`.
    pub disruption_tolerance_percent: u32,
    /// `autoscaling.workload.external_recommender.enabled`.
    pub external_recommender: bool,
    /// Namespace and pod name of this process (self-target refusal).
    pub own_namespace: Option<String>,
    pub own_pod_name: Option<String>,
}

impl Default for WorkloadSettings {
    fn default() -> Self {
        WorkloadSettings {
            limit: 1000,
            num_workers: 2,
            in_place_vertical_scaling: true,
            disruption_tolerance_percent: 15,
            external_recommender: false,
            own_namespace: None,
            own_pod_name: None,
        }
    }
}

impl WorkloadSettings {
    pub fn from_settings(settings: &Settings) -> Self {
        let int = |key: &str, default: i64| settings.int(key).unwrap_or(default);
        WorkloadSettings {
            limit: int("autoscaling.workload.limit", 1000).max(0) as usize,
            num_workers: int("autoscaling.workload.num_workers", 2).max(1) as usize,
            in_place_vertical_scaling: settings.flag("autoscaling.workload.in_place_vertical_scaling.enabled"),
            disruption_tolerance_percent: int(
                "autoscaling.workload.in_place_vertical_scaling.disruption_tolerance_percent",
                15,
            )
            .clamp(0, 100) as u32,
            external_recommender: settings.flag("autoscaling.workload.external_recommender.enabled"),
            own_namespace: crate::cluster::own_namespace(),
            own_pod_name: crate::cluster::hostname(),
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: kube::Client,
    pub recorder: Recorder,
    pub pods: Arc<PodIndex>,
    /// `None` when leader election is off: this process is the leader.
    pub leader: Option<LeaderHandle>,
    pub settings: WorkloadSettings,
}

impl Context {
    pub fn new(
        client: kube::Client,
        pods: Arc<PodIndex>,
        leader: Option<LeaderHandle>,
        settings: WorkloadSettings,
    ) -> Self {
        let instance = settings.own_pod_name.clone();
        let recorder = Recorder::new(client.clone(), Reporter { controller: EVENT_COMPONENT.into(), instance });
        Context { client, recorder, pods, leader, settings }
    }

    /// True when this process may write (leader, or election off).
    pub fn is_leader(&self) -> bool {
        self.leader.as_ref().is_none_or(|l| l.is_leader_now())
    }

    /// Records an event on the DPA; a failure to record is logged, never fatal.
    pub async fn dpa_event(&self, dpa: &PodAutoscalerInternal, type_: EventType, reason: &str, note: String) {
        let reference = ObjectReference {
            api_version: Some("datadoghq.com/v1alpha2".into()),
            kind: Some("DatadogPodAutoscaler".into()),
            namespace: Some(dpa.namespace.clone()),
            name: Some(dpa.name.clone()),
            ..Default::default()
        };
        self.event(&reference, type_, reason, note).await
    }

    /// Records an event on any object.
    pub async fn event(&self, regarding: &ObjectReference, type_: EventType, reason: &str, note: String) {
        let event = Event { type_, reason: reason.into(), note: Some(note), action: reason.into(), secondary: None };
        if let Err(e) = self.recorder.publish(&event, regarding).await {
            tracing::warn!(
                object = ?regarding.name, namespace = ?regarding.namespace, reason, error = %e,
                "could not record event"
            );
        }
    }
}
