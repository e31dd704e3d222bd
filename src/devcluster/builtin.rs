//! Built-in (compiled-in) Kubernetes resources: the discovery table, type
//! normalisation through the k8s-openapi types, conversion between served
//! versions that share storage, field-selector labels and generation rules.
//!
//! Everything here is a pure function of its inputs; nothing panics on
//! untrusted JSON.

mod convert_event;
mod convert_hpa;
mod fields;
mod hpa_metrics;
mod normalize;
mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_convert;
mod validate;

pub use fields::{
    field_label_to_storage, field_labels, field_value, generation_tracks_annotations, generation_tracks_spec,
};
pub use normalize::normalize;
pub use validate::validate;

/// One resource as kube-apiserver discovery serves it for one group/version.
#[derive(Clone, Debug)]
pub struct ResourceInfo {
    /// API group; `""` for the core (legacy) group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    /// Verbs exactly as kube-apiserver discovery lists them (sorted).
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [SubresourceInfo],
    /// Whether this group/version is the storage version. Resources that are
    /// served under several group/versions (autoscaling/v1 + v2 HPAs, core/v1 +
    /// events.k8s.io/v1 events) share one store; exactly one entry per store
    /// has `storage: true`.
    pub storage: bool,
}

/// A subresource (`pods/status`, `deployments/scale`, ...).
///
/// `group`/`version` are always filled in; discovery documents omit them when
/// they equal the parent resource's group/version.
#[derive(Clone, Debug)]
pub struct SubresourceInfo {
    pub name: &'static str,
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub verbs: &'static [&'static str],
}

/// The single error type of this module. `Display` texts follow
/// kube-apiserver's wording so they can be surfaced as `Status.message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The body could not be decoded into the typed object
    /// (kube-apiserver answers 400 BadRequest with this text).
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {detail}")]
    Decode { kind: String, version: String, detail: String },
    /// The body's `apiVersion` differs from the endpoint's group/version.
    #[error("the API version in the data ({found}) does not match the expected API version ({expected})")]
    ApiVersionMismatch { found: String, expected: String },
    /// No built-in type is registered for this group/version/kind.
    #[error(
        "no kind \"{kind}\" is registered for version \"{group_version}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
    )]
    UnknownKind { kind: String, group_version: String },
    /// The two versions do not share storage (or conversion is not defined).
    #[error("converting ({kind}) from {from} to {to} is not supported")]
    UnsupportedConversion { kind: String, from: String, to: String },
}

impl ResourceInfo {
    /// `apiVersion` of this entry (`"v1"`, `"apps/v1"`).
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }

    /// The subresource called `name` (`"status"`, `"scale"`, ...).
    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// The built-in resource table: groups in kube-apiserver's `/apis` order, the
/// preferred version of a group first (autoscaling v2 before v1), resources
/// alphabetical by plural within a group/version (discovery's order).
pub fn builtin_resources() -> &'static [ResourceInfo] {
    table::RESOURCES
}

/// Built-in API groups (excluding core) in the order kube-apiserver lists
/// them under `/apis` (kube-aggregator's group priorities), each with its
/// served versions, preferred first.
pub fn builtin_groups() -> &'static [(&'static str, &'static [&'static str])] {
    &[
        ("apiregistration.k8s.io", &["v1"]),
        ("apps", &["v1"]),
        ("events.k8s.io", &["v1"]),
        ("authentication.k8s.io", &["v1"]),
        ("authorization.k8s.io", &["v1"]),
        ("autoscaling", &["v2", "v1"]),
        ("policy", &["v1"]),
        ("rbac.authorization.k8s.io", &["v1"]),
        ("admissionregistration.k8s.io", &["v1"]),
        ("apiextensions.k8s.io", &["v1"]),
        ("coordination.k8s.io", &["v1"]),
        ("metrics.k8s.io", &["v1beta1"]),
    ]
}

/// The entry holding the storage for `group`/`plural` as served under
/// `version` (itself unless it is a non-storage twin: autoscaling/v1 HPAs map
/// to autoscaling/v2, events.k8s.io/v1 events to core/v1).
pub fn storage_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    let served = find_resource(group, version, plural)?;
    if served.storage {
        return Some(served);
    }
    table::RESOURCES.iter().find(|r| r.storage && r.kind == served.kind && r.plural == served.plural)
}

/// Look a resource up by group, version and plural name.
pub fn find_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    table::RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// `apiVersion` string for a group/version (`"v1"` for core).
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

/// Convert between served versions that share storage and return the object
/// as `to_version` (normalised through that version's type).
///
/// Supported: `autoscaling` `HorizontalPodAutoscaler` v1 <-> v2 (including the
/// `autoscaling.alpha.kubernetes.io/*` annotations kube uses to round-trip v2
/// data through v1) and `Event` between core `v1` and `events.k8s.io/v1`.
///
/// The source version is taken from the object's own `apiVersion` when it
/// is one of the kind's convertible versions (falling back to `group` +
/// `from_version`). The target is `group`/`to_version`, or `to_version`
/// itself when it is a full apiVersion (contains `/`). So for events, whose
/// two versions live in different groups, pass the *target* group:
/// `convert("", "Event", "v1", "v1", ev)` turns an events.k8s.io/v1 Event
/// into core/v1, `convert("events.k8s.io", "Event", "v1", "v1", core_ev)` the
/// reverse; `convert("", "Event", "v1", "events.k8s.io/v1", core_ev)` also
/// works. Same-version conversion just normalises.
pub fn convert(
    group: &str,
    kind: &str,
    from_version: &str,
    to_version: &str,
    obj: serde_json::Value,
) -> Result<serde_json::Value, NormalizeError> {
    match (group, kind) {
        ("autoscaling", "HorizontalPodAutoscaler") => convert_hpa::convert(from_version, to_version, obj),
        ("" | "events.k8s.io", "Event") => convert_event::convert(group, from_version, to_version, obj),
        _ if from_version == to_version => normalize(group, to_version, kind, obj),
        _ => Err(NormalizeError::UnsupportedConversion {
            kind: kind.to_string(),
            from: api_version(group, from_version),
            to: api_version(group, to_version),
        }),
    }
}
