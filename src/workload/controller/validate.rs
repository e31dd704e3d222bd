//! Validation of a DPA before any scaling (spec §10.5), with the DCA's texts and reasons: the
//! per-cluster limit, the self-target refusal, the spec checks the CRD schema cannot express, and
//! the target's group/version (`InvalidTargetRef`).

use kube::core::GroupVersionKind;

use crate::apimachinery::quantity::milli_value;
use crate::workload::context::WorkloadSettings;
use crate::workload::crd::{ContainerConstraints, DatadogPodAutoscalerSpec, Objective, ObjectiveType, ResourceList};
use crate::workload::model::{ConditionError, PodAutoscalerInternal, Reason};
use crate::workload::owner::deployment_of_replica_set;

/// The error of a DPA outside the admitted set.
pub fn limit_error(limit: usize) -> ConditionError {
    ConditionError::new(
        Reason::ClusterAutoscalerLimitReached,
        format!("Autoscaler disabled as maximum number per cluster reached ({limit})"),
    )
}

/// Refuses a target that is this process's own Deployment or ReplicaSet (named from the pod
/// name, in the same namespace); without a known pod name or namespace there is nothing to check.
pub fn check_self_target(dpa: &PodAutoscalerInternal, settings: &WorkloadSettings) -> Result<(), ConditionError> {
    let (Some(pod), Some(namespace)) = (settings.own_pod_name.as_deref(), settings.own_namespace.as_deref()) else {
        return Ok(());
    };
    let replica_set = pod.rsplit_once('-').map(|(rs, _)| rs).filter(|rs| !rs.is_empty());
    let own = match dpa.spec.target_ref.kind.as_str() {
        "Deployment" => replica_set.and_then(deployment_of_replica_set),
        "ReplicaSet" => replica_set,
        _ => None,
    };
    if dpa.namespace == namespace && own == Some(dpa.spec.target_ref.name.as_str()) {
        return Err(ConditionError::new(
            Reason::InvalidTarget,
            "Autoscaling target cannot be set to the cluster agent",
        ));
    }
    Ok(())
}

fn invalid(message: String) -> ConditionError {
    ConditionError::new(Reason::InvalidSpec, message)
}

/// The spec checks of the DCA's `ValidateAutoscalerSpec`: constraints, objectives, fallback.
pub fn validate_spec(spec: &DatadogPodAutoscalerSpec) -> Result<(), ConditionError> {
    validate_constraints(spec)?;
    for objective in spec.objectives.iter().flatten() {
        validate_objective(objective)?;
    }
    let fallback = spec.fallback.as_ref().and_then(|f| f.horizontal.as_ref());
    for objective in fallback.and_then(|h| h.objectives.as_ref()).into_iter().flatten() {
        if objective.type_ == ObjectiveType::CustomQuery {
            return Err(invalid("Autoscaler fallback cannot be based on custom query objective".into()));
        }
        validate_objective(objective).map_err(|e| invalid(format!("fallback: {}", e.message)))?;
    }
    Ok(())
}

fn validate_constraints(spec: &DatadogPodAutoscalerSpec) -> Result<(), ConditionError> {
    let Some(constraints) = spec.constraints.as_ref() else { return Ok(()) };
    if let (Some(min), Some(max)) = (constraints.min_replicas, constraints.max_replicas)
        && max < min
    {
        return Err(invalid(format!(
            "constraints.maxReplicas ({max}) must be greater than or equal to constraints.minReplicas ({min})"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for container in constraints.containers.iter().flatten() {
        if !seen.insert(container.name.as_str()) {
            return Err(invalid(format!("duplicate container name {:?} in constraints", container.name)));
        }
        validate_container(container)?;
    }
    Ok(())
}

fn validate_container(container: &ContainerConstraints) -> Result<(), ConditionError> {
    validate_bounds(&container.name, container.min_allowed.as_ref(), container.max_allowed.as_ref())?;
    if let Some(requests) = &container.requests {
        validate_bounds(&container.name, requests.min_allowed.as_ref(), requests.max_allowed.as_ref())?;
    }
    Ok(())
}

/// `minAllowed ≤ maxAllowed` for every resource bounded on both sides; an unparsable quantity is
/// an error naming the container and resource.
fn validate_bounds(
    container: &str,
    min: Option<&ResourceList>,
    max: Option<&ResourceList>,
) -> Result<(), ConditionError> {
    let (Some(min), Some(max)) = (min, max) else { return Ok(()) };
    for (resource, low) in min {
        let Some(high) = max.get(resource) else { continue };
        let parse = |q: &str, side: &str| {
            milli_value(q).map_err(|e| {
                invalid(format!("container {container:?}: {side} {resource} ({q}) is not a quantity: {e}"))
            })
        };
        if parse(&low.0, "minAllowed")? > parse(&high.0, "maxAllowed")? {
            return Err(invalid(format!(
                "container {container:?}: minAllowed {resource} ({}) must be less than or equal to maxAllowed ({})",
                low.0, high.0
            )));
        }
    }
    Ok(())
}

fn validate_objective(objective: &Objective) -> Result<(), ConditionError> {
    match objective.type_ {
        ObjectiveType::CustomQuery if objective.custom_query.is_none() => {
            Err(invalid("Autoscaler objective type is custom query but customQueryObjective is nil".into()))
        }
        ObjectiveType::PodResource if objective.pod_resource.is_none() => {
            Err(invalid("autoscaler objective type is PodResource but podResource is nil".into()))
        }
        ObjectiveType::ContainerResource if objective.container_resource.is_none() => {
            Err(invalid("autoscaler objective type is ContainerResource but containerResource is nil".into()))
        }
        _ => Ok(()),
    }
}

/// The target's group, version and kind from `targetRef`; both a group and a version are needed
/// (`apps/v1`), so core kinds (`v1`) are refused as the DCA refuses them.
pub fn target_gvk(spec: &DatadogPodAutoscalerSpec) -> Result<GroupVersionKind, ConditionError> {
    let api_version = spec.target_ref.api_version.as_deref().unwrap_or_default();
    let refuse = |why: &str| {
        ConditionError::new(
            Reason::InvalidTargetRef,
            format!("failed to parse API version '{api_version}', err: {why}"),
        )
    };
    let (group, version) = match api_version.split('/').collect::<Vec<_>>()[..] {
        [group, version] => (group, version),
        [_] => return Err(refuse("a group and a version are required, e.g. apps/v1")),
        _ => return Err(refuse(&format!("unexpected GroupVersion string: {api_version}"))),
    };
    if group.is_empty() || version.is_empty() {
        return Err(refuse("a group and a version are required, e.g. apps/v1"));
    }
    Ok(GroupVersionKind::gvk(group, version, &spec.target_ref.kind))
}

#[cfg(test)]
mod tests;
