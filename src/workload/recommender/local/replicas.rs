//! The local recommender's arithmetic (spec §10.11), free of I/O: per objective, watermarks at the
//! target utilization ∓ 5 %, per-pod utilization Σ usage / Σ requests from the average of each
//! container's recent points, the replica count for the average utilization, the missing-pods
//! adjustment, and the maximum across objectives.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::{Objective, ObjectiveType, ObjectiveValue, ObjectiveValueType, ResourceName};
use crate::workload::pod_index::{ContainerResourceEntry, PodEntry};

/// Percentage points around the target utilization inside which nothing changes.
pub const WATERMARK_TOLERANCE: i32 = 5;
/// Points a container needs for its average.
pub const MIN_POINTS: usize = 2;

/// Utilization bounds (fractions of the request) outside which the replica count changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Watermarks {
    pub low: f64,
    pub high: f64,
}

impl Watermarks {
    /// `(target ∓ 5) / 100` for a target in percent.
    pub fn for_target(percent: i32) -> Self {
        Watermarks {
            low: f64::from(percent - WATERMARK_TOLERANCE) / 100.0,
            high: f64::from(percent + WATERMARK_TOLERANCE) / 100.0,
        }
    }
}

/// What one objective measures.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveSettings {
    pub resource: ResourceName,
    /// Only this container (`ContainerResource`); every container when `None`.
    pub container: Option<String>,
    pub watermarks: Watermarks,
}

impl ObjectiveSettings {
    /// The settings of a `PodResource` or `ContainerResource` objective with a Utilization target.
    pub fn from_objective(objective: &Objective) -> Result<Self, String> {
        let (resource, value, container) = match objective.type_ {
            ObjectiveType::PodResource => {
                let o = objective.pod_resource.as_ref().ok_or("podResource is missing")?;
                (o.name, &o.value, None)
            }
            ObjectiveType::ContainerResource => {
                let o = objective.container_resource.as_ref().ok_or("containerResource is missing")?;
                (o.name, &o.value, Some(o.container.clone()))
            }
            ObjectiveType::CustomQuery => return Err("Invalid target type: CustomQuery".into()),
        };
        let percent = utilization(value)?;
        Ok(ObjectiveSettings { resource, container, watermarks: Watermarks::for_target(percent) })
    }
}

fn utilization(value: &ObjectiveValue) -> Result<i32, String> {
    if value.type_ != ObjectiveValueType::Utilization {
        return Err(format!("invalid value type: {:?}", value.type_));
    }
    match value.utilization {
        None => Err("invalid utilization value: missing utilization value".into()),
        Some(u) if !(1..=100).contains(&u) => {
            Err("invalid utilization value: utilization value must be between 1 and 100".into())
        }
        Some(u) => Ok(u),
    }
}

/// One usage point of a container (cores for CPU, bytes for memory).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub timestamp: Timestamp,
    pub value: f64,
}

/// Average of a container's points (oldest first) and the oldest point used: newest first, points
/// older than `stale` are dropped once [`MIN_POINTS`] are kept; `None` with fewer than that.
pub fn container_average(points: &[Point], now: Timestamp, stale: Duration) -> Option<(f64, Timestamp)> {
    let mut used: Vec<&Point> = Vec::with_capacity(points.len());
    for p in points.iter().rev() {
        let age = now.duration_since(p.timestamp).as_secs_f64();
        if age > stale.as_secs_f64() && used.len() >= MIN_POINTS {
            continue;
        }
        used.push(p);
    }
    if used.len() < MIN_POINTS {
        return None;
    }
    let oldest = used.iter().map(|p| p.timestamp).min()?;
    Some((used.iter().map(|p| p.value).sum::<f64>() / used.len() as f64, oldest))
}

/// Replicas for `utilization` (a fraction of the requests) with `current` replicas.
pub fn calculate_replicas(w: Watermarks, current: f64, utilization: f64) -> i32 {
    let mut replicas = current as i32;
    if utilization > w.high {
        replicas = replicas.max((utilization / w.high * current).ceil() as i32);
    }
    if utilization < w.low {
        let mut proposed = (utilization / w.low * current).floor().max(1.0);
        while proposed < current {
            if current * utilization / proposed < w.high {
                replicas = proposed as i32;
                break;
            }
            proposed += 1.0;
        }
    }
    replicas
}

/// Replicas from each pod's utilization (`None`: missing). With missing pods, a scale decision is
/// checked again counting them 0 % (scale-up) or 100 % (scale-down); a reversed direction means no
/// change.
pub fn recommend(w: Watermarks, pods: &[Option<f64>]) -> Result<i32, String> {
    let current = pods.len() as f64;
    let measured: Vec<f64> = pods.iter().flatten().copied().collect();
    if measured.is_empty() {
        return Err("Issue calculating pod utilization".into());
    }
    let average = measured.iter().sum::<f64>() / measured.len() as f64;
    let replicas = calculate_replicas(w, current, average);
    let direction = (replicas as f64 - current).signum();
    let missing = pods.len() - measured.len();
    if replicas as f64 == current || missing == 0 {
        return Ok(replicas);
    }
    let fill = if direction > 0.0 { 0.0 } else { 1.0 };
    let adjusted = (measured.iter().sum::<f64>() + fill * missing as f64) / current;
    let again = calculate_replicas(w, current, adjusted);
    Ok(if (again as f64 - current).signum() == direction { again } else { current as i32 })
}

/// Usage points of one container of one pod.
pub trait UsagePoints {
    fn points(&self, pod: &str, container: &str, resource: ResourceName) -> Vec<Point>;
}

/// The replicas one objective recommends for `pods` and the oldest point used.
pub fn recommend_objective(
    settings: &ObjectiveSettings,
    pods: &[(String, PodEntry)],
    usage: &dyn UsagePoints,
    now: Timestamp,
    stale: Duration,
) -> Result<(i32, Timestamp), String> {
    let (mut utilizations, mut oldest, mut any_points) = (Vec::with_capacity(pods.len()), None, false);
    for (name, pod) in pods {
        let mut totals = (0.0, 0.0);
        for c in pod.containers.iter().filter(|c| settings.container.as_deref().is_none_or(|n| *n == *c.name)) {
            let Some(request) = request(c, settings.resource) else { continue };
            totals.1 += request;
            let points = usage.points(name, &c.name, settings.resource);
            any_points |= !points.is_empty();
            if let Some((average, ts)) = container_average(&points, now, stale) {
                totals.0 += average;
                oldest = Some(oldest.map_or(ts, |o: Timestamp| o.min(ts)));
            }
        }
        let (usage, requests) = totals;
        utilizations.push((requests > 0.0 && usage > 0.0).then(|| usage / requests));
    }
    if !any_points {
        return Err("Issue fetching metrics data".into());
    }
    let replicas = recommend(settings.watermarks, &utilizations)?;
    Ok((replicas, oldest.unwrap_or(now)))
}

/// A container's request of `resource` in cores or bytes.
fn request(c: &ContainerResourceEntry, resource: ResourceName) -> Option<f64> {
    let text = match resource {
        ResourceName::Cpu => c.cpu_request.as_deref()?,
        ResourceName::Memory => c.memory_request.as_deref()?,
    };
    milli_value(text).ok().map(|m| m as f64 / 1000.0).filter(|r| *r > 0.0)
}
