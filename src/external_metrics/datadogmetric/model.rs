//! `DatadogMetricInternal` (spec §7.2): the flattened state of one DatadogMetric, built from the
//! object (follower mirror, first sight on the leader), updated by the leader's loops, turned back
//! into a `status` (written only when newer) and into an external metric value at read time.

mod status;
#[cfg(test)]
mod tests;

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::duration;
use super::template::TemplateContext;

pub use status::{build_status, is_newer_than, rfc3339};

pub const ALWAYS_ACTIVE_ANNOTATION: &str = "external-metrics.datadoghq.com/always-active";
pub const ERROR_REASON: &str = "Unable to fetch data from Datadog";

/// Why a metric is unusable; `rate_limited` keeps rate-limited metrics in the batch in split mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricError {
    pub text: String,
    pub rate_limited: bool,
}

impl MetricError {
    pub fn new(text: impl Into<String>) -> Self {
        MetricError { text: text.into(), rate_limited: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricState {
    /// `namespace/name`.
    pub id: String,
    pub query: String,
    /// The query sent to Datadog; `None` when templates or the spec could not be resolved.
    pub resolved_query: Option<String>,
    pub valid: bool,
    pub active: bool,
    pub always_active: bool,
    pub deleted: bool,
    pub autogen: bool,
    pub external_metric_name: String,
    pub value: f64,
    pub autoscaler_references: String,
    /// Last time the state changed (the Active/Valid/Error conditions' lastUpdateTime).
    pub update_time: Timestamp,
    /// Timestamp of the Datadog point (the Updated condition's lastUpdateTime).
    pub data_time: Option<Timestamp>,
    pub error: Option<MetricError>,
    /// `spec.maxAge`; zero means the provider default.
    pub max_age: Duration,
    /// `spec.timeWindow`; zero means `max_age`.
    pub time_window: Duration,
    pub retries: u32,
    pub retry_after: Option<Timestamp>,
    /// The text of the spec or template failure that keeps `resolved_query` empty.
    resolution_error: Option<String>,
}

/// The spec fields the state depends on, read leniently so one bad field names itself.
struct Spec {
    query: String,
    max_age: Result<Duration, String>,
    time_window: Result<Duration, String>,
    external_metric_name: String,
    always_active: bool,
}

impl Spec {
    fn read(object: &Value) -> Self {
        let spec = object.get("spec");
        let text = |field: &str| spec.and_then(|s| s.get(field)).and_then(Value::as_str).unwrap_or_default().to_owned();
        let always = object.pointer("/metadata/annotations").and_then(|a| a.get(ALWAYS_ACTIVE_ANNOTATION));
        Spec {
            query: text("query"),
            max_age: spec_duration(spec, "maxAge"),
            time_window: spec_duration(spec, "timeWindow"),
            external_metric_name: text("externalMetricName"),
            always_active: always.and_then(Value::as_str).is_some_and(go_parse_bool_true),
        }
    }
}

fn spec_duration(spec: Option<&Value>, field: &str) -> Result<Duration, String> {
    match spec.and_then(|s| s.get(field)) {
        None | Some(Value::Null) => Ok(Duration::ZERO),
        Some(Value::String(text)) if text.is_empty() => Ok(Duration::ZERO),
        Some(Value::String(text)) => duration::parse(text).map_err(|why| format!("Invalid spec.{field}: {why}")),
        Some(other) => Err(format!("Invalid spec.{field}: expected a duration string such as \"2m\", got {other}")),
    }
}

/// `strconv.ParseBool`, true side.
fn go_parse_bool_true(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// A condition of the object's status.
pub(super) struct Condition<'a>(&'a Value);

impl Condition<'_> {
    fn is(&self, kind: &str) -> bool {
        self.0.get("type").and_then(Value::as_str) == Some(kind)
    }

    fn is_true(&self) -> bool {
        self.0.get("status").and_then(Value::as_str) == Some("True")
    }

    fn time(&self, field: &str) -> Option<Timestamp> {
        self.0.get(field).and_then(Value::as_str).and_then(|t| t.parse().ok())
    }
}

pub(super) fn conditions(status: Option<&Value>) -> impl Iterator<Item = Condition<'_>> {
    let list = status.and_then(|s| s.get("conditions")).and_then(Value::as_array);
    list.into_iter().flatten().map(Condition)
}

impl MetricState {
    /// `NewDatadogMetricInternal`: the state a DatadogMetric object describes; `now` is used when
    /// it carries no update time.
    pub fn from_object(id: &str, object: &Value, templates: &TemplateContext, now: Timestamp) -> Self {
        let spec = Spec::read(object);
        let status = object.get("status");
        let mut state = MetricState {
            id: id.to_owned(),
            query: spec.query.clone(),
            resolved_query: None,
            valid: false,
            active: false,
            always_active: spec.always_active,
            deleted: false,
            autogen: !spec.external_metric_name.is_empty(),
            external_metric_name: spec.external_metric_name.clone(),
            value: 0.0,
            autoscaler_references: text_field(status, "autoscalerReferences"),
            update_time: now,
            data_time: None,
            error: None,
            max_age: Duration::ZERO,
            time_window: Duration::ZERO,
            retries: 0,
            retry_after: None,
            resolution_error: None,
        };
        let mut update_time = None;
        for condition in conditions(status) {
            if !condition.is_true() {
                continue;
            }
            if condition.is("Valid") {
                state.valid = true;
            } else if condition.is("Active") {
                state.active = true;
                update_time = condition.time("lastUpdateTime");
            } else if condition.is("Updated") {
                state.data_time = condition.time("lastUpdateTime");
            } else if condition.is("Error") {
                let message = condition.0.get("message").and_then(Value::as_str).unwrap_or_default();
                state.error = Some(MetricError::new(message));
            }
        }
        state.update_time = update_time.unwrap_or(now);
        state.apply_spec(&spec, templates, now);
        match parse_value(&text_field(status, "currentValue")) {
            Some(value) => state.value = value,
            None => {
                tracing::warn!(id, "DatadogMetric status.currentValue does not parse as a number: invalidating");
                state.valid = false;
                state.update_time = now;
            }
        }
        state
    }

