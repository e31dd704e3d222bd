//! The external recommender's wire format (`recommender.proto`, protojson): the request built from
//! a DPA and the reply read into a horizontal recommendation. Unset proto3 scalars are left out as
//! protojson leaves them out; `optional` ones are written when set.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::workload::crd::{ObjectiveType, ResourceName};
use crate::workload::model::{CustomRecommenderConfig, HorizontalValues, PodAutoscalerInternal, ValueSource};
use crate::workload::recommender::feed::values::{PayloadError, ProtoTimestamp};

fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn is_zero_f64(n: &f64) -> bool {
    *n == 0.0
}

/// `WorkloadRecommendationRequest`.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRecommendationRequest {
    pub target_ref: WorkloadTargetRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<WorkloadRecommendationConstraints>,
    pub state: WorkloadState,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<WorkloadRecommendationTarget>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadTargetRef {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRecommendationConstraints {
    #[serde(skip_serializing_if = "is_zero")]
    pub min_replicas: i32,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_replicas: i32,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadState {
    #[serde(skip_serializing_if = "is_zero")]
    pub desired_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRecommendationTarget {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub target_value: f64,
}

impl WorkloadRecommendationRequest {
    /// The request for `dpa`: its target, constraints, state (replicas of the active values, the
    /// observed and the ready ones), one target per resource objective (utilization / 100) and the
    /// recommender's settings.
    pub fn build(dpa: &PodAutoscalerInternal, rc: &CustomRecommenderConfig, cluster: &str, ready: i32) -> Self {
        let spec = &dpa.spec;
        let targets = spec.objectives.iter().flatten().filter_map(|o| {
            let (name, value) = match o.type_ {
                ObjectiveType::PodResource => o.pod_resource.as_ref().map(|p| (p.name, &p.value))?,
                ObjectiveType::ContainerResource => o.container_resource.as_ref().map(|c| (c.name, &c.value))?,
                ObjectiveType::CustomQuery => return None,
            };
            let type_ = match name {
                ResourceName::Cpu => "cpu",
                ResourceName::Memory => "memory",
            };
            let target_value = value.utilization.map_or(0.0, |u| f64::from(u) / 100.0);
            Some(WorkloadRecommendationTarget { type_: type_.into(), target_value })
        });
        let constraints = spec.constraints.as_ref().map(|c| WorkloadRecommendationConstraints {
            min_replicas: c.min_replicas.unwrap_or(0),
            max_replicas: c.max_replicas.unwrap_or(0),
        });
        WorkloadRecommendationRequest {
            target_ref: WorkloadTargetRef {
                cluster: cluster.to_string(),
                namespace: dpa.namespace.clone(),
                kind: spec.target_ref.kind.clone(),
                name: spec.target_ref.name.clone(),
                api_version: spec.target_ref.api_version.clone().unwrap_or_default(),
            },
            constraints,
            state: WorkloadState {
                desired_replicas: dpa.active.horizontal.as_ref().map_or(0, |h| h.replicas),
                current_replicas: dpa.current_replicas,
                ready_replicas: Some(ready),
            },
            targets: targets.collect(),
            settings: rc.settings.clone(),
        }
    }
}

/// `WorkloadRecommendationReply` (the fields acted on).
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRecommendationReply {
    #[serde(default)]
    error: Option<PayloadError>,
    #[serde(default)]
    timestamp: Option<ProtoTimestamp>,
    #[serde(default)]
    target_replicas: Option<i32>,
}

impl WorkloadRecommendationReply {
    /// The recommendation, or the recommender's error; a reply without timestamp is dated `received`.
    pub fn horizontal(&self, received: Timestamp) -> Result<HorizontalValues, String> {
        if let Some(e) = &self.error {
            return Err(format!("error from recommender: {} {}", e.code.unwrap_or(0), e.message));
        }
        let replicas = self.target_replicas.ok_or("reply without targetReplicas")?;
        if replicas < 0 {
            return Err(format!("reply with negative targetReplicas {replicas}"));
        }
        let timestamp = self.timestamp.as_ref().map_or(Ok(received), ProtoTimestamp::parse)?;
        Ok(HorizontalValues { source: ValueSource::External, timestamp, replicas })
    }
}
