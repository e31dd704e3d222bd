//! Server-side apply and `metadata.managedFields`, after
//! sigs.k8s.io/structured-merge-diff and kube-apiserver's fieldmanager.
//!
//! There is no OpenAPI schema here: maps are merged recursively, and how a
//! list merges comes from the caller's [`ListKinds`]. Field ownership is
//! recorded in the real FieldsV1 encoding, so clients that read
//! managedFields (kubectl, controller-runtime, client-go's extract) work.

mod fieldset;
mod managers;
mod merge;
mod walk;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use fieldset::{FieldSet, PathElement};
use managers::{ManagerId, Managers, Operation};
use walk::{Comparison, Cursor};

/// How a list at a given path merges (from x-kubernetes-list-type/-map-keys
/// for CRDs, or strategic-merge tags for built-ins; the caller supplies it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole; owned as one field.
    Atomic,
    /// Elements are scalars, merged as a union; each element owned (`v:`).
    Set,
    /// Elements are maps identified by these key fields (`k:`), merged
    /// field by field.
    Map(Vec<String>),
}

/// Schema knowledge about lists.
pub trait ListKinds {
    /// `path` = field names from the root, list indices omitted, e.g.
    /// `["spec", "template", "spec", "containers"]`.
    fn list_kind(&self, path: &[&str]) -> ListKind;

    /// The default of a map-list key field an element omits, as the OpenAPI
    /// schema supplies it (e.g. `"TCP"` for `protocol` in container ports).
    /// Without one such an element is invalid.
    fn key_default(&self, _path: &[&str], _field: &str) -> Option<Value> {
        None
    }
}

/// One server-side apply request.
pub struct ApplyRequest<'a> {
    /// `fieldManager` query parameter.
    pub manager: &'a str,
    /// `force` query parameter.
    pub force: bool,
    /// The resource's `group/version` (`v1` for the core group).
    pub api_version: &'a str,
    /// RFC3339 timestamp recorded in the managedFields entry.
    pub now: &'a str,
}

/// One field another manager owns and the apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager's name.
    pub manager: String,
    /// The field, e.g. `.spec.replicas` or `.spec.containers[name="app"].image`.
    pub field: String,
    /// The StatusCause message, e.g. `conflict with "kubectl" using apps/v1`
    /// (cause type `FieldManagerConflict`).
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// 409 Conflict, one StatusCause per conflicting field.
    #[error("{}", managers::conflict_message(.conflicts))]
    Conflict { conflicts: Vec<Conflict> },
    /// The configuration does not fit the list schema (missing map-list key,
    /// duplicate key, map in a set). kube-apiserver reports this as a 500
    /// with this message; 422 is a reasonable choice too.
    #[error("{0}")]
    Invalid(String),
    /// 400 Bad Request: not an object, wrong apiVersion, managedFields set.
    #[error("{0}")]
    BadRequest(String),
}

/// Metadata fields nobody owns (kube's stripMetaManager set, plus
/// deletionTimestamp).
const UNOWNED_METADATA: [&str; 9] = [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
];

/// Which part of the object a write may own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The main resource: everything but `status`.
    Main,
    /// The status subresource: only `status`.
    Status,
}

