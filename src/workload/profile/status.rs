//! A cluster profile's status (the DCA's `BuildStatus`): the `Valid` condition (reason `Valid` when
//! valid, the error's reason otherwise; `lastTransitionTime` kept while the status does not
//! change; `observedGeneration`), `templateHash` and `controlledAutoscalers`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::super::crd::{DatadogPodAutoscalerClusterProfileStatus, ProfileCondition};
use super::state::ProfileInfo;

pub const VALID_CONDITION: &str = "Valid";

/// The status `profile` should have with `controlled` workloads, at `now`.
pub fn build(profile: &ProfileInfo, controlled: i32, now: Timestamp) -> DatadogPodAutoscalerClusterProfileStatus {
    let (status, reason, message) = match &profile.validation {
        Ok(()) => ("True", VALID_CONDITION.to_string(), String::new()),
        Err(e) => ("False", e.reason.to_string(), e.message.clone()),
    };
    let previous = profile.status.conditions.iter().flatten().find(|c| c.type_ == VALID_CONDITION);
    let last_transition_time = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Time(now),
    };
    let condition = ProfileCondition {
        type_: VALID_CONDITION.into(),
        status: status.into(),
        last_transition_time,
        reason,
        message,
        observed_generation: Some(profile.generation),
    };
    DatadogPodAutoscalerClusterProfileStatus {
        conditions: Some(vec![condition]),
        template_hash: Some(profile.hash.clone()),
        controlled_autoscalers: Some(controlled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::crd::DatadogPodAutoscalerTemplate;
    use crate::workload::model::{ConditionError, Reason};

    fn profile() -> ProfileInfo {
        ProfileInfo {
            name: "p".into(),
            generation: 2,
            template: DatadogPodAutoscalerTemplate::default(),
            preview: None,
            hash: "abc".into(),
            validation: Ok(()),
            status: Default::default(),
            managed_by: None,
        }
    }

    #[test]
    fn valid_then_invalid_keeps_transition_times_only_while_unchanged() {
        let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2025-01-01T00:05:00Z".parse().unwrap();
        let mut p = profile();
        let first = build(&p, 3, t0);
        let c = &first.conditions.as_ref().unwrap()[0];
        assert_eq!((c.status.as_str(), c.reason.as_str(), c.message.as_str()), ("True", "Valid", ""));
        assert_eq!(c.observed_generation, Some(2));
        assert_eq!(first.template_hash.as_deref(), Some("abc"));
        assert_eq!(first.controlled_autoscalers, Some(3));

        p.status = first.clone();
        assert_eq!(build(&p, 3, t1), first, "unchanged status must compare equal (no write)");

        p.validation = Err(ConditionError::new(Reason::InvalidSpec, "duplicate container name \"a\" in constraints"));
        let second = build(&p, 3, t1);
        let c = &second.conditions.as_ref().unwrap()[0];
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "InvalidSpec"));
        assert_eq!(c.message, "duplicate container name \"a\" in constraints");
        assert_eq!(c.last_transition_time, Time(t1));
        let json = serde_json::to_value(&second).unwrap();
        assert_eq!(json["controlledAutoscalers"], 3);
        assert_eq!(json["templateHash"], "abc");
        assert_eq!(json["conditions"][0]["observedGeneration"], 2);
    }
}
