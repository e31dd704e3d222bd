//! The non-storing half of create/update/patch for mutating admission: the candidate object computed
//! from the request and the stored object ("prepare"), then validated and stored over the
//! resourceVersion it was computed from ("commit").

use serde_json::Value;

use super::super::super::Cluster;
use super::super::super::apply;
use super::super::super::defaults;
use super::super::super::meta;
use super::super::super::registry::ResourceType;
use super::super::super::status::{ApiError, ApiResult};
use super::super::super::store::Stored;
use super::super::{Outcome, key, target};
use super::{
    PatchKind, Precondition, WriteOptions, allow_create_on_update, applied_new, apply_patch, check_name_matches,
    check_type_meta, parse_rv, patch_document, pinned_rv,
};
use crate::devcluster::lists::ListKindsFor;

/// A write computed from the stored object but not stored: what mutating admission sees and may
/// change before [`Cluster::op_commit`].
#[derive(Debug)]
pub struct Prepared {
    pub object: Value,
    /// The stored object it was computed from (in the request's version); `None` for a create.
    pub old: Option<Value>,
    rv: u64,
    /// The client named a resourceVersion: a conflict is reported, not retried.
    pub pinned: bool,
    track_update: bool,
}

impl Cluster {
    /// The object a CREATE stores, decoded and defaulted with its managedFields, not yet validated nor
    /// stored: what mutating admission sees (then [`Cluster::op_commit`]).
    pub fn op_prepare_create(
        &self,
        rt: &ResourceType,
        ns: &str,
        obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Prepared> {
        self.prepare_new(rt, ns, obj, opts, true)
    }

    fn prepare_new(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
        record: bool,
    ) -> ApiResult<Prepared> {
        check_type_meta(rt, &obj)?;
        self.check_namespace_meta(rt, ns, &mut obj)?;
        let mut obj = self.decode_default(rt, obj, opts, &mut Vec::new())?;
        if rt.group.is_empty() && rt.plural == "pods" {
            defaults::admit_new_pod(&mut obj);
        }
        if record {
            let lists = ListKindsFor::new(rt);
            apply::record_update(None, &mut obj, &opts.field_manager, &rt.api_version(), &meta::now_rfc3339(), &lists);
        }
        Ok(Prepared { object: obj, old: None, rv: 0, pinned: false, track_update: false })
    }

    /// The candidate object of a PUT, computed against the stored one (see [`Cluster::op_prepare_create`]).
    pub fn op_prepare_update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Prepared> {
        check_type_meta(rt, &obj)?;
        self.check_namespace_meta(rt, ns, &mut obj)?;
        check_name_matches(&obj, name)?;
        let pinned = pinned_rv(&obj, rt, name)?;
        let Some(stored) = self.store.get(&rt.table, &key(rt, ns, name)) else {
            if !allow_create_on_update(rt) {
                return Err(ApiError::not_found(target(rt, name)));
            }
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            return self.op_prepare_create(rt, ns, obj, opts);
        };
        self.prepare_existing(rt, name, &stored, pinned, true, obj, opts)
    }

    /// The candidate object of a PATCH (an apply that creates is a CREATE).
    pub fn op_prepare_patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        opts: &WriteOptions,
    ) -> ApiResult<Prepared> {
        let doc = patch_document(rt, kind, body)?;
        let stored = self.store.get(&rt.table, &key(rt, ns, name));
        let Some(stored) = stored else {
            if kind != PatchKind::Apply {
                return Err(ApiError::not_found(target(rt, name)));
            }
            let obj = applied_new(rt, name, &doc, opts)?;
            return self.prepare_new(rt, ns, obj, opts, false);
        };
        let pinned = match doc["metadata"]["resourceVersion"].as_str() {
            Some(rv) if kind != PatchKind::Json => Some(parse_rv(rv, rt, name)?),
            _ => None,
        };
        let current = self.from_storage(rt, stored.value())?;
        let next = apply_patch(rt, kind, &current, &doc, opts)?;
        self.prepare_existing(rt, name, &stored, pinned, kind != PatchKind::Apply, next, opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare_existing(
        &self,
        rt: &ResourceType,
        name: &str,
        stored: &Stored,
        pinned: Option<u64>,
        track_update: bool,
        next: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Prepared> {
        if pinned.is_some_and(|rv| rv != stored.rv) {
            return Err(ApiError::stale(target(rt, name)));
        }
        let current = self.from_storage(rt, stored.value())?;
        let mut next = next;
        check_type_meta(rt, &next)?;
        check_name_matches(&next, name)?;
        next["metadata"]["namespace"] = current["metadata"]["namespace"].clone();
        if next["metadata"]["namespace"].is_null()
            && let Some(m) = next["metadata"].as_object_mut()
        {
            m.remove("namespace");
        }
        let object = self.decode_default(rt, next, opts, &mut Vec::new())?;
        Ok(Prepared { object, old: Some(current), rv: stored.rv, pinned: pinned.is_some(), track_update })
    }

    /// Validates and stores a prepared write (its object possibly changed by admission). An update
    /// stores only over the resourceVersion it was prepared from: otherwise 409, and the caller
    /// prepares again unless [`Prepared::pinned`].
    pub fn op_commit(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        p: Prepared,
        opts: &WriteOptions,
    ) -> ApiResult<Outcome> {
        if p.old.is_none() {
            return self.create_tracked(rt, ns, p.object, opts, false);
        }
        let obj = p.object;
        let pre = Precondition::ResourceVersion(p.rv);
        self.write_existing(rt, ns, name, opts, pre, p.track_update, &mut |_| Ok(obj.clone()))
    }
}
