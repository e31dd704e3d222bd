//! From a vertical recommendation to what pods get (spec §10.9 steps 1–3), as pure functions shared
//! by the vertical controller and the `/autoscaling` webhook so every replica computes the same
//! resources and the same recommendation ID: the `force-resources` overlay, the per-container
//! constraints (named > `*` > none), the CPU-limit removal sentinel, and the ID itself.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::Value;

use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::{
    ContainerConstraints, ContainerResources, ControlledValues, DatadogPodAutoscalerSpec, ResourceList,
};
use crate::workload::hash::stable_hash;
use crate::workload::model::{ConditionError, Reason};

use super::{FORCE_RESOURCES_ANNOTATION, PAUSE_ANNOTATION, PREVIEW_ANNOTATION};

/// The CPU limit a container gets when its limit must be removed from running pods: negative
/// quantities are never valid resources, so the intent is unambiguous, and the ID changes with it.
pub const REMOVE_LIMIT: &str = "-1";

/// Suffix of the recommendation ID in burstable mode.
pub const BURSTABLE_SUFFIX: &str = "-burstable";

/// What besides the recommendation decides the resources pods get: the DPA's container
/// constraints, the resources forced by annotation, and burstable mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerticalInputs {
    pub constraints: Vec<ContainerConstraints>,
    /// The usable entries of the `force-resources` annotation (named, cpu/memory > 0 only).
    pub forced: Vec<ContainerResources>,
    pub burstable: bool,
}

impl VerticalInputs {
    /// The inputs of a DPA from its spec and annotations.
    pub fn of(spec: &DatadogPodAutoscalerSpec, annotations: &BTreeMap<String, String>) -> Self {
        let constraints = spec.constraints.as_ref().and_then(|c| c.containers.clone()).unwrap_or_default();
        VerticalInputs {
            constraints,
            forced: parse_forced(annotations.get(FORCE_RESOURCES_ANNOTATION).map(String::as_str)),
            burstable: is_burstable(spec, annotations),
        }
    }
}

/// True when the pause annotation is `"true"`.
pub fn is_paused(annotations: &BTreeMap<String, String>) -> bool {
    annotations.get(PAUSE_ANNOTATION).is_some_and(|v| v == "true")
}

/// Burstable mode: `spec.options.burstable`, else `{"burstable": true}` in the preview annotation.
pub fn is_burstable(spec: &DatadogPodAutoscalerSpec, annotations: &BTreeMap<String, String>) -> bool {
    if let Some(b) = spec.options.as_ref().and_then(|o| o.burstable) {
        return b;
    }
    let preview = annotations.get(PREVIEW_ANNOTATION).and_then(|p| serde_json::from_str::<Value>(p).ok());
    preview.is_some_and(|p| p["burstable"] == Value::Bool(true))
}

/// The usable entries of a `force-resources` annotation: a JSON list of `{name, requests, limits}`.
/// Anything else is ignored, as are nameless entries, resources other than cpu and memory,
/// unparsable and non-positive quantities and runtime values.
pub fn parse_forced(annotation: Option<&str>) -> Vec<ContainerResources> {
    let Some(text) = annotation else { return Vec::new() };
    let entries = match serde_json::from_str::<Vec<Value>>(text) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(annotation = FORCE_RESOURCES_ANNOTATION, error = %e, "not a list of container resources; ignored");
            return Vec::new();
        }
    };
    let usable = |list: &Value| -> Option<ResourceList> {
        let kept: ResourceList = ["cpu", "memory"]
            .into_iter()
            .filter_map(|name| {
                let text = match &list[name] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                milli_value(&text).ok().filter(|m| *m > 0).map(|_| (name.to_string(), Quantity(text)))
            })
            .collect();
        (!kept.is_empty()).then_some(kept)
    };
    entries
        .iter()
        .filter_map(|e| {
            let name = e["name"].as_str().filter(|n| !n.is_empty())?;
            let (requests, limits) = (usable(&e["requests"]), usable(&e["limits"]));
            (requests.is_some() || limits.is_some()).then(|| ContainerResources {
                name: name.to_string(),
                requests,
                limits,
                runtime: None,
            })
        })
        .collect()
}

/// The recommendation after forced resources and constraints.
#[derive(Clone, Debug, PartialEq)]
pub struct Constrained {
    pub resources: Vec<ContainerResources>,
    /// The recommendation ID: the resources' hash (the recommendation's own when nothing changed),
    /// with [`BURSTABLE_SUFFIX`] in burstable mode.
    pub id: String,
    /// Why the result differs from the recommendation (`LimitedByConstraint`, `ForcedByAnnotation`).
    pub limited: Option<ConditionError>,
    /// Some resources were forced by the annotation.
    pub forced: bool,
}

