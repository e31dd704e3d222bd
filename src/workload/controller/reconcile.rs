//! Reconcile of one DPA key (spec §10.4). Followers mirror the object into the internal store.
//! The leader, holding the key's lock: creates the internal state from the object (restoring it
//! from `status`); creates the object of a Remote DPA known only internally, deletes the one the
//! feed dropped, pushes a newer Remote spec; adopts a Local DPA's spec on a new generation;
//! validates; chooses the active sources; tells the webhook's store the coming vertical target;
//! runs the horizontal then the vertical step; counts the target's pods; writes `status` when it
//! changed.

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::core::ApiResource;

use super::limit::AdmissionSet;
use super::objects::{ObjectStore, Unreadable};
use super::queue::WorkQueue;
use super::writes::{self, Deleted};
use super::{SENDER, restore, sources, status, validate};
use crate::workload::context::Context;
use crate::workload::crd::{DatadogPodAutoscaler, Owner};
use crate::workload::dpa_store::{DpaStore, TargetKey};
use crate::workload::hash::stable_hash;
use crate::workload::model::{
    ConditionError, DpaKey, InternalStore, PodAutoscalerInternal, ProcessResult, ScalingStep,
};

/// What the workers share.
pub struct Inner {
    pub ctx: Arc<Context>,
    pub store: Arc<InternalStore>,
    pub horizontal: Arc<dyn ScalingStep>,
    pub vertical: Arc<dyn ScalingStep>,
    pub objects: ObjectStore,
    pub resource: ApiResource,
    pub queue: WorkQueue<DpaKey>,
    pub limit: AdmissionSet,
    /// The webhook's store, told the vertical target before the steps act (leader).
    pub dpas: Option<Arc<DpaStore>>,
}

/// What to do with the store entry once unlocked.
enum Next {
    Keep(ProcessResult),
    Remove,
}

impl Inner {
    /// The watched object of `key`; an object our types cannot read is treated as unreadable
    /// (`Err`, with the error naming the field and what the status write needs), never as absent.
    pub fn object(&self, key: &DpaKey) -> Result<Option<DatadogPodAutoscaler>, Arc<Unreadable>> {
        let Some(stored) = self.objects.get(key) else { return Ok(None) };
        stored.object.clone().map(Some)
    }

    pub async fn reconcile(&self, key: &DpaKey) -> ProcessResult {
        let object = match self.object(key) {
            Ok(o) => o,
            Err(unreadable) => {
                tracing::warn!(dpa = %key, error = %unreadable.error, "unreadable DatadogPodAutoscaler not reconciled");
                // The leader says why in the `Error` condition (once: an equal condition is not
                // rewritten, so the write's own watch event ends here).
                if self.ctx.is_leader()
                    && let Err(e) = writes::unreadable_condition(&self.ctx, key, &unreadable, Timestamp::now()).await
                {
                    tracing::warn!(error = %e, "cannot report an unreadable DatadogPodAutoscaler");
                    return ProcessResult::Requeue;
                }
                return ProcessResult::NoRequeue;
            }
        };
        let now = Timestamp::now();
        if let Some(object) = &object {
            self.observe_limit(key, object, now);
        }
        if !self.ctx.is_leader() {
            self.mirror(key, object.as_ref(), now).await;
            return ProcessResult::NoRequeue;
        }
        let entry = match (self.store.get(key), &object) {
            (Some(entry), _) => entry,
            (None, Some(object)) => self.store.get_or_insert_with(key, || restore::from_object(object, now)),
            (None, None) => return ProcessResult::NoRequeue,
        };
        let mut dpa = entry.lock().await;
        let before = dpa.clone();
        let next = self.sync(&mut dpa, object.as_ref(), now).await;
        let changed = *dpa != before;
        drop(dpa);
        match next {
            Next::Keep(result) => {
                if changed {
                    self.store.notify(key, SENDER);
                }
                result
            }
            Next::Remove => {
                self.forget(key);
                ProcessResult::NoRequeue
            }
        }
    }

    /// Followers keep the store as Kubernetes has it.
    async fn mirror(&self, key: &DpaKey, object: Option<&DatadogPodAutoscaler>, now: Timestamp) {
        if let Some(dpas) = &self.dpas {
            dpas.clear_pending_vertical(&key.namespace, &key.name);
        }
        let Some(object) = object else { return self.forget(key) };
        let fresh = restore::from_object(object, now);
        let entry = self.store.get_or_insert_with(key, || fresh.clone());
        let mut dpa = entry.lock().await;
        if *dpa != fresh {
            *dpa = fresh;
            drop(dpa);
            self.store.notify(key, SENDER);
        }
    }

    /// Drops `key` from the store and the admitted set.
    fn forget(&self, key: &DpaKey) {
        if self.store.remove(key).is_some() {
            self.store.notify(key, SENDER);
        }
        for other in self.limit.remove(key) {
            self.queue.add(other);
        }
    }

    fn observe_limit(&self, key: &DpaKey, object: &DatadogPodAutoscaler, now: Timestamp) {
        let created = object.metadata.creation_timestamp.as_ref().map(|t| t.0).unwrap_or(now);
        for other in self.limit.observe(key, created).into_iter().filter(|k| k != key) {
            self.queue.add(other);
        }
    }

