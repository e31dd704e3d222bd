//! The built-in cluster profiles (`datadog-optimize-cost`, `-balance`, `-performance` and
//! `datadog-vertical-only`, as the DCA defines them), labelled `autoscaling.datadoghq.com/managed-by:
//! datadog`. The leader creates missing ones and puts back any whose template or label drifted:
//! the names are reserved.
//!
//! The templates spell out the values the CRD schema defaults (`mode`, `fallback.horizontal`), so
//! the hash of a stored built-in equals the hash of its definition.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use super::super::crd::DatadogPodAutoscalerTemplate;
use super::super::hash::stable_hash;
use super::state::ProfileInfo;
use super::{BUILTIN_LABEL, BUILTIN_LABEL_VALUE};

/// A built-in profile: its name and template.
pub struct Builtin {
    pub name: &'static str,
    pub template: DatadogPodAutoscalerTemplate,
}

impl Builtin {
    /// The hash compared to detect drift (the template only, as the DCA compares).
    pub fn hash(&self) -> String {
        stable_hash(&self.template)
    }

    /// Whether the stored profile matches this definition.
    pub fn matches(&self, stored: &ProfileInfo) -> bool {
        stable_hash(&stored.template) == self.hash()
            && stored.managed_by.as_deref() == Some(BUILTIN_LABEL_VALUE)
            && stored.validation.is_ok()
    }

    /// The whole object as created.
    pub fn object(&self) -> Value {
        json!({
            "apiVersion": "datadoghq.com/v1alpha2",
            "kind": "DatadogPodAutoscalerClusterProfile",
            "metadata": {"name": self.name, "labels": {BUILTIN_LABEL: BUILTIN_LABEL_VALUE}},
            "spec": {"template": self.template},
        })
    }
}

fn fallback_enabled(enabled: bool) -> Value {
    json!({"horizontal": {"enabled": enabled, "direction": "ScaleUp",
        "triggers": {"staleRecommendationThresholdSeconds": 600}}})
}

fn percent(value: i32, period: i32) -> Value {
    json!([{"type": "Percent", "value": value, "periodSeconds": period}])
}

fn cpu(utilization: i32) -> Value {
    json!([{"type": "PodResource",
        "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": utilization}}}])
}

fn template(v: Value) -> DatadogPodAutoscalerTemplate {
    // The definitions below are fixed; a failure here is a programming error caught by the tests.
    serde_json::from_value(v).unwrap_or_default()
}

/// The built-in profiles.
pub fn builtins() -> Vec<Builtin> {
    vec![
        Builtin {
            name: "datadog-optimize-cost",
            template: template(json!({
                "applyPolicy": {"mode": "Apply",
                    "scaleUp": {"stabilizationWindowSeconds": 190, "rules": percent(50, 120)},
                    "scaleDown": {"strategy": "Max", "stabilizationWindowSeconds": 300, "rules": percent(50, 120)}},
                "objectives": cpu(85),
                "fallback": fallback_enabled(true),
                "constraints": {"minReplicas": 1},
            })),
        },
        Builtin {
            name: "datadog-optimize-balance",
            template: template(json!({
                "applyPolicy": {"mode": "Apply",
                    "scaleUp": {"strategy": "Max", "stabilizationWindowSeconds": 130, "rules": percent(50, 120)},
                    "scaleDown": {"strategy": "Max", "stabilizationWindowSeconds": 600, "rules": percent(20, 1200)}},
                "objectives": cpu(70),
                "fallback": fallback_enabled(true),
                "constraints": {"minReplicas": 2},
            })),
        },
        Builtin {
            name: "datadog-optimize-performance",
            template: template(json!({
                "applyPolicy": {"mode": "Apply",
                    "scaleUp": {"strategy": "Max", "stabilizationWindowSeconds": 70, "rules": percent(50, 120)},
                    "scaleDown": {"strategy": "Max", "stabilizationWindowSeconds": 900, "rules": percent(10, 1800)}},
                "objectives": cpu(60),
                "fallback": fallback_enabled(true),
                "constraints": {"minReplicas": 3},
            })),
        },
        Builtin {
            name: "datadog-vertical-only",
            template: template(json!({
                "applyPolicy": {"mode": "Apply", "scaleUp": {"strategy": "Disabled"},
                    "scaleDown": {"strategy": "Disabled"}, "update": {"strategy": "Auto"}},
                "fallback": fallback_enabled(false),
                "constraints": {"containers": [{"name": "*", "enabled": true}]},
            })),
        },
    ]
}

