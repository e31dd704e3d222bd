//! The target's pods as the vertical controller sees them: each live pod's resize status for the
//! current recommendation ID, whether a rollout is already under way, and whether a new
//! recommendation raises a limit of the pods still on an older one.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::constraints::is_sentinel;
use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::ContainerResources;
use crate::workload::pod_index::{PodEntry, ResizeState};

/// Where one pod stands with the current recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodStatus {
    /// Does not carry the recommendation ID yet.
    NeedsPatch,
    /// Carries it and no resize is pending.
    Completed,
    InProgress,
    /// `PodResizeInProgress` with reason `Error`.
    Error,
    Infeasible,
    Deferred,
}

/// One live pod with its status and since when (Unix seconds, 0 unknown) it is in that state.
#[derive(Clone, Debug)]
pub struct ClassifiedPod {
    pub name: String,
    pub entry: PodEntry,
    pub status: PodStatus,
    pub since: i64,
}

/// The target's live (not terminating) pods, by name.
pub struct Pods {
    pub pods: Vec<ClassifiedPod>,
}

/// Classifies the pods against the recommendation ID `id`; terminating pods are left out.
pub fn classify(pods: Vec<(String, PodEntry)>, id: &str) -> Pods {
    let pods = pods
        .into_iter()
        .filter(|(_, p)| !p.terminating)
        .map(|(name, entry)| {
            let (status, since) = status_of(&entry, id);
            ClassifiedPod { name, entry, status, since }
        })
        .collect();
    Pods { pods }
}

fn status_of(pod: &PodEntry, id: &str) -> (PodStatus, i64) {
    if pod.rec_id.as_deref() != Some(id) {
        return (PodStatus::NeedsPatch, 0);
    }
    let status = match pod.resize {
        ResizeState::None => return (PodStatus::Completed, 0),
        ResizeState::InProgress => PodStatus::InProgress,
        ResizeState::Error => PodStatus::Error,
        ResizeState::Deferred => PodStatus::Deferred,
        ResizeState::Infeasible => PodStatus::Infeasible,
    };
    (status, pod.resize_since)
}

impl Pods {
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn with(&self, status: PodStatus) -> impl Iterator<Item = &ClassifiedPod> {
        self.pods.iter().filter(move |p| p.status == status)
    }

    /// Pods carrying the ID with no resize pending.
    pub fn completed(&self) -> usize {
        self.with(PodStatus::Completed).count()
    }

    /// Every live pod carries the recommendation ID.
    pub fn all_on(&self, id: &str) -> bool {
        !self.pods.is_empty() && self.pods.iter().all(|p| p.entry.rec_id.as_deref() == Some(id))
    }

    /// Deployments and Argo Rollouts: pods of more than one ReplicaSet.
    pub fn several_owners(&self) -> bool {
        let owners: BTreeSet<&str> =
            self.pods.iter().filter_map(|p| p.entry.owner.as_ref()).map(|o| &*o.name).collect();
        owners.len() > 1
    }

    /// StatefulSets: pods of more than one `controller-revision-hash` (pods without it are skipped).
    pub fn several_revisions(&self) -> bool {
        let revisions: BTreeSet<u32> = self.pods.iter().map(|p| p.entry.revision).filter(|r| *r != 0).collect();
        revisions.len() > 1
    }

    /// Pods unavailable or mid-resize (the disruption budget's "already disrupted").
    pub fn disrupted(&self) -> usize {
        let calm =
            |p: &&ClassifiedPod| matches!(p.status, PodStatus::NeedsPatch | PodStatus::Completed) && p.entry.ready;
        self.pods.iter().filter(|p| !calm(p)).count()
    }

    /// Whether `resources` raise (or remove) a cpu or memory limit of a pod patched with an older
    /// recommendation: such a change may unblock a rollout stuck on too small limits.
    pub fn limit_increase(&self, resources: &[ContainerResources], id: &str) -> bool {
        let older = self.pods.iter().filter(|p| p.entry.rec_id.as_deref().is_some_and(|r| !r.is_empty() && r != id));
        older.flat_map(|p| p.entry.containers.iter()).any(|c| {
            let Some(reco) = resources.iter().find(|r| *r.name == *c.name) else { return false };
            let limit = |name: &str| reco.limits.as_ref().and_then(|l| l.get(name)).filter(|q| positive(q));
            raises(limit("cpu"), c.cpu_limit.as_deref()) || raises(limit("memory"), c.memory_limit.as_deref())
        })
    }
}

fn positive(q: &Quantity) -> bool {
    !is_sentinel(q) && milli_value(&q.0).is_ok_and(|m| m > 0)
}

/// A recommended limit (None: no limit, unbounded) above the pod's current one.
fn raises(recommended: Option<&Quantity>, current: Option<&str>) -> bool {
    let Some(current) = current.and_then(|c| milli_value(c).ok()) else { return false };
    match recommended {
        None => true,
        Some(q) => milli_value(&q.0).is_ok_and(|r| r.cmp(&current) == Ordering::Greater),
    }
}

/// How many more pods a disruptive resize may take this sync: `percent` of `replicas` minus those
/// already disrupted, and one when a healthy workload's share rounds down to none.
pub fn allowed_disruptions(replicas: usize, disrupted: usize, percent: u32) -> usize {
    let tolerance = replicas * percent as usize / 100;
    if tolerance == 0 && disrupted == 0 && replicas > 0 {
        return 1;
    }
    tolerance.saturating_sub(disrupted)
}
