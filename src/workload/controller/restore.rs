//! A [`PodAutoscalerInternal`] from a DatadogPodAutoscaler object: its spec, annotations and
//! metadata, and the state its `status` records (active targets, last actions and
//! recommendations, current replicas, errors from the conditions with their reasons, the
//! vertical last action), so a new leader continues where the last one stopped (spec §10.2).

use k8s_openapi::jiff::Timestamp;

use super::status::{
    ERROR, HORIZONTAL_ABLE_TO_RECOMMEND, HORIZONTAL_ABLE_TO_SCALE, HORIZONTAL_SCALING_LIMITED, VERTICAL_ABLE_TO_APPLY,
    VERTICAL_ABLE_TO_RECOMMEND, VERTICAL_SCALING_LIMITED,
};
use crate::workload::crd::{DatadogPodAutoscaler, DatadogPodAutoscalerStatus, DpaCondition};
use crate::workload::model::{
    CUSTOM_RECOMMENDER_ANNOTATION, ConditionError, CustomRecommenderConfig, HorizontalValues, PodAutoscalerInternal,
    Reason, ValueSource, VerticalValues,
};
use crate::workload::vertical::FORCE_RESOURCES_ANNOTATION;
use crate::workload::vertical::constraints::forced_problems;

/// The internal state of a DPA read from Kubernetes (`now` stands in for missing timestamps).
pub fn from_object(dpa: &DatadogPodAutoscaler, now: Timestamp) -> PodAutoscalerInternal {
    let meta = &dpa.metadata;
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    let name = meta.name.as_deref().unwrap_or_default();
    let mut internal = PodAutoscalerInternal::new(namespace, name, dpa.spec.clone(), now);
    adopt_object(&mut internal, dpa);
    if let Some(status) = &dpa.status {
        restore_status(&mut internal, status, now);
    }
    internal
}

/// Takes the object's spec, generation, creation time and annotations (Local DPAs on a new
/// generation; any DPA on creation). The custom-recommender annotation is parsed by
/// [`read_annotations`].
pub fn adopt_object(internal: &mut PodAutoscalerInternal, dpa: &DatadogPodAutoscaler) {
    internal.spec = dpa.spec.clone();
    internal.generation = dpa.metadata.generation.unwrap_or(0);
    if let Some(created) = &dpa.metadata.creation_timestamp {
        internal.creation_timestamp = created.0;
    }
    internal.target_gvk = None;
    read_annotations(internal, dpa);
}

/// Copies the object's annotations and parses the custom-recommender one; a parse error
/// becomes the DPA's error, as do values of the `force-resources` annotation that cannot be used
/// (they are ignored, so the user must be told).
pub fn read_annotations(internal: &mut PodAutoscalerInternal, dpa: &DatadogPodAutoscaler) {
    internal.annotations = dpa.metadata.annotations.clone().unwrap_or_default();
    match parse_custom_recommender(internal) {
        Ok(config) => internal.custom_recommender = config,
        Err(e) => {
            internal.custom_recommender = None;
            internal.error = Some(e);
        }
    }
    if internal.error.is_none()
        && let Some(problem) = internal.annotation(FORCE_RESOURCES_ANNOTATION).and_then(forced_problems)
    {
        internal.error = Some(ConditionError::new(
            Reason::InvalidSpec,
            format!("annotation {FORCE_RESOURCES_ANNOTATION}: {problem}; only its usable values are forced"),
        ));
    }
}

/// The `custom-recommender` annotation, if any.
pub fn parse_custom_recommender(
    internal: &PodAutoscalerInternal,
) -> Result<Option<CustomRecommenderConfig>, ConditionError> {
    let Some(text) = internal.annotation(CUSTOM_RECOMMENDER_ANNOTATION) else { return Ok(None) };
    serde_json::from_str(text).map(Some).map_err(|e| {
        ConditionError::new(
            Reason::InvalidSpec,
            format!("Failed to parse annotations for custom recommender configuration: {e}"),
        )
    })
}

fn restore_status(internal: &mut PodAutoscalerInternal, status: &DatadogPodAutoscalerStatus, now: Timestamp) {
    let at = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| t.map(|t| t.0).unwrap_or(now);
    let source = |s: &str| ValueSource::parse(s).unwrap_or(ValueSource::Autoscaling);
    if let Some(horizontal) = &status.horizontal {
        if let Some(target) = &horizontal.target {
            internal.active.horizontal = Some(HorizontalValues {
                source: source(target.source.as_deref().unwrap_or_default()),
                timestamp: at(target.generated_at.as_ref()),
                replicas: target.desired_replicas,
            });
        }
        internal.horizontal_last_actions = horizontal.last_actions.clone().unwrap_or_default();
        let recommendations = horizontal.last_recommendations.iter().flatten();
        internal.horizontal_last_recommendations =
            recommendations.filter(|r| r.desired_replicas != 0).cloned().collect();
    }
    if let Some(vertical) = &status.vertical {
        if let Some(target) = &vertical.target {
            internal.active.vertical = Some(VerticalValues {
                source: source(&target.source),
                timestamp: at(target.generated_at.as_ref()),
                resources: target.desired_resources.clone(),
                hash: target.version.clone(),
            });
            internal.vertical_scaled = target.scaled;
            internal.vertical_evicted = target.evicted;
        }
        internal.vertical_last_action = vertical.last_action.clone();
    }
    if status.current_replicas.is_some() {
        internal.current_replicas = status.current_replicas;
    }
    for condition in status.conditions.iter().flatten() {
        restore_condition(internal, condition);
    }
}

/// The message of a condition (older writers put it in `reason`).
fn message(c: &DpaCondition) -> String {
    let text = c.message.as_deref().filter(|m| !m.is_empty()).or(c.reason.as_deref());
    text.filter(|m| !m.is_empty()).unwrap_or("unknown error").to_string()
}

/// The error a condition shows, with its reason when it names one we know, else `default`.
fn error_of(c: &DpaCondition, default: Reason) -> ConditionError {
    let reason = c.reason.as_deref().and_then(Reason::parse).unwrap_or(default);
    ConditionError::new(reason, message(c))
}

fn restore_condition(internal: &mut PodAutoscalerInternal, c: &DpaCondition) {
    let (is_true, is_false) = (c.status == "True", c.status == "False");
    match &*c.type_ {
        ERROR if is_true => match c.reason.as_deref().and_then(Reason::parse) {
            Some(Reason::RecommendationError) | None => internal.active.error = Some(message(c)),
            Some(reason) => internal.error = Some(ConditionError::new(reason, message(c))),
        },
        HORIZONTAL_ABLE_TO_RECOMMEND if is_false => internal.active.horizontal_error = Some(message(c)),
        VERTICAL_ABLE_TO_RECOMMEND if is_false => internal.active.vertical_error = Some(message(c)),
        HORIZONTAL_ABLE_TO_SCALE if is_false => {
            internal.horizontal_action_error = Some(error_of(c, Reason::ScaleFailed));
        }
        VERTICAL_ABLE_TO_APPLY if is_false => {
            internal.vertical_action_error = Some(error_of(c, Reason::RolloutFailed));
        }
        HORIZONTAL_SCALING_LIMITED if is_true => internal.horizontal_limit_reason = Some(message(c)),
        VERTICAL_SCALING_LIMITED if is_true => {
            internal.vertical_limited = Some(error_of(c, Reason::LimitedByConstraint));
        }
        _ => {}
    }
}
