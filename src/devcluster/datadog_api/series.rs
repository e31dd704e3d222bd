//! Series the simulated API serves: a metric name, fixed tags, and a value shape over time
//! (seconds since the simulator started). Defined in code or in YAML:
//!
//! ```yaml
//! series:
//!   - metric: nginx.net.request_per_s
//!     tags: ["kube_cluster_name:demo"]
//!     shape: {kind: step, before: 10, after: 80, at_s: 60}
//!   - metric: queue.depth
//!     shape:
//!       kind: per_tag
//!       tag: queue
//!       values: {a: {kind: constant, value: 3}, b: {kind: sine, mean: 50, amplitude: 10, period_s: 120}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One series definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesDef {
    pub metric: String,
    /// `key:value` tags the series carries; a query scope must be satisfied by these (or by the
    /// tag of a `per_tag` shape).
    #[serde(default)]
    pub tags: Vec<String>,
    pub shape: Shape,
}

impl SeriesDef {
    pub fn new(metric: &str, shape: Shape) -> Self {
        SeriesDef { metric: metric.into(), tags: Vec::new(), shape }
    }

    pub fn with_tags(mut self, tags: &[&str]) -> Self {
        self.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }
}

/// How a value evolves; `t` is seconds since the simulator started (negative before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shape {
    Constant {
        value: f64,
    },
    /// `before` until `at_s`, then `after`.
    Step {
        before: f64,
        after: f64,
        at_s: f64,
    },
    Sine {
        mean: f64,
        amplitude: f64,
        period_s: f64,
    },
    /// Linear from `from` (at t = 0) to `to` (at t = `over_s`), constant outside.
    Ramp {
        from: f64,
        to: f64,
        over_s: f64,
    },
    /// `base`, except `peak` from `from_s` until `to_s` (a step up and back down).
    Pulse {
        base: f64,
        peak: f64,
        from_s: f64,
        to_s: f64,
    },
    /// One shape per value of `tag`, selected by the query's `{tag:value}` scope; without it the
    /// values are aggregated (by the query's aggregator), or grouped with `by {tag}`.
    PerTag {
        tag: String,
        values: BTreeMap<String, Shape>,
    },
}

impl Shape {
    /// The value at `t` for a shape that is not `per_tag` (a `per_tag` shape averages its values).
    pub fn value_at(&self, t: f64) -> f64 {
        match self {
            Shape::Constant { value } => *value,
            Shape::Step { before, after, at_s } => {
                if t < *at_s {
                    *before
                } else {
                    *after
                }
            }
            Shape::Sine { mean, amplitude, period_s } => {
                let period = if *period_s > 0.0 { *period_s } else { 1.0 };
                mean + amplitude * (std::f64::consts::TAU * t / period).sin()
            }
            Shape::Ramp { from, to, over_s } => {
                if *over_s <= 0.0 || t >= *over_s {
                    *to
                } else if t <= 0.0 {
                    *from
                } else {
                    from + (to - from) * t / over_s
                }
            }
            Shape::Pulse { base, peak, from_s, to_s } => {
                if t >= *from_s && t < *to_s {
                    *peak
                } else {
                    *base
                }
            }
            Shape::PerTag { values, .. } => {
                let all: Vec<f64> = values.values().map(|s| s.value_at(t)).collect();
                aggregate("avg", &all)
            }
        }
    }
}

/// Space aggregation of several values (`avg`, `sum`, `min`, `max`; unknown reads as `avg`).
pub fn aggregate(aggregator: &str, values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    match aggregator {
        "sum" => values.iter().sum(),
        "min" => values.iter().copied().fold(f64::INFINITY, f64::min),
        "max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => values.iter().sum::<f64>() / values.len() as f64,
    }
}

/// The YAML file form: `series:` (required) and optional `api_key`, `app_key`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesFile {
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub app_key: Option<String>,
    pub series: Vec<SeriesDef>,
}

impl SeriesFile {
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str(text).map_err(|e| format!("invalid simulated Datadog series file: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let step = Shape::Step { before: 1.0, after: 5.0, at_s: 60.0 };
        assert_eq!((step.value_at(59.9), step.value_at(60.0)), (1.0, 5.0));
        let ramp = Shape::Ramp { from: 0.0, to: 10.0, over_s: 100.0 };
        assert_eq!((ramp.value_at(-5.0), ramp.value_at(50.0), ramp.value_at(500.0)), (0.0, 5.0, 10.0));
        let sine = Shape::Sine { mean: 10.0, amplitude: 2.0, period_s: 40.0 };
        assert!((sine.value_at(10.0) - 12.0).abs() < 1e-9);
        let pulse = Shape::Pulse { base: 5.0, peak: 42.0, from_s: 60.0, to_s: 180.0 };
        let at = |t| pulse.value_at(t);
        assert_eq!((at(59.0), at(60.0), at(179.0), at(180.0)), (5.0, 42.0, 42.0, 5.0));
        assert_eq!(aggregate("sum", &[1.0, 2.0]), 3.0);
        assert_eq!(aggregate("max", &[1.0, 2.0]), 2.0);
    }

    #[test]
    fn yaml_file() {
        let text = r#"
api_key: k
series:
  - metric: nginx.net.request_per_s
    tags: ["kube_cluster_name:demo"]
    shape: {kind: step, before: 10, after: 80, at_s: 60}
  - metric: queue.depth
    shape:
      kind: per_tag
      tag: queue
      values:
        a: {kind: constant, value: 3}
        b: {kind: ramp, from: 0, to: 1, over_s: 10}
"#;
        let file = SeriesFile::from_yaml(text).unwrap();
        assert_eq!(file.api_key.as_deref(), Some("k"));
        assert_eq!(file.series.len(), 2);
        assert!(matches!(&file.series[1].shape, Shape::PerTag { values, .. } if values.len() == 2));
        let err = SeriesFile::from_yaml("series: [{metric: m, shape: {kind: wobble}}]").unwrap_err();
        assert!(err.contains("invalid simulated Datadog series file"), "{err}");
    }
}
