//! The fields of a Pod the index reads: decoding into this partial type skips everything else of
//! the Pod (volumes, env, probes, status details), and a [`PodEntry`] keeps fewer still.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{NamespaceResourceScope, Resource};
use serde::Deserialize;

use crate::workload::REC_ID_ANNOTATION;

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
pub struct ContainerFields {
    pub name: String,
    #[serde(default)]
    pub resources: Option<ResourceFields>,
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
pub struct ConditionFields {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

impl Resource for PodFields {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodOwner {
    pub kind: Box<str>,
    pub name: Box<str>,
}

/// Requests and limits of one container, as the API server wrote them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ContainerResourceEntry {
    pub name: Box<str>,
    pub cpu_request: Option<Box<str>>,
    pub memory_request: Option<Box<str>>,
    pub cpu_limit: Option<Box<str>>,
    pub memory_limit: Option<Box<str>>,
}

/// What the index keeps of one pod of a DPA target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEntry {
    pub owner: Option<PodOwner>,
    /// The `autoscaling.datadoghq.com/rec-id` the webhook gave the pod.
    pub rec_id: Option<Box<str>>,
    pub containers: Box<[ContainerResourceEntry]>,
    pub phase: PodPhase,
    pub ready: bool,
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
        PodEntry {
            owner: owner.map(|o| PodOwner { kind: o.kind.as_str().into(), name: o.name.as_str().into() }),
            rec_id: rec_id.map(|r| r.as_str().into()),
            containers: containers.unwrap_or_default(),
            phase: phase(status.and_then(|s| s.phase.as_deref())),
            ready,
        }
    }
}

fn container(c: &ContainerFields) -> ContainerResourceEntry {
    let res = c.resources.as_ref();
    let get = |list: Option<&BTreeMap<String, Quantity>>, name: &str| {
        list.and_then(|l| l.get(name)).map(|q| q.0.as_str().into())
    };
    let (requests, limits) = (res.and_then(|r| r.requests.as_ref()), res.and_then(|r| r.limits.as_ref()));
    ContainerResourceEntry {
        name: c.name.as_str().into(),
        cpu_request: get(requests, "cpu"),
        memory_request: get(requests, "memory"),
        cpu_limit: get(limits, "cpu"),
        memory_limit: get(limits, "memory"),
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
