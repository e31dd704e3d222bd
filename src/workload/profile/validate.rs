//! A profile template validated as the DCA validates a DPA spec (`ValidateAutoscalerSpec`): the
//! template is made into a DPA spec with a dummy target and checked; errors carry `InvalidSpec`
//! and the DCA's texts.
//!
//! The controller validates DPAs with the same rules; at merge the two should share one function.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::super::crd::{
    Constraints, ContainerConstraints, DatadogPodAutoscalerSpec, DatadogPodAutoscalerTemplate, Objective,
    ObjectiveType, Owner, ResourceList, TargetRef,
};
use super::super::model::{ConditionError, Reason};

/// The target used to validate a template (the DCA's `dummyTargetRef`).
pub fn dummy_target() -> TargetRef {
    TargetRef { api_version: Some("apps/v1".into()), kind: "Deployment".into(), name: "dummy".into() }
}

/// The DPA spec a template gives for `target` (owner `Local`).
pub fn spec_from_template(template: &DatadogPodAutoscalerTemplate, target: TargetRef) -> DatadogPodAutoscalerSpec {
    DatadogPodAutoscalerSpec {
        target_ref: target,
        owner: Owner::Local,
        remote_version: None,
        apply_policy: template.apply_policy.clone(),
        objectives: template.objectives.clone(),
        fallback: template.fallback.clone(),
        constraints: template.constraints.clone(),
        options: template.options.clone(),
    }
}

/// Validates `template` with the dummy target.
pub fn validate_template(template: &DatadogPodAutoscalerTemplate) -> Result<(), ConditionError> {
    validate_spec(&spec_from_template(template, dummy_target()))
}