    /// `NewDatadogMetricInternalFromExternalMetric`: an autogen metric for a plain metric name.
    pub fn autogen(id: &str, query: &str, metric_name: &str, references: &str, now: Timestamp) -> Self {
        MetricState {
            id: id.to_owned(),
            query: query.to_owned(),
            resolved_query: Some(query.to_owned()),
            valid: false,
            active: true,
            always_active: false,
            deleted: false,
            autogen: true,
            external_metric_name: metric_name.to_owned(),
            value: 0.0,
            autoscaler_references: references.to_owned(),
            update_time: now,
            data_time: None,
            error: None,
            max_age: Duration::ZERO,
            time_window: Duration::ZERO,
            retries: 0,
            retry_after: None,
            resolution_error: None,
        }
    }

    /// `UpdateFrom` on the leader: the spec may have changed since the state was built.
    pub fn update_from(&mut self, object: &Value, templates: &TemplateContext, now: Timestamp) {
        let spec = Spec::read(object);
        let same_durations = spec.max_age.as_ref().ok() == Some(&self.max_age)
            && spec.time_window.as_ref().ok() == Some(&self.time_window);
        if self.query != spec.query || !same_durations {
            self.retries = 0;
            self.retry_after = None;
        }
        if self.query != spec.query || !same_durations || self.resolved_query.is_none() {
            self.apply_spec(&spec, templates, now);
        }
        self.always_active = spec.always_active;
    }

    /// Durations and the resolved query from `spec`; a failure invalidates the metric with a
    /// condition naming the field or template at fault.
    fn apply_spec(&mut self, spec: &Spec, templates: &TemplateContext, now: Timestamp) {
        self.query = spec.query.clone();
        self.max_age = spec.max_age.clone().unwrap_or_default();
        self.time_window = spec.time_window.clone().unwrap_or_default();
        let resolved = match (&spec.max_age, &spec.time_window) {
            (Err(why), _) | (_, Err(why)) => Err(why.clone()),
            _ => templates.resolve(&self.query).map_err(|why| format!("Cannot resolve query: {why}")),
        };
        match resolved {
            Ok(query) => {
                self.resolved_query = Some(query);
                if let Some(old) = self.resolution_error.take() {
                    self.error = self.error.take().filter(|e| e.text != old);
                }
            }
            Err(text) => self.invalidate(text, now),
        }
    }

    /// Marks the metric unusable; repeated identical failures keep their update time, so a
    /// resync does not rewrite the status each time.
    fn invalidate(&mut self, text: String, now: Timestamp) {
        self.resolved_query = None;
        let repeated = !self.valid && self.error.as_ref().is_some_and(|e| e.text == text);
        self.valid = false;
        if !repeated {
            self.error = Some(MetricError::new(text.clone()));
            self.update_time = now;
        }
        self.resolution_error = Some(text);
    }

    /// `GetTimeWindow`: `spec.timeWindow`, else `spec.maxAge`.
    pub fn time_window(&self) -> Duration {
        if self.time_window.is_zero() { self.max_age } else { self.time_window }
    }

    /// `IsStale`: the point is older than maxAge (or the default) plus `grace`.
    pub fn is_stale(&self, default_max_age: Duration, now: Timestamp, grace: Duration) -> bool {
        is_stale(self.max_age, self.data_time, default_max_age, now, grace)
    }

    /// Text of `data_time` as Go prints a UTC `time.Time` (`%v`), used in the stale error.
    pub fn data_time_text(&self) -> String {
        match self.data_time {
            Some(t) => t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string(),
            None => "0001-01-01 00:00:00 +0000 UTC".to_owned(),
        }
    }
}

/// [`MetricState::is_stale`] from its two fields (`max_age` zero: `default_max_age`), also what
/// the read path's copy of them ([`super::Served`]) answers with.
pub fn is_stale(
    max_age: Duration,
    data_time: Option<Timestamp>,
    default_max_age: Duration,
    now: Timestamp,
    grace: Duration,
) -> bool {
    let max_age = if max_age.is_zero() { default_max_age } else { max_age } + grace;
    let data = data_time.map_or(GO_ZERO_TIME_SECONDS, |t| t.as_second());
    let age = i128::from(now.as_second()) - i128::from(data);
    age * 1_000_000_000 > max_age.as_nanos() as i128
}

/// Unix seconds of Go's zero `time.Time`, what an unset DataTime compares as.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

fn text_field(status: Option<&Value>, field: &str) -> String {
    status.and_then(|s| s.get(field)).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// `parseDatadogMetricValue`: "" is 0.
fn parse_value(text: &str) -> Option<f64> {
    if text.is_empty() {
        return Some(0.0);
    }
    text.parse::<f64>().ok()
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`: shortest decimal, never an exponent.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let text = format!("{value}");
    if text == "-0" { "-0".into() } else { text }
}