/// Applies forced resources then constraints to `resources` (whose hash is `hash`). The same
/// inputs applied to the result give the same resources and ID (the webhook re-applies them to the
/// values the controller published). Duplicate constraints are an `InvalidSpec` error.
pub fn constrain(
    resources: &[ContainerResources],
    hash: &str,
    inputs: &VerticalInputs,
) -> Result<Constrained, ConditionError> {
    let mut out = resources.to_vec();
    let overridden = apply_forced(&mut out, &inputs.forced);
    let (constrained, clamped) = apply_constraints(&mut out, &inputs.constraints, inputs.burstable)?;
    let modified = !overridden.is_empty() || constrained;
    let mut id = if modified { stable_hash(&out) } else { hash.to_string() };
    if inputs.burstable && !id.ends_with(BURSTABLE_SUFFIX) {
        id.push_str(BURSTABLE_SUFFIX);
    }
    let limited = if !clamped.is_empty() {
        let message = format!("recommendation clamped to min/max bounds for containers: {}", clamped.join(", "));
        Some(ConditionError::new(Reason::LimitedByConstraint, message))
    } else if !overridden.is_empty() {
        let message = format!(
            "resources overridden for containers {} by the {FORCE_RESOURCES_ANNOTATION} annotation",
            overridden.join(", ")
        );
        Some(ConditionError::new(Reason::ForcedByAnnotation, message))
    } else {
        None
    };
    Ok(Constrained { resources: out, id, limited, forced: !overridden.is_empty() })
}

/// Overlays the forced values (the forced side wins; the other side is moved so that the request
/// never exceeds the limit); a forced container without a recommendation is added. Returns the
/// names of the containers overridden.
pub fn apply_forced(resources: &mut Vec<ContainerResources>, forced: &[ContainerResources]) -> Vec<String> {
    let mut overridden = Vec::new();
    for f in forced {
        let index = match resources.iter().position(|r| r.name == f.name) {
            Some(i) => i,
            None => {
                resources.push(ContainerResources { name: f.name.clone(), ..Default::default() });
                resources.len() - 1
            }
        };
        let container = &mut resources[index];
        for (list, values) in [(&mut container.requests, &f.requests), (&mut container.limits, &f.limits)] {
            for (name, q) in values.iter().flatten() {
                list.get_or_insert_with(BTreeMap::new).insert(name.clone(), q.clone());
            }
        }
        let forced_limit = |name: &str| f.limits.as_ref().is_some_and(|l| l.contains_key(name));
        let forced_request = |name: &str| f.requests.as_ref().is_some_and(|l| l.contains_key(name));
        let requests = container.requests.clone().unwrap_or_default();
        for (name, request) in requests {
            let Some(limit) = container.limits.as_ref().and_then(|l| l.get(&name)).cloned() else { continue };
            if is_sentinel(&limit) || compare(&request, &limit) != Some(Ordering::Greater) {
                continue;
            }
            if forced_limit(&name) {
                container.requests.get_or_insert_with(BTreeMap::new).insert(name, limit);
            } else if forced_request(&name) {
                container.limits.get_or_insert_with(BTreeMap::new).insert(name, request);
            }
        }
        overridden.push(f.name.clone());
    }
    overridden
}