/// `ValidateAutoscalerSpec`: constraints, objectives, fallback objectives.
pub fn validate_spec(spec: &DatadogPodAutoscalerSpec) -> Result<(), ConditionError> {
    if let Some(c) = &spec.constraints {
        validate_constraints(c)?;
    }
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

fn invalid(message: String) -> ConditionError {
    ConditionError::new(Reason::InvalidSpec, message)
}

fn validate_constraints(c: &Constraints) -> Result<(), ConditionError> {
    if let (Some(min), Some(max)) = (c.min_replicas, c.max_replicas)
        && max < min
    {
        return Err(invalid(format!(
            "constraints.maxReplicas ({max}) must be greater than or equal to constraints.minReplicas ({min})"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for container in c.containers.iter().flatten() {
        if !seen.insert(container.name.as_str()) {
            return Err(invalid(format!("duplicate container name {:?} in constraints", container.name)));
        }
        validate_container(container)?;
    }
    Ok(())
}

fn validate_container(c: &ContainerConstraints) -> Result<(), ConditionError> {
    bounds(&c.name, c.min_allowed.as_ref(), c.max_allowed.as_ref())?;
    if let Some(r) = &c.requests {
        bounds(&c.name, r.min_allowed.as_ref(), r.max_allowed.as_ref())?;
    }
    Ok(())
}

fn bounds(container: &str, min: Option<&ResourceList>, max: Option<&ResourceList>) -> Result<(), ConditionError> {
    let (Some(min), Some(max)) = (min, max) else { return Ok(()) };
    for (resource, low) in min {
        let Some(high) = max.get(resource) else { continue };
        let value = |q: &Quantity, which: &str| {
            quantity_value(&q.0).ok_or_else(|| {
                invalid(format!("container {container:?}: {which} {resource} ({}) is not a quantity", q.0))
            })
        };
        if value(low, "minAllowed")? > value(high, "maxAllowed")? {
            return Err(invalid(format!(
                "container {container:?}: minAllowed {resource} ({}) must be less than or equal to maxAllowed ({})",
                low.0, high.0
            )));
        }
    }
    Ok(())
}

fn validate_objective(o: &Objective) -> Result<(), ConditionError> {
    match o.type_ {
        ObjectiveType::CustomQuery if o.custom_query.is_none() => {
            Err(invalid("Autoscaler objective type is custom query but customQueryObjective is nil".into()))
        }
        ObjectiveType::PodResource if o.pod_resource.is_none() => {
            Err(invalid("autoscaler objective type is PodResource but podResource is nil".into()))
        }
        ObjectiveType::ContainerResource if o.container_resource.is_none() => {
            Err(invalid("autoscaler objective type is ContainerResource but containerResource is nil".into()))
        }
        _ => Ok(()),
    }
}

/// A quantity's value as a number, for ordering only (`100m`, `1.5`, `128Mi`, `1e3`, `2G`).
fn quantity_value(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let value: f64 = number.parse().ok()?;
    let binary = |p: i32| 1024f64.powi(p);
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(v: serde_json::Value) -> DatadogPodAutoscalerTemplate {
        serde_json::from_value(v).unwrap()
    }

    fn message(v: serde_json::Value) -> String {
        let e = validate_template(&template(v)).unwrap_err();
        assert_eq!(e.reason, Reason::InvalidSpec);
        e.message
    }

    #[test]
    fn a_complete_template_is_valid() {
        let t = template(json!({
            "applyPolicy": {"mode": "Apply", "scaleDown": {"strategy": "Max", "stabilizationWindowSeconds": 600,
                "rules": [{"type": "Percent", "value": 20, "periodSeconds": 1200}]}},
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}],
            "constraints": {"minReplicas": 2, "maxReplicas": 10, "containers": [
                {"name": "*", "minAllowed": {"cpu": "100m", "memory": "128Mi"}, "maxAllowed": {"cpu": "2", "memory": "1Gi"}}]},
            "fallback": {"horizontal": {"enabled": true, "objectives": [{"type": "ContainerResource",
                "containerResource": {"name": "cpu", "container": "app", "value": {"type": "Utilization", "utilization": 60}}}]}}
        }));
        assert_eq!(validate_template(&t), Ok(()));
        assert_eq!(validate_template(&DatadogPodAutoscalerTemplate::default()), Ok(()));
    }

    #[test]
    fn invalid_templates_name_the_problem() {
        assert_eq!(
            message(json!({"constraints": {"minReplicas": 5, "maxReplicas": 2}})),
            "constraints.maxReplicas (2) must be greater than or equal to constraints.minReplicas (5)"
        );
        assert_eq!(
            message(json!({"constraints": {"containers": [{"name": "app"}, {"name": "app"}]}})),
            "duplicate container name \"app\" in constraints"
        );
        assert_eq!(
            message(json!({"constraints": {"containers": [{"name": "app",
                "minAllowed": {"memory": "2Gi"}, "maxAllowed": {"memory": "1500Mi"}}]}})),
            "container \"app\": minAllowed memory (2Gi) must be less than or equal to maxAllowed (1500Mi)"
        );
        assert_eq!(
            message(json!({"constraints": {"containers": [{"name": "app",
                "requests": {"minAllowed": {"cpu": "2"}, "maxAllowed": {"cpu": "500m"}}}]}})),
            "container \"app\": minAllowed cpu (2) must be less than or equal to maxAllowed (500m)"
        );
        assert_eq!(
            message(json!({"objectives": [{"type": "PodResource"}]})),
            "autoscaler objective type is PodResource but podResource is nil"
        );
        assert_eq!(
            message(json!({"fallback": {"horizontal": {"objectives": [{"type": "CustomQuery"}]}}})),
            "Autoscaler fallback cannot be based on custom query objective"
        );
        assert_eq!(
            message(json!({"fallback": {"horizontal": {"objectives": [{"type": "ContainerResource"}]}}})),
            "fallback: autoscaler objective type is ContainerResource but containerResource is nil"
        );
        assert!(
            message(json!({"constraints": {"containers": [{"name": "app",
                "minAllowed": {"cpu": "lots"}, "maxAllowed": {"cpu": "1"}}]}}))
            .contains("(lots) is not a quantity")
        );
    }

    #[test]
    fn quantities_order_across_suffixes() {
        assert!(quantity_value("1500Mi").unwrap() < quantity_value("2Gi").unwrap());
        assert!(quantity_value("500m").unwrap() < quantity_value("1").unwrap());
        assert_eq!(quantity_value("1e3"), Some(1000.0));
        assert_eq!(quantity_value("1k"), Some(1000.0));
        assert_eq!(quantity_value("x"), None);
    }
}
