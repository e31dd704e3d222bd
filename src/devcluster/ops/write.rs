//! create, update (PUT) and patch, sharing one admission path: decode → normalise (built-in types) or
//! prune/default/validate (custom resources) → server-owned metadata → compare-and-swap in the store.

use serde_json::{Value, json};

use super::super::Cluster;
use super::super::admission;
use super::super::apply::{self, ApplyRequest};
use super::super::builtin;
use super::super::defaults;
use super::super::meta;
use super::super::patch;
use super::super::registry::ResourceType;
use super::super::status::{ApiError, ApiResult};
use super::super::store::StoreError;
use super::{Outcome, key, store_error, target};
use crate::devcluster::lists::ListKindsFor;

mod prepare;

pub use prepare::Prepared;

/// kube-apiserver's default (no `fieldValidation` parameter) is Warn; kubectl asks for Strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> ApiResult<Self> {
        match s {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}; supported values are Ignore, Warn and Strict"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub field_validation: FieldValidation,
    /// `Some("status")` for /status writes.
    pub subresource: Option<String>,
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(PatchKind::Apply),
            _ => None,
        }
    }
}

/// How a write may move an existing object.
enum Precondition {
    None,
    ResourceVersion(u64),
}

impl Cluster {
    pub fn op_create(&self, rt: &ResourceType, ns: &str, obj: Value, opts: &WriteOptions) -> ApiResult<Outcome> {
        self.create_tracked(rt, ns, obj, opts, true)
    }