    async fn sync(
        &self,
        dpa: &mut PodAutoscalerInternal,
        object: Option<&DatadogPodAutoscaler>,
        now: Timestamp,
    ) -> Next {
        let Some(object) = object else {
            if dpa.deleted || dpa.spec.owner != Owner::Remote {
                return Next::Remove;
            }
            return Next::Keep(self.outcome(writes::create(&self.ctx, dpa, now).await, ProcessResult::Requeue));
        };
        if object.spec.owner == Owner::Remote {
            if dpa.deleted {
                return match writes::delete(&self.ctx, dpa, object).await {
                    Ok(Deleted::Gone) => Next::Remove,
                    Ok(Deleted::Requested) => Next::Keep(ProcessResult::Requeue),
                    Ok(Deleted::NotLeader) => Next::Keep(ProcessResult::NoRequeue),
                    Err(e) => Next::Keep(self.outcome::<()>(Err(e), ProcessResult::Requeue)),
                };
            }
            if let Some(result) = self.push_remote_spec(dpa, object).await {
                return Next::Keep(result);
            }
        }
        let generation = object.metadata.generation.unwrap_or(0);
        if dpa.spec.owner == Owner::Local && dpa.generation != generation {
            restore::adopt_object(dpa, object);
        }
        Next::Keep(self.process(dpa, object, now).await)
    }

    /// Remote DPAs: a newer `remoteVersion`, or a spec edited in Kubernetes, is overwritten with
    /// the internal spec; an unchanged spec on a new generation is adopted.
    async fn push_remote_spec(
        &self,
        dpa: &mut PodAutoscalerInternal,
        object: &DatadogPodAutoscaler,
    ) -> Option<ProcessResult> {
        let newer = matches!((dpa.spec.remote_version, object.spec.remote_version), (Some(i), Some(k)) if i > k);
        let generation = object.metadata.generation.unwrap_or(0);
        if newer || (dpa.generation != generation && stable_hash(&dpa.spec) != stable_hash(&object.spec)) {
            return Some(self.outcome(writes::update_spec(&self.ctx, dpa, object).await, ProcessResult::Requeue));
        }
        if dpa.generation != generation {
            dpa.generation = generation;
            if let Some(created) = &object.metadata.creation_timestamp {
                dpa.creation_timestamp = created.0;
            }
        }
        None
    }

    /// Validation, sources, steps, replicas and status of a DPA present on both sides.
    async fn process(
        &self,
        dpa: &mut PodAutoscalerInternal,
        object: &DatadogPodAutoscaler,
        now: Timestamp,
    ) -> ProcessResult {
        dpa.error = None;
        restore::read_annotations(dpa, object);
        if let Err(e) = self.validate(dpa) {
            dpa.error = Some(e);
            return self.write_status(dpa, object, now, ProcessResult::NoRequeue).await;
        }
        let choice = sources::choose(now, dpa);
        sources::apply(dpa, now, choice);
        if let Some(dpas) = &self.dpas {
            dpas.set_pending_vertical(&dpa.namespace, &dpa.name, status::pending_vertical_target(dpa));
        }
        let horizontal = self.horizontal.sync(&self.ctx, dpa, now).await;
        let vertical = self.vertical.sync(&self.ctx, dpa, now).await;
        self.count_replicas(dpa);
        self.write_status(dpa, object, now, horizontal.merge(vertical)).await
    }

    fn validate(&self, dpa: &mut PodAutoscalerInternal) -> Result<(), ConditionError> {
        if !self.limit.admits(&dpa.key()) {
            return Err(validate::limit_error(self.limit.limit()));
        }
        validate::check_self_target(dpa, &self.ctx.settings)?;
        validate::validate_spec(&dpa.spec)?;
        dpa.target_gvk = Some(validate::target_gvk(&dpa.spec)?);
        Ok(())
    }

    /// `currentReplicas` = the target's pods in the index, once its watch has listed.
    fn count_replicas(&self, dpa: &mut PodAutoscalerInternal) {
        let target = TargetKey::of(&dpa.namespace, &dpa.spec.target_ref);
        if self.ctx.pods.synced(&target) {
            dpa.current_replicas = Some(i32::try_from(self.ctx.pods.count(&target)).unwrap_or(i32::MAX));
        }
    }

    async fn write_status(
        &self,
        dpa: &mut PodAutoscalerInternal,
        object: &DatadogPodAutoscaler,
        now: Timestamp,
        result: ProcessResult,
    ) -> ProcessResult {
        let written = writes::write_status(&self.ctx, dpa, object, now).await;
        result.merge(self.outcome(written, ProcessResult::NoRequeue))
    }

    /// `on_success`, or a logged error and `Requeue`.
    fn outcome<T>(&self, written: Result<T, writes::WriteError>, on_success: ProcessResult) -> ProcessResult {
        match written {
            Ok(_) => on_success,
            Err(e) => {
                tracing::warn!(error = %e, "DatadogPodAutoscaler write failed; retrying");
                ProcessResult::Requeue
            }
        }
    }
}
