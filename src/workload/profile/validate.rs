//! A profile template validated as the DCA validates a DPA spec (`ValidateAutoscalerSpec`): the
//! template is made into a DPA spec with a dummy target and checked by the controller's own
//! [`validate_spec`]; errors carry `InvalidSpec` and the DCA's texts.

use super::super::crd::{DatadogPodAutoscalerSpec, DatadogPodAutoscalerTemplate, Owner, TargetRef};
use super::super::model::ConditionError;
pub use crate::workload::controller::validate_spec;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::model::Reason;
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
}