/// PATCH with application/apply-patch+yaml (body already parsed to JSON by
/// the caller). `live` is None when the object does not exist (apply creates
/// it). Returns the new object including an updated `metadata.managedFields`.
///
/// The returned object keeps the live identity fields (name, uid,
/// resourceVersion, ...) and live `status`; on create they come from the
/// configuration (status dropped), for the caller to complete. Checking
/// `metadata.resourceVersion` preconditions is left to the caller.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    lists: &dyn ListKinds,
    req: &ApplyRequest,
) -> Result<Value, ApplyError> {
    let config = validate_applied(applied, req)?;
    let empty = Map::new();
    let live_map = match live {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(ApplyError::Invalid("stored object is not a map".into())),
        None => &empty,
    };
    let mut managers = live.map(Managers::decode).unwrap_or_default();
    let live_view = ownership_view(live_map, Scope::Main);
    if live.is_some() && managers.is_empty() {
        adopt_untracked(&mut managers, &live_view, req, lists);
    }
    let config_view = ownership_view(config, Scope::Main);
    let mut config_set = walk::field_set(&config_view, lists)
        .map_err(|e| ApplyError::Invalid(format!("failed to create typed patch object ({}): {e}", gvk(config))))?;
    strip_unowned(&mut config_set);

    let merged = merge::merge(&live_view, &config_view, &mut Cursor::new(lists));
    let id = ManagerId {
        manager: req.manager.to_string(),
        operation: Operation::Apply,
        api_version: req.api_version.to_string(),
        subresource: None,
    };
    let last = managers.replace(id.clone(), req.now, config_set).unwrap_or_default();
    let pruned = prune(merged, &last, &managers, lists);
    let cmp = comparison(&live_view, &pruned, lists);
    managers.transfer(&cmp, &id, req.force).map_err(|conflicts| ApplyError::Conflict { conflicts })?;

    let mut out = match live {
        Some(_) => reattach(pruned, live_map, live_map.get("status")),
        None => reattach(pruned, config, None),
    };
    managers.encode_into(&mut out);
    Ok(Value::Object(out))
}

/// After a non-apply write (create/update/patch), record field ownership for
/// `manager` with operation "Update": fields whose value changed (or were
/// created) become owned by it and are removed from other managers' sets.
/// `old` is None for a create. managedFields sent in `new` replace the
/// stored ones (`[]` or `[{}]` clears them), as in kube-apiserver.
///
/// A create compares against an empty object, so maps it creates are marked
/// with `"."` (e.g. `"f:spec":{".":{},...}`), as for custom resources; for
/// built-in kinds kube compares against the typed zero value, so top-level
/// structs such as `spec` carry no `"."` there.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
    lists: &dyn ListKinds,
) {
    record_update_subresource(old, new, manager, api_version, now, lists, None);
}

/// [`record_update`] for a write through a subresource (`status`, `scale`);
/// the entry carries `subresource`. A `status` write owns only `status`;
/// other subresources own what they change outside `status`.
pub fn record_update_subresource(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
    lists: &dyn ListKinds,
    subresource: Option<&str>,
) {
    let empty = Value::Object(Map::new());
    let old = old.unwrap_or(&empty);
    let (Some(old_map), Value::Object(new_map)) = (old.as_object(), &mut *new) else {
        return;
    };
    // Subresource writes cannot set managedFields (kube ignores them).
    let mut managers = match subresource {
        Some(_) => Managers::decode(old),
        None => Managers::decode_live_or_new(old, &Value::Object(new_map.clone())),
    };
    if managers.is_empty() && has_uid(old_map) {
        // kube's skipNonAppliedManager: an existing object nobody tracks
        // stays untracked until the first apply.
        if let Some(Value::Object(meta)) = new_map.get_mut("metadata") {
            meta.shift_remove("managedFields");
        }
        return;
    }
    let scope = if subresource == Some("status") { Scope::Status } else { Scope::Main };
    let cmp = comparison(&ownership_view(old_map, scope), &ownership_view(new_map, scope), lists);
    let id = ManagerId {
        manager: manager.to_string(),
        operation: Operation::Update,
        api_version: api_version.to_string(),
        subresource: subresource.filter(|s| !s.is_empty()).map(str::to_string),
    };
    managers.record_update(&cmp, id, now);
    managers.cap_updates(managers::MAX_UPDATE_MANAGERS);
    managers.encode_into(new_map);
}

fn has_uid(obj: &Map<String, Value>) -> bool {
    let uid = obj.get("metadata").and_then(|m| m.get("uid")).and_then(Value::as_str);
    uid.is_some_and(|u| !u.is_empty())
}

/// kube's skipNonAppliedManager: the first apply to an object without
/// managedFields first records its existing fields for `before-first-apply`.
fn adopt_untracked(managers: &mut Managers, live_view: &Map<String, Value>, req: &ApplyRequest, lists: &dyn ListKinds) {
    let cmp = comparison(&Map::new(), live_view, lists);
    let id = ManagerId {
        manager: BEFORE_FIRST_APPLY.to_string(),
        operation: Operation::Update,
        api_version: req.api_version.to_string(),
        subresource: None,
    };
    managers.record_update(&cmp, id, req.now);
}

const BEFORE_FIRST_APPLY: &str = "before-first-apply";