    /// `track_update`: record an Update managedFields entry (not for server-side apply, which
    /// already recorded its Apply entry).
    fn create_tracked(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
        track_update: bool,
    ) -> ApiResult<Outcome> {
        check_type_meta(rt, &obj)?;
        self.check_namespace_meta(rt, ns, &mut obj)?;
        let name = resolve_name(&mut obj);
        let mut warnings = Vec::new();
        let mut obj = self.admit(rt, &name, obj, opts, &mut warnings)?;
        meta::stamp_new(&mut obj, rt);
        if rt.group.is_empty() && rt.plural == "pods" {
            defaults::admit_new_pod(&mut obj);
        }
        if rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions" {
            meta::add_finalizer(&mut obj, super::CRD_CLEANUP);
        }
        meta::initial_status(rt, &mut obj);
        self.namespace_accepts_content(rt, ns)?;
        if track_update {
            apply::record_update(
                None,
                &mut obj,
                &opts.field_manager,
                &rt.api_version(),
                &meta::now_rfc3339(),
                &ListKindsFor::new(rt),
            );
        }
        if opts.dry_run {
            return Ok(Outcome { object: obj, created: true, warnings });
        }
        let stored_obj = self.to_storage(rt, obj)?;
        let fields = self.field_values(rt, &stored_obj);
        let stored = self
            .store
            .create(&rt.table, key(rt, ns, &name), stored_obj, fields)
            .map_err(|e| store_error(rt, &name, e))?;
        Ok(Outcome { object: self.from_storage(rt, stored.value())?, created: true, warnings })
    }

    pub fn op_update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Outcome> {
        check_type_meta(rt, &obj)?;
        self.check_namespace_meta(rt, ns, &mut obj)?;
        check_name_matches(&obj, name)?;
        let pre = match pinned_rv(&obj, rt, name)? {
            Some(rv) => Precondition::ResourceVersion(rv),
            None => Precondition::None,
        };
        let exists = self.store.get(&rt.table, &key(rt, ns, name)).is_some();
        if !exists && allow_create_on_update(rt) {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            return self.op_create(rt, ns, obj, opts);
        }
        self.write_existing(rt, ns, name, opts, pre, true, &mut |_current| Ok(obj.clone()))
    }

    pub fn op_patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        opts: &WriteOptions,
    ) -> ApiResult<Outcome> {
        let patch_doc = patch_document(rt, kind, body)?;
        let exists = self.store.get(&rt.table, &key(rt, ns, name)).is_some();
        if kind == PatchKind::Apply && !exists {
            return self.apply_create(rt, ns, name, &patch_doc, opts);
        }
        let pre = match patch_doc["metadata"]["resourceVersion"].as_str() {
            Some(rv) if kind != PatchKind::Json => Precondition::ResourceVersion(parse_rv(rv, rt, name)?),
            _ => Precondition::None,
        };
        let track_update = kind != PatchKind::Apply;
        self.write_existing(rt, ns, name, opts, pre, track_update, &mut |current| {
            apply_patch(rt, kind, current, &patch_doc, opts)
        })
    }

    fn apply_create(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        doc: &Value,
        opts: &WriteOptions,
    ) -> ApiResult<Outcome> {
        let obj = applied_new(rt, name, doc, opts)?;
        self.create_tracked(rt, ns, obj, opts, false)
    }

    /// The read-modify-write loop (GuaranteedUpdate): retried on a concurrent change unless the caller
    /// pinned a resourceVersion.
    #[allow(clippy::too_many_arguments)]
    fn write_existing(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &WriteOptions,
        pre: Precondition,
        track_update: bool,
        change: &mut dyn FnMut(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Outcome> {
        for _ in 0..16 {
            let stored =
                self.store.get(&rt.table, &key(rt, ns, name)).ok_or_else(|| ApiError::not_found(target(rt, name)))?;
            if let Precondition::ResourceVersion(rv) = pre
                && rv != stored.rv
            {
                return Err(ApiError::stale(target(rt, name)));
            }
            let current = self.from_storage(rt, stored.value())?;
            let mut next = change(&current)?;
            check_type_meta(rt, &next)?;
            check_name_matches(&next, name)?;
            let mut warnings = Vec::new();
            next["metadata"]["namespace"] = current["metadata"]["namespace"].clone();
            if next["metadata"]["namespace"].is_null()
                && let Some(m) = next["metadata"].as_object_mut()
            {
                m.remove("namespace");
            }
            let mut next = self.admit(rt, name, next, opts, &mut warnings)?;
            self.split_status(rt, &current, &mut next, opts);
            // Status writes never bump generation (kube's status strategies keep spec).
            meta::carry_over(&current, &mut next, rt, opts.subresource.as_deref() != Some("status"));
            let lists = ListKindsFor::new(rt);
            if track_update {
                apply::record_update_subresource(
                    Some(&current),
                    &mut next,
                    &opts.field_manager,
                    &rt.api_version(),
                    &meta::now_rfc3339(),
                    &lists,
                    opts.subresource.as_deref(),
                );
            }
            next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            if next == current || opts.dry_run {
                return Ok(Outcome { object: next, created: false, warnings });
            }
            let finished = next["metadata"]["deletionTimestamp"].is_string()
                && next["metadata"]["finalizers"].as_array().is_none_or(|f| f.is_empty());
            if finished {
                let gone = self.store.delete(&rt.table, &key(rt, ns, name), Some(stored.rv));
                match gone {
                    Ok(g) => {
                        return Ok(Outcome { object: self.from_storage(rt, g.value())?, created: false, warnings });
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(store_error(rt, name, e)),
                }
            }
            let stored_obj = self.to_storage(rt, next)?;
            let fields = self.field_values(rt, &stored_obj);
            match self.store.update(&rt.table, key(rt, ns, name), Some(stored.rv), stored_obj, fields) {
                Ok(s) => return Ok(Outcome { object: self.from_storage(rt, s.value())?, created: false, warnings }),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(rt, name, e)),
            }
        }
        Err(ApiError::conflict(target(rt, name), "too many concurrent writes; try again"))
    }

    fn split_status(&self, rt: &ResourceType, current: &Value, next: &mut Value, opts: &WriteOptions) {
        match opts.subresource.as_deref() {
            Some("status") => {
                let mut merged = meta::only_status(current, next);
                // Metadata of a /status write is ignored apart from what carry_over keeps, except the
                // annotations of apps workloads: their status strategies reset only spec (the deployment
                // controller records `deployment.kubernetes.io/revision` through /status).
                if rt.group == "apps" && matches!(rt.plural.as_str(), "deployments" | "replicasets" | "statefulsets") {
                    merged["metadata"]["annotations"] = next["metadata"]["annotations"].clone();
                    if merged["metadata"]["annotations"].is_null()
                        && let Some(m) = merged["metadata"].as_object_mut()
                    {
                        m.remove("annotations");
                    }
                }
                *next = merged;
            }
            _ if rt.has_subresource("status") => meta::keep_status(current, next),
            _ => {}
        }
    }

    /// Decoding and validation of one object in `rt`'s version.
    fn admit(
        &self,
        rt: &ResourceType,
        name: &str,
        obj: Value,
        opts: &WriteOptions,
        warnings: &mut Vec<String>,
    ) -> ApiResult<Value> {
        let causes = meta::name_causes(rt, name);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.kind, &rt.group, name, causes));
        }
        let obj = self.decode_default(rt, obj, opts, warnings)?;
        let causes = match &rt.custom {
            Some(custom) => custom
                .schema
                .as_ref()
                .map(|s| s.validate(&obj))
                .unwrap_or_default()
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
            None => {
                let mut causes = builtin::validate(&rt.group, &rt.kind, &obj);
                causes.extend(admission::configuration_causes(rt, &obj));
                causes
            }
        };
        if causes.is_empty() { Ok(obj) } else { Err(ApiError::invalid(&rt.kind, &rt.group, name, causes)) }
    }

    /// Decoding and defaulting (no validation): the object as mutating admission sees it.
    fn decode_default(
        &self,
        rt: &ResourceType,
        obj: Value,
        opts: &WriteOptions,
        warnings: &mut Vec<String>,
    ) -> ApiResult<Value> {
        match &rt.custom {
            Some(custom) => {
                let mut obj = obj;
                let Some(schema) = &custom.schema else { return Ok(obj) };
                let pruned = schema.prune(&mut obj);
                unknown_fields(opts.field_validation, &pruned, warnings)?;
                schema.apply_defaults(&mut obj);
                Ok(obj)
            }
            None => {
                let input = obj.clone();
                let mut out = builtin::normalize(&rt.group, &rt.version, &rt.kind, obj)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                let mut dropped = Vec::new();
                find_dropped(&input, &out, "", &mut dropped);
                unknown_fields(opts.field_validation, &dropped, warnings)?;
                defaults::apply(&rt.group, &rt.version, &rt.kind, &mut out);
                admission::configuration_defaults(rt, &mut out);
                Ok(out)
            }
        }
    }

    fn check_namespace_meta(&self, rt: &ResourceType, ns: &str, obj: &mut Value) -> ApiResult<()> {
        if !rt.namespaced {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            return Ok(());
        }
        match obj["metadata"]["namespace"].as_str() {
            Some(n) if !n.is_empty() && n != ns => Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            _ => {
                obj["metadata"]["namespace"] = json!(ns);
                Ok(())
            }
        }
    }

    /// Creating in a missing or terminating namespace fails like the NamespaceLifecycle admission plugin.
    fn namespace_accepts_content(&self, rt: &ResourceType, ns: &str) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        let nst = self
            .registry
            .lookup("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("namespaces not registered"))?;
        let Some(stored) = self.store.get(&nst.table, &key(&nst, "", ns)) else {
            return Err(ApiError::not_found(target(&nst, ns)));
        };
        if stored.deleting {
            return Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                super::target(rt, "").qualified(),
                "",
            ))
            .with_details(json!({"causes":[{"reason":"NamespaceTerminating","message":format!("namespace {ns} is being terminated"),"field":"metadata.namespace"}]})));
        }
        Ok(())
    }
}

