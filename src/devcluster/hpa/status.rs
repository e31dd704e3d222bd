//! The HPA status the controller writes: conditions set as kube's `setConditionInList` sets them
//! (lastTransitionTime moves only when the status flips) and the status object itself.

use serde_json::{Map, Value, json};

pub const ABLE_TO_SCALE: &str = "AbleToScale";
pub const SCALING_ACTIVE: &str = "ScalingActive";
pub const SCALING_LIMITED: &str = "ScalingLimited";

/// One `HorizontalPodAutoscalerCondition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub last_transition_time: String,
    pub reason: String,
    pub message: String,
}

/// The status being built for one HPA during a sync.
#[derive(Debug, Clone, PartialEq)]
pub struct HpaStatus {
    pub observed_generation: Option<i64>,
    pub last_scale_time: Option<String>,
    pub current_replicas: i32,
    pub desired_replicas: i32,
    pub current_metrics: Vec<Value>,
    pub conditions: Vec<Condition>,
}

impl HpaStatus {
    /// The status as stored on the object (missing fields read as Go zero values).
    pub fn from_json(status: &Value) -> Self {
        let int = |k: &str| status[k].as_i64().and_then(|v| i32::try_from(v).ok()).unwrap_or(0);
        let conditions = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                Condition {
                    type_: s("type"),
                    status: s("status"),
                    last_transition_time: s("lastTransitionTime"),
                    reason: s("reason"),
                    message: s("message"),
                }
            })
            .collect();
        HpaStatus {
            observed_generation: status["observedGeneration"].as_i64(),
            last_scale_time: status["lastScaleTime"].as_str().map(str::to_string),
            current_replicas: int("currentReplicas"),
            desired_replicas: int("desiredReplicas"),
            current_metrics: status["currentMetrics"].as_array().cloned().unwrap_or_default(),
            conditions,
        }
    }

    /// Sets (or adds) a condition; `now` becomes its lastTransitionTime when the status changes.
    pub fn set_condition(&mut self, type_: &str, status: bool, reason: &str, message: impl Into<String>, now: &str) {
        let status = if status { "True" } else { "False" };
        let index = match self.conditions.iter().position(|c| c.type_ == type_) {
            Some(i) => i,
            None => {
                self.conditions.push(Condition {
                    type_: type_.into(),
                    status: String::new(),
                    last_transition_time: String::new(),
                    reason: String::new(),
                    message: String::new(),
                });
                self.conditions.len() - 1
            }
        };
        let c = &mut self.conditions[index];
        if c.status != status {
            c.last_transition_time = now.to_string();
        }
        c.status = status.into();
        c.reason = reason.into();
        c.message = message.into();
    }

    #[cfg(test)]
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// The autoscaling/v2 `status` object (field order as kube-apiserver serializes it).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some(g) = self.observed_generation {
            out.insert("observedGeneration".into(), json!(g));
        }
        if let Some(t) = &self.last_scale_time {
            out.insert("lastScaleTime".into(), json!(t));
        }
        if self.current_replicas != 0 {
            out.insert("currentReplicas".into(), json!(self.current_replicas));
        }
        out.insert("desiredReplicas".into(), json!(self.desired_replicas));
        if !self.current_metrics.is_empty() {
            out.insert("currentMetrics".into(), Value::Array(self.current_metrics.clone()));
        }
        if !self.conditions.is_empty() {
            let conditions = self
                .conditions
                .iter()
                .map(|c| {
                    json!({"type": c.type_, "status": c.status, "lastTransitionTime": c.last_transition_time,
                        "reason": c.reason, "message": c.message})
                })
                .collect();
            out.insert("conditions".into(), Value::Array(conditions));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let mut s = HpaStatus::from_json(&Value::Null);
        s.set_condition(ABLE_TO_SCALE, true, "SucceededGetScale", "a", "t1");
        s.set_condition(ABLE_TO_SCALE, true, "SucceededRescale", "b", "t2");
        assert_eq!(s.condition(ABLE_TO_SCALE).unwrap().last_transition_time, "t1");
        assert_eq!(s.condition(ABLE_TO_SCALE).unwrap().reason, "SucceededRescale");
        s.set_condition(ABLE_TO_SCALE, false, "FailedGetScale", "c", "t3");
        assert_eq!(s.condition(ABLE_TO_SCALE).unwrap().last_transition_time, "t3");
    }

    #[test]
    fn json_round_trip_keeps_conditions_and_zero_fields() {
        let mut s = HpaStatus::from_json(&Value::Null);
        s.desired_replicas = 0;
        s.set_condition(SCALING_ACTIVE, false, "ScalingDisabled", "m", "t");
        let v = s.to_json();
        assert_eq!(v["desiredReplicas"], 0);
        assert!(v.get("currentReplicas").is_none());
        assert_eq!(HpaStatus::from_json(&v), s);
    }
}
