//! The fields of a Pod the index reads: decoding into this partial type skips everything else of
//! the Pod (volumes, env, probes, status details), and a [`PodEntry`] keeps fewer still.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::apimachinery::resource::namespaced_resource;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use crate::workload::{AUTOSCALER_ID_ANNOTATION, REC_ID_ANNOTATION};

/// A Pod as the pod watch decodes it.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct PodFields {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<PodSpecFields>,
    #[serde(default)]
    pub status: Option<PodStatusFields>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct PodSpecFields {
    #[serde(default)]
    pub containers: Vec<ContainerFields>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerFields {
    pub name: String,
    #[serde(default)]
    pub resources: Option<ResourceFields>,
    #[serde(default)]
    pub resize_policy: Option<Vec<ResizePolicyFields>>,
}

/// `containers[].resizePolicy[]`: whether resizing a resource restarts the container.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResizePolicyFields {
    pub resource_name: String,
    #[serde(default)]
    pub restart_policy: Option<String>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct ResourceFields {
    #[serde(default)]
    pub requests: Option<BTreeMap<String, Quantity>>,
    #[serde(default)]
    pub limits: Option<BTreeMap<String, Quantity>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct PodStatusFields {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub conditions: Option<Vec<ConditionFields>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConditionFields {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub last_transition_time: Option<String>,
}

namespaced_resource!(PodFields, group: "", version: "v1", kind: "Pod", plural: "pods");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// `ownerReferences[0]` of a pod.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodOwner {
    pub kind: Arc<str>,
    pub name: Arc<str>,
}

/// Requests and limits of one container, as the API server wrote them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ContainerResourceEntry {
    pub name: Box<str>,
    pub cpu_request: Option<Box<str>>,
    pub memory_request: Option<Box<str>>,
    pub cpu_limit: Option<Box<str>>,
    pub memory_limit: Option<Box<str>>,
    /// Resources whose resize restarts the container (`resizePolicy` `RestartContainer`):
    /// [`RESTART_ON_CPU`] | [`RESTART_ON_MEMORY`].
    pub restart_on_resize: u8,
}

pub const RESTART_ON_CPU: u8 = 1;
pub const RESTART_ON_MEMORY: u8 = 2;

/// The pod's in-place resize condition (kubelet 1.33: `PodResizeInProgress`, `PodResizePending`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResizeState {
    /// Neither condition: nothing pending.
    #[default]
    None,
    InProgress,
    /// `PodResizeInProgress` with reason `Error`.
    Error,
    /// `PodResizePending` with reason `Deferred` (or any reason but `Infeasible`).
    Deferred,
    Infeasible,
}

/// What the index keeps of one pod of a DPA target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodEntry {
    /// Shared by the target's pods with the same owner: one pointer in the entry, not two.
    pub owner: Option<Arc<PodOwner>>,
    /// The `autoscaling.datadoghq.com/rec-id` the webhook gave the pod.
    pub rec_id: Option<Arc<str>>,
    /// Shared by the target's pods with the same resources (see [`super::PodIndex`]).
    pub containers: Arc<[ContainerResourceEntry]>,
    pub phase: PodPhase,
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
    pub resize: ResizeState,
    /// Hash of the `controller-revision-hash` label (StatefulSet revisions); 0 without the label.
    pub revision: u32,
    /// `lastTransitionTime` of the resize condition, in Unix seconds (0: none or unknown).
    pub resize_since: i64,
}

impl PodFields {
    pub fn entry(&self) -> PodEntry {
        let owner = self.metadata.owner_references.as_ref().and_then(|o| o.first());
        let rec_id = self.metadata.annotations.as_ref().and_then(|a| a.get(REC_ID_ANNOTATION));
        let containers = self.spec.as_ref().map(|s| s.containers.iter().map(container).collect());
        let status = self.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
        let (resize, since) = resize_state(conditions);
        let labels = self.metadata.labels.as_ref();
        PodEntry {
            owner: owner.map(|o| Arc::new(PodOwner { kind: o.kind.as_str().into(), name: o.name.as_str().into() })),
            rec_id: rec_id.map(|r| r.as_str().into()),
            containers: containers.unwrap_or_default(),
            phase: phase(status.and_then(|s| s.phase.as_deref())),
            ready,
            terminating: self.metadata.deletion_timestamp.is_some(),
            resize,
            revision: labels.and_then(|l| l.get(REVISION_LABEL)).map_or(0, |r| revision_hash(r)),
            resize_since: since,
        }
    }
}