fn apply_patch(
    rt: &ResourceType,
    kind: PatchKind,
    current: &Value,
    doc: &Value,
    opts: &WriteOptions,
) -> ApiResult<Value> {
    match kind {
        PatchKind::Merge => {
            let mut next = current.clone();
            patch::merge_patch(&mut next, doc);
            Ok(next)
        }
        PatchKind::Json => {
            let mut next = current.clone();
            patch::json_patch(&mut next, doc).map_err(patch_error)?;
            Ok(next)
        }
        PatchKind::Strategic => patch::strategic_merge_patch(&rt.kind, current, doc).map_err(patch_error),
        PatchKind::Apply => {
            let name = current["metadata"]["name"].as_str().unwrap_or_default();
            let req = ApplyRequest {
                manager: &opts.field_manager,
                force: opts.force,
                api_version: &rt.api_version(),
                now: &meta::now_rfc3339(),
            };
            apply::apply(Some(current), doc, &ListKindsFor::new(rt), &req).map_err(|e| apply_error(rt, name, e))
        }
    }
}

/// kube-apiserver's codes for patch failures: 422 carries the text in a cause.
/// The document of a PATCH body; strategic merge is refused for custom resources, as kube-apiserver does.
fn patch_document(rt: &ResourceType, kind: PatchKind, body: &[u8]) -> ApiResult<Value> {
    if kind == PatchKind::Strategic && rt.custom.is_some() {
        return Err(ApiError::unsupported_media_type(
            "application/strategic-merge-patch+json is not supported for custom resources",
        ));
    }
    parse_patch_body(kind, body)
}

/// The object a server-side apply creates when `name` does not exist yet.
fn applied_new(rt: &ResourceType, name: &str, doc: &Value, opts: &WriteOptions) -> ApiResult<Value> {
    check_name_matches(doc, name)?;
    let req = ApplyRequest {
        manager: &opts.field_manager,
        force: opts.force,
        api_version: &rt.api_version(),
        now: &meta::now_rfc3339(),
    };
    apply::apply(None, doc, &ListKindsFor::new(rt), &req).map_err(|e| apply_error(rt, name, e))
}