/// Applies the container constraints and the CPU-limit removal; returns whether anything changed
/// and the containers whose values were clamped to their bounds.
pub fn apply_constraints(
    resources: &mut Vec<ContainerResources>,
    constraints: &[ContainerConstraints],
    burstable: bool,
) -> Result<(bool, Vec<String>), ConditionError> {
    let mut wildcard = None;
    let mut named: BTreeMap<&str, &ContainerConstraints> = BTreeMap::new();
    for c in constraints {
        if c.name == "*" {
            if wildcard.replace(c).is_some() {
                return Err(ConditionError::new(
                    Reason::InvalidSpec,
                    "duplicate wildcard (*) constraint in containers list",
                ));
            }
        } else if named.insert(c.name.as_str(), c).is_some() {
            return Err(ConditionError::new(
                Reason::InvalidSpec,
                format!("duplicate constraint for container {:?}", c.name),
            ));
        }
    }
    let mut modified = false;
    let mut clamped = Vec::new();
    let mut kept = Vec::with_capacity(resources.len());
    for mut cr in std::mem::take(resources) {
        let constraint = named.get(cr.name.as_str()).copied().or(wildcard);
        let mut remove_cpu_limit = burstable;
        if let Some(c) = constraint {
            let controlled = c.controlled_resources.clone().unwrap_or_else(|| vec!["cpu".into(), "memory".into()]);
            if c.enabled == Some(false) || controlled.is_empty() {
                modified = true;
                continue;
            }
            for list in [&mut cr.requests, &mut cr.limits].into_iter().flatten() {
                let before = list.len();
                list.retain(|name, _| controlled.contains(name));
                modified |= list.len() != before;
            }
            if c.controlled_values == Some(ControlledValues::RequestsOnly)
                && cr.limits.as_ref().is_some_and(|l| !l.is_empty())
            {
                cr.limits = None;
                modified = true;
            }
            if c.controlled_values == Some(ControlledValues::CPURequestsRemoveLimitsMemoryRequestsAndLimits) {
                remove_cpu_limit = true;
            }
            let bounds = Bounds::of(c);
            let requests_clamped = clamp(cr.requests.as_mut(), bounds.request_min, bounds.request_max);
            let limits_clamped = clamp(cr.limits.as_mut(), bounds.limit_min, bounds.limit_max);
            if requests_clamped || limits_clamped {
                clamped.push(cr.name.clone());
                modified = true;
            }
            modified |= raise_limits_to_requests(&mut cr);
        }
        if remove_cpu_limit {
            cr.limits.get_or_insert_with(BTreeMap::new).insert("cpu".into(), Quantity(REMOVE_LIMIT.into()));
            modified = true;
        }
        kept.push(cr);
    }
    *resources = kept;
    Ok((modified, clamped))
}

/// Min/max bounds: `minAllowed`/`maxAllowed` bound requests and limits; the deprecated
/// `requests.*` bound requests only.
struct Bounds<'a> {
    request_min: Option<&'a ResourceList>,
    request_max: Option<&'a ResourceList>,
    limit_min: Option<&'a ResourceList>,
    limit_max: Option<&'a ResourceList>,
}

impl<'a> Bounds<'a> {
    fn of(c: &'a ContainerConstraints) -> Self {
        let deprecated = c.requests.as_ref();
        let min = c.min_allowed.as_ref().filter(|m| !m.is_empty());
        let max = c.max_allowed.as_ref().filter(|m| !m.is_empty());
        Bounds {
            request_min: min.or(deprecated.and_then(|d| d.min_allowed.as_ref())),
            request_max: max.or(deprecated.and_then(|d| d.max_allowed.as_ref())),
            limit_min: min,
            limit_max: max,
        }
    }
}

/// Clamps each quantity of `list` into [min, max] (the removal sentinel is kept); true if any moved.
fn clamp(list: Option<&mut ResourceList>, min: Option<&ResourceList>, max: Option<&ResourceList>) -> bool {
    let Some(list) = list else { return false };
    let mut changed = false;
    for (name, q) in list.iter_mut() {
        if is_sentinel(q) {
            continue;
        }
        if let Some(lo) = min.and_then(|m| m.get(name)).filter(|lo| compare(q, lo) == Some(Ordering::Less)) {
            *q = lo.clone();
            changed = true;
        }
        if let Some(hi) = max.and_then(|m| m.get(name)).filter(|hi| compare(q, hi) == Some(Ordering::Greater)) {
            *q = hi.clone();
            changed = true;
        }
    }
    changed
}

/// Keeps every limit at least its request; true if a limit moved.
fn raise_limits_to_requests(cr: &mut ContainerResources) -> bool {
    let (Some(requests), Some(limits)) = (cr.requests.as_ref(), cr.limits.as_mut()) else { return false };
    let mut changed = false;
    for (name, request) in requests {
        if let Some(limit) = limits.get_mut(name)
            && !is_sentinel(limit)
            && compare(limit, request) == Some(Ordering::Less)
        {
            *limit = request.clone();
            changed = true;
        }
    }
    changed
}

/// The removal sentinel (any negative quantity).
pub fn is_sentinel(q: &Quantity) -> bool {
    milli_value(&q.0).is_ok_and(|m| m < 0)
}

/// Numeric order of two quantities; `None` when either does not parse.
pub fn compare(a: &Quantity, b: &Quantity) -> Option<Ordering> {
    Some(milli_value(&a.0).ok()?.cmp(&milli_value(&b.0).ok()?))
}