/// Annotation marking a pod whose `RecommendationApplied` event was recorded.
pub const EVENT_ANNOTATION: &str = "autoscaling.datadoghq.com/event";

/// A pod patched with a recommendation whose `RecommendationApplied` event is not recorded yet
/// (it has `rec-id` and `autoscaler-id` but no `autoscaling.datadoghq.com/event`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedNotice {
    pub namespace: String,
    pub pod: String,
    pub uid: Option<String>,
    pub autoscaler_id: String,
    pub rec_id: String,
}

impl PodFields {
    /// The notice for this pod when its event is due.
    pub fn applied_notice(&self) -> Option<AppliedNotice> {
        let annotations = self.metadata.annotations.as_ref()?;
        if annotations.contains_key(EVENT_ANNOTATION) || self.metadata.deletion_timestamp.is_some() {
            return None;
        }
        Some(AppliedNotice {
            namespace: self.metadata.namespace.clone()?,
            pod: self.metadata.name.clone()?,
            uid: self.metadata.uid.clone(),
            autoscaler_id: annotations.get(AUTOSCALER_ID_ANNOTATION)?.clone(),
            rec_id: annotations.get(REC_ID_ANNOTATION)?.clone(),
        })
    }
}

/// Label StatefulSets put on their pods: the revision of the pod template.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// A non-zero 32-bit FNV-1a hash of a revision label.
pub fn revision_hash(revision: &str) -> u32 {
    let h = revision.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    h.max(1)
}

/// The resize state from the pod's conditions: `PodResizeInProgress` first (an `Error` reason is
/// an error), then `PodResizePending` (`Infeasible`, else deferred), with its transition time.
fn resize_state(conditions: &[ConditionFields]) -> (ResizeState, i64) {
    let since = |c: &ConditionFields| {
        let time = c.last_transition_time.as_deref().and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok());
        time.map_or(0, |t| t.as_second())
    };
    let active = |kind: &str| conditions.iter().find(|c| c.type_ == kind && c.status == "True");
    if let Some(c) = active("PodResizeInProgress") {
        let state = if c.reason.as_deref() == Some("Error") { ResizeState::Error } else { ResizeState::InProgress };
        return (state, since(c));
    }
    if let Some(c) = active("PodResizePending") {
        let state =
            if c.reason.as_deref() == Some("Infeasible") { ResizeState::Infeasible } else { ResizeState::Deferred };
        return (state, since(c));
    }
    (ResizeState::None, 0)
}

fn container(c: &ContainerFields) -> ContainerResourceEntry {
    let res = c.resources.as_ref();
    let get = |list: Option<&BTreeMap<String, Quantity>>, name: &str| {
        list.and_then(|l| l.get(name)).map(|q| q.0.as_str().into())
    };
    let (requests, limits) = (res.and_then(|r| r.requests.as_ref()), res.and_then(|r| r.limits.as_ref()));
    let restarts = |resource: &str| {
        c.resize_policy
            .iter()
            .flatten()
            .any(|p| p.resource_name == resource && p.restart_policy.as_deref() == Some("RestartContainer"))
    };
    ContainerResourceEntry {
        name: c.name.as_str().into(),
        cpu_request: get(requests, "cpu"),
        memory_request: get(requests, "memory"),
        cpu_limit: get(limits, "cpu"),
        memory_limit: get(limits, "memory"),
        restart_on_resize: if restarts("cpu") { RESTART_ON_CPU } else { 0 }
            | if restarts("memory") { RESTART_ON_MEMORY } else { 0 },
    }
}

fn phase(p: Option<&str>) -> PodPhase {
    match p {
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        Some("Unknown") => PodPhase::Unknown,
        _ => PodPhase::Pending,
    }
}