fn validate_applied<'v>(applied: &'v Value, req: &ApplyRequest) -> Result<&'v Map<String, Value>, ApplyError> {
    let Value::Object(config) = applied else {
        return Err(ApplyError::BadRequest("error decoding YAML: the apply configuration must be an object".into()));
    };
    let version = config.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if version != req.api_version {
        return Err(ApplyError::BadRequest(format!(
            "Incorrect version specified in apply patch. Specified patch version: {version}, expected: {}",
            req.api_version
        )));
    }
    let managed = config.get("metadata").and_then(|m| m.get("managedFields"));
    if managed.is_some_and(|m| !m.is_null()) {
        return Err(ApplyError::BadRequest("metadata.managedFields must be nil".into()));
    }
    Ok(config)
}

/// `apps/v1, Kind=Deployment` (`/v1, Kind=Pod` for the core group).
fn gvk(config: &Map<String, Value>) -> String {
    let version = config.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or_default();
    let prefix = if version.contains('/') { "" } else { "/" };
    format!("{prefix}{version}, Kind={kind}")
}

/// The part of an object whose fields can be owned in `scope`.
fn ownership_view(obj: &Map<String, Value>, scope: Scope) -> Map<String, Value> {
    if scope == Scope::Status {
        return obj.iter().filter(|(k, _)| *k == "status").map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    let mut view = Map::new();
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("apiVersion" | "kind" | "status", _) => {}
            ("metadata", Value::Object(meta)) => {
                let owned = meta.iter().filter(|(k, _)| !UNOWNED_METADATA.contains(&k.as_str()));
                view.insert(key.clone(), Value::Object(owned.map(|(k, v)| (k.clone(), v.clone())).collect()));
            }
            _ => {
                view.insert(key.clone(), value.clone());
            }
        }
    }
    view
}

/// `metadata` itself is never owned, only fields inside it.
fn strip_unowned(set: &mut FieldSet) {
    set.remove_member(&PathElement::Field("metadata".into()));
}

fn comparison(old: &Map<String, Value>, new: &Map<String, Value>, lists: &dyn ListKinds) -> Comparison {
    let mut cmp = walk::compare(&Value::Object(old.clone()), &Value::Object(new.clone()), lists);
    for set in [&mut cmp.added, &mut cmp.modified, &mut cmp.removed] {
        strip_unowned(set);
    }
    cmp
}

/// Removes what the manager applied last time and no longer applies, unless
/// some manager (this one's new configuration included) still owns it or
/// anything beneath it.
fn prune(
    mut merged: Map<String, Value>,
    last: &FieldSet,
    managers: &Managers,
    lists: &dyn ListKinds,
) -> Map<String, Value> {
    let removable = unowned(last, &managers.owned());
    if !removable.is_empty() {
        merge::remove_items(&mut merged, &removable, &mut Cursor::new(lists));
    }
    merged
}

/// Paths of `last` that `owned` neither contains nor reaches beneath.
fn unowned(last: &FieldSet, owned: &FieldSet) -> FieldSet {
    let mut out = FieldSet::default();
    for path in last.paths() {
        if !reaches(owned, &path) {
            out.insert(&path);
        }
    }
    out
}

/// Whether `owned` has `path` itself or any path below it.
fn reaches(owned: &FieldSet, path: &[PathElement]) -> bool {
    match path {
        [] => !owned.is_empty(),
        [last] => owned.touches(last),
        [first, rest @ ..] => owned.child(first).is_some_and(|c| reaches(c, rest)),
    }
}

/// Rebuilds a full object from the owned view: apiVersion, kind and the
/// unowned metadata from `identity`, then the view, then `status`.
fn reattach(view: Map<String, Value>, identity: &Map<String, Value>, status: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = identity.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut meta: Map<String, Value> = identity
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| UNOWNED_METADATA.contains(&k.as_str()) && *k != "managedFields")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut view = view;
    if let Some(Value::Object(owned_meta)) = view.shift_remove("metadata") {
        meta.extend(owned_meta);
    }
    out.insert("metadata".into(), Value::Object(meta));
    out.extend(view);
    if let Some(status) = status {
        out.insert("status".into(), status.clone());
    }
    out
}