pub fn patch_error(e: patch::PatchError) -> ApiError {
    match e.status_code() {
        422 => ApiError::new(422, "Invalid", patch::PatchError::UNPROCESSABLE_MESSAGE)
            .with_details(json!({"causes": [{"reason": "FieldValueInvalid", "message": e.to_string()}]})),
        500 => ApiError::internal(e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    }
}

fn apply_error(rt: &ResourceType, name: &str, e: apply::ApplyError) -> ApiError {
    match &e {
        apply::ApplyError::Conflict { conflicts } => {
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| json!({"reason":"FieldManagerConflict","message":c.message,"field":c.field}))
                .collect();
            ApiError::new(409, "Conflict", e.to_string())
                .with_details(json!({"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}))
        }
        apply::ApplyError::BadRequest(m) => ApiError::bad_request(m.clone()),
        apply::ApplyError::Invalid(m) => ApiError::internal(m.clone()),
    }
}

fn parse_patch_body(kind: PatchKind, body: &[u8]) -> ApiResult<Value> {
    let parsed: Result<Value, String> = if kind == PatchKind::Apply {
        serde_saphyr::from_slice(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    let doc = parsed.map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match (kind, &doc) {
        (PatchKind::Json, Value::Array(_)) => Ok(doc),
        (PatchKind::Json, _) => {
            Err(ApiError::bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch"))
        }
        (_, Value::Object(_)) => Ok(doc),
        _ => Err(ApiError::bad_request("the body of a patch must be a JSON object")),
    }
}

fn unknown_fields(mode: FieldValidation, fields: &[String], warnings: &mut Vec<String>) -> ApiResult<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> =
        fields.iter().map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.'))).collect();
    match mode {
        FieldValidation::Ignore => Ok(()),
        FieldValidation::Warn => {
            warnings.extend(texts);
            Ok(())
        }
        FieldValidation::Strict => Err(ApiError::bad_request(format!("strict decoding error: {}", texts.join(", ")))),
    }
}

/// Keys present (and non-null) in the input that the typed round trip dropped: unknown fields.
fn find_dropped(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match b.get(k) {
                    None if !v.is_null() && !is_empty_collection(v) => out.push(p),
                    Some(w) => find_dropped(v, w, &p, out),
                    None => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b.iter()).enumerate() {
                find_dropped(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty_collection(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty())
}

fn check_type_meta(rt: &ResourceType, obj: &Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the request body: the body must be a JSON object",
        ));
    }
    let want = rt.api_version();
    match obj["apiVersion"].as_str() {
        Some(v) if !v.is_empty() && v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        _ => {}
    }
    match obj["kind"].as_str() {
        Some(k) if !k.is_empty() && k != rt.kind => Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            rt.kind
        ))),
        _ => Ok(()),
    }
}

fn check_name_matches(obj: &Value, name: &str) -> ApiResult<()> {
    match obj["metadata"]["name"].as_str() {
        Some(n) if n != name => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(()),
    }
}

fn resolve_name(obj: &mut Value) -> String {
    let given = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if !given.is_empty() {
        return given;
    }
    match obj["metadata"]["generateName"].as_str() {
        Some(prefix) if !prefix.is_empty() => {
            let name = meta::generate_name(prefix);
            obj["metadata"]["name"] = json!(name);
            name
        }
        _ => String::new(),
    }
}

/// The resourceVersion a PUT body pins (`None` when absent or empty), as a precondition.
fn pinned_rv(obj: &Value, rt: &ResourceType, name: &str) -> ApiResult<Option<u64>> {
    obj["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty()).map(|rv| parse_rv(rv, rt, name)).transpose()
}

fn parse_rv(rv: &str, rt: &ResourceType, name: &str) -> ApiResult<u64> {
    rv.parse().map_err(|_| {
        ApiError::invalid(
            &rt.kind,
            &rt.group,
            name,
            vec![meta::cause(
                "FieldValueInvalid",
                "metadata.resourceVersion",
                &format!("Invalid value: \"{rv}\": must be specified as an unsigned integer"),
            )],
        )
    })
}

/// Kinds whose PUT creates a missing object (kube's AllowCreateOnUpdate).
fn allow_create_on_update(rt: &ResourceType) -> bool {
    matches!(
        (rt.group.as_str(), rt.plural.as_str()),
        ("coordination.k8s.io", "leases") | ("", "endpoints") | ("", "events") | ("events.k8s.io", "events")
    )
}