/// Whether `name` is a built-in profile's and `labels` carry the built-in label.
pub fn is_builtin(name: &str, labels: Option<&BTreeMap<String, String>>) -> bool {
    let labelled = labels.and_then(|l| l.get(BUILTIN_LABEL)).is_some_and(|v| v == BUILTIN_LABEL_VALUE);
    labelled && builtins().iter().any(|b| b.name == name)
}

/// Creates `builtin` when absent, or replaces it (spec, labels) when it drifted. Returns what was
/// done, for the log; errors name the profile.
pub async fn ensure(api: &Api<DynamicObject>, builtin: &Builtin) -> Result<&'static str, String> {
    let desired: DynamicObject = serde_json::from_value(builtin.object())
        .map_err(|e| format!("built-in profile {}: cannot build the object: {e}", builtin.name))?;
    let existing =
        api.get_opt(builtin.name).await.map_err(|e| format!("get built-in profile {}: {e}", builtin.name))?;
    let Some(existing) = existing else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok("created"),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok("already created"),
            Err(e) => Err(format!("create built-in profile {}: {e}", builtin.name)),
        };
    };
    if ProfileInfo::from_object(&existing).is_some_and(|p| builtin.matches(&p)) {
        return Ok("unchanged");
    }
    let mut replacement = desired;
    replacement.metadata.resource_version = existing.metadata.resource_version.clone();
    api.replace(builtin.name, &PostParams::default(), &replacement)
        .await
        .map(|_| "reverted")
        .map_err(|e| format!("revert built-in profile {}: {e}", builtin.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::profile::validate::validate_template;

    #[test]
    fn builtins_are_the_dcas_and_valid() {
        let all = builtins();
        let names: Vec<&str> = all.iter().map(|b| b.name).collect();
        assert_eq!(
            names,
            [
                "datadog-optimize-cost",
                "datadog-optimize-balance",
                "datadog-optimize-performance",
                "datadog-vertical-only"
            ]
        );
        for b in &all {
            assert_ne!(b.template, DatadogPodAutoscalerTemplate::default(), "{} did not parse", b.name);
            assert_eq!(validate_template(&b.template), Ok(()), "{}", b.name);
            // Reading the object back gives the same template (no drift on our own output).
            let obj: DynamicObject = serde_json::from_value(b.object()).unwrap();
            assert!(b.matches(&ProfileInfo::from_object(&obj).unwrap()), "{}", b.name);
            assert!(is_builtin(b.name, obj.metadata.labels.as_ref()));
        }
        let balance = &all[1].template;
        let min = balance.constraints.as_ref().and_then(|c| c.min_replicas);
        assert_eq!(min, Some(2));
        let down = balance.apply_policy.as_ref().and_then(|p| p.scale_down.as_ref()).unwrap();
        assert_eq!(down.stabilization_window_seconds, Some(600));
        assert!(!is_builtin("datadog-optimize-cost", None));
        assert!(!is_builtin("mine", Some(&BTreeMap::from([(BUILTIN_LABEL.into(), BUILTIN_LABEL_VALUE.into())]))));
    }

    #[test]
    fn drift_is_detected() {
        let b = &builtins()[0];
        let mut v = b.object();
        v["spec"]["template"]["constraints"]["minReplicas"] = json!(4);
        let obj: DynamicObject = serde_json::from_value(v).unwrap();
        assert!(!b.matches(&ProfileInfo::from_object(&obj).unwrap()));
        let mut v = b.object();
        v["metadata"]["labels"] = json!({});
        let obj: DynamicObject = serde_json::from_value(v).unwrap();
        assert!(!b.matches(&ProfileInfo::from_object(&obj).unwrap()));
    }
}
