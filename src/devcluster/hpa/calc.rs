//! kube-controller-manager's replica calculator (`replica_calculator.go`, `metrics/utilization.go`)
//! as pure functions over values already fetched: usage ratios, tolerance, ready/unready/missing
//! pods and the conservative fill-ins for missing and unready pods.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::apimachinery::quantity::milli_value;

/// kube-controller-manager's `--horizontal-pod-autoscaler-cpu-initialization-period` default.
pub const CPU_INITIALIZATION_PERIOD: Duration = Duration::from_secs(300);
/// `--horizontal-pod-autoscaler-initial-readiness-delay` default.
pub const INITIAL_READINESS_DELAY: Duration = Duration::from_secs(30);
/// `--horizontal-pod-autoscaler-tolerance` default.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

pub const NO_PODS: &str = "no pods returned by selector while calculating replica count";

/// Scale-up and scale-down tolerances (`behavior.*.tolerance`, else the controller's 10 %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    pub down: f64,
    pub up: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances { down: DEFAULT_TOLERANCE, up: DEFAULT_TOLERANCE }
    }
}

impl Tolerances {
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

fn ceil_i32(v: f64) -> i32 {
    if v > f64::from(i32::MAX) { i32::MAX } else { v.ceil() as i32 }
}

/// Sum of metric values, saturating like kube's overflow guards.
pub fn sum(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |acc, v| acc.saturating_add(*v))
}

/// `getUsageRatioReplicaCount`: ratio × ready pods, or the current count within tolerance.
pub fn usage_ratio_replicas(
    current: i32,
    ratio: f64,
    tol: Tolerances,
    ready_pods: impl FnOnce() -> Result<i64, String>,
) -> Result<i32, String> {
    if current == 0 {
        return Ok(ceil_i32(ratio));
    }
    if tol.is_within(ratio) {
        return Ok(current);
    }
    let ready = ready_pods().map_err(|e| format!("unable to calculate ready pods: {e}"))?;
    Ok(ceil_i32(ratio * ready as f64))
}

/// `GetExternalPerPodMetricReplicas` / `GetObjectPerPodMetricReplicas` arithmetic: the proposal
/// and the per-pod usage reported in status. With no replicas in status kube divides by zero; here
/// the total is reported instead.
pub fn per_pod_replicas(usage: i64, target_per_pod: i64, status_replicas: i32, tol: Tolerances) -> (i32, i64) {
    let ratio = usage as f64 / (target_per_pod as f64 * f64::from(status_replicas));
    let replicas = if tol.is_within(ratio) { status_replicas } else { ceil_i32(usage as f64 / target_per_pod as f64) };
    let per_pod = if status_replicas == 0 { usage } else { (usage as f64 / f64::from(status_replicas)).ceil() as i64 };
    (replicas, per_pod)
}

/// The pod facts the calculator looks at.
#[derive(Debug, Clone)]
pub struct PodView {
    pub name: String,
    pub deleting: bool,
    pub phase: String,
    /// Ready condition: (status True, lastTransitionTime).
    pub ready: Option<(bool, Option<OffsetDateTime>)>,
    pub start_time: Option<OffsetDateTime>,
}

fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

impl PodView {
    pub fn from_json(pod: &Value) -> PodView {
        let ready = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready")
            .map(|c| (c["status"] == "True", parse_time(&c["lastTransitionTime"])));
        PodView {
            name: pod["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            deleting: pod["metadata"]["deletionTimestamp"].is_string(),
            phase: pod["status"]["phase"].as_str().unwrap_or_default().to_string(),
            ready,
            start_time: parse_time(&pod["status"]["startTime"]),
        }
    }

    /// `pod.Status.Phase == Running && IsPodReady(pod)`.
    pub fn is_running_and_ready(&self) -> bool {
        self.phase == "Running" && matches!(self.ready, Some((true, _)))
    }
}

/// `groupPods`: ready count, unready, missing (no metric) and ignored (deleting/failed) pods.
#[derive(Debug, Default)]
pub struct Groups {
    pub ready: usize,
    pub unready: BTreeSet<String>,
    pub missing: BTreeSet<String>,
    pub ignored: BTreeSet<String>,
}

/// A metric sample of a pod: value (milli) and when it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub value: i64,
    pub timestamp: OffsetDateTime,
    pub window: Duration,
}

pub fn group_pods(pods: &[PodView], metrics: &BTreeMap<String, Sample>, cpu: bool, now: OffsetDateTime) -> Groups {
    let mut g = Groups::default();
    for pod in pods {
        if pod.deleting || pod.phase == "Failed" {
            g.ignored.insert(pod.name.clone());
            continue;
        }
        if pod.phase == "Pending" {
            g.unready.insert(pod.name.clone());
            continue;
        }
        let Some(sample) = metrics.get(&pod.name) else {
            g.missing.insert(pod.name.clone());
            continue;
        };
        if cpu && cpu_unready(pod, sample, now) {
            g.unready.insert(pod.name.clone());
            continue;
        }
        g.ready += 1;
    }
    g
}

fn cpu_unready(pod: &PodView, sample: &Sample, now: OffsetDateTime) -> bool {
    let (Some((ready, transition)), Some(start)) = (pod.ready, pod.start_time) else { return true };
    let transition = transition.unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if start + CPU_INITIALIZATION_PERIOD > now {
        !ready || sample.timestamp < transition + sample.window
    } else {
        !ready && start + INITIAL_READINESS_DELAY > transition
    }
}

/// `GetResourceUtilizationRatio`: (ratio, utilization %, raw average milli-value).
fn utilization_ratio(
    metrics: &BTreeMap<String, i64>,
    requests: &BTreeMap<String, i64>,
    target: i32,
) -> Result<(f64, i32, i64), String> {
    let (mut total, mut requested, mut n) = (0i64, 0i64, 0i64);
    for (pod, value) in metrics {
        let Some(request) = requests.get(pod) else { continue };
        total = total.saturating_add(*value);
        requested = requested.saturating_add(*request);
        n += 1;
    }
    if requested == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = i32::try_from(total.saturating_mul(100) / requested).unwrap_or(i32::MAX);
    Ok((f64::from(utilization) / f64::from(target), utilization, total / n))
}

/// `GetMetricUsageRatio`: (ratio, average milli-value).
fn usage_ratio(metrics: &BTreeMap<String, i64>, target: i64) -> (f64, i64) {
    let total = metrics.values().fold(0i64, |a, v| a.saturating_add(*v));
    let average = total / metrics.len().max(1) as i64;
    (average as f64 / target as f64, average)
}

/// What a resource-metric computation needs.
pub struct ResourceInput<'a> {
    pub pods: &'a [PodView],
    pub samples: &'a BTreeMap<String, Sample>,
    pub cpu: bool,
    pub now: OffsetDateTime,
    pub current: i32,
    pub tol: Tolerances,
}

/// Target of a resource metric: percentage of request, or an average value (milli).
#[derive(Debug, Clone, Copy)]
pub enum ResourceTarget {
    Utilization(i32),
    AverageValue(i64),
}

/// `GetResourceReplicas` (utilization) and `calcPlainMetricReplicas` (average value): returns the
/// proposal, the utilization % (utilization targets only) and the raw average.
pub fn resource_replicas(
    input: &ResourceInput<'_>,
    target: ResourceTarget,
    requests: impl FnOnce() -> Result<BTreeMap<String, i64>, String>,
) -> Result<(i32, Option<i32>, i64), String> {
    if input.pods.is_empty() {
        return Err(NO_PODS.into());
    }
    let g = group_pods(input.pods, input.samples, input.cpu, input.now);
    let mut metrics: BTreeMap<String, i64> = input
        .samples
        .iter()
        .filter(|(name, _)| !g.ignored.contains(*name) && !g.unready.contains(*name))
        .filter(|(name, _)| input.pods.iter().any(|p| &p.name == *name))
        .map(|(name, s)| (name.clone(), s.value))
        .collect();
    if metrics.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let requests = match target {
        ResourceTarget::Utilization(_) => requests()?,
        ResourceTarget::AverageValue(_) => BTreeMap::new(),
    };
    let ratio_of = |m: &BTreeMap<String, i64>| -> Result<(f64, Option<i32>, i64), String> {
        match target {
            ResourceTarget::Utilization(t) => utilization_ratio(m, &requests, t).map(|(r, u, raw)| (r, Some(u), raw)),
            ResourceTarget::AverageValue(t) => Ok({
                let (r, avg) = usage_ratio(m, t);
                (r, None, avg)
            }),
        }
    };
    let (ratio, utilization, raw) = ratio_of(&metrics)?;
    let current = input.current;
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if input.tol.is_within(ratio) {
            return Ok((current, utilization, raw));
        }
        return Ok((ceil_i32(ratio * g.ready as f64), utilization, raw));
    }
    if !g.missing.is_empty() {
        for pod in &g.missing {
            let fill = match target {
                _ if ratio > 1.0 => 0,
                ResourceTarget::Utilization(t) => requests.get(pod).copied().unwrap_or(0) * i64::from(t.max(100)) / 100,
                ResourceTarget::AverageValue(t) => t,
            };
            if ratio != 1.0 {
                metrics.insert(pod.clone(), fill);
            }
        }
    }
    if scale_up_with_unready {
        for pod in &g.unready {
            metrics.insert(pod.clone(), 0);
        }
    }
    let (new_ratio, _, _) = ratio_of(&metrics)?;
    if input.tol.is_within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return Ok((current, utilization, raw));
    }
    let proposal = ceil_i32(new_ratio * metrics.len() as f64);
    if (new_ratio < 1.0 && proposal > current) || (new_ratio > 1.0 && proposal < current) {
        return Ok((current, utilization, raw));
    }
    Ok((proposal, utilization, raw))
}

/// Per-pod requests of `resource` (milli): pod-level `spec.resources.requests` when set, else the
/// sum over containers and restartable init containers (`calculateRequests`).
pub fn pod_requests(pods: &[Value], resource: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let pod_level = &pod["spec"]["resources"]["requests"];
        let request = if pod_level.as_object().is_some_and(|m| m.contains_key("cpu") || m.contains_key("memory")) {
            let q = pod_level[resource]
                .as_str()
                .ok_or_else(|| format!("missing pod-level request for {resource} in Pod {name}"))?;
            milli_value(q).map_err(|e| e.to_string())?
        } else {
            container_requests(pod, name, resource)?
        };
        out.insert(name.to_string(), request);
    }
    Ok(out)
}

fn container_requests(pod: &Value, name: &str, resource: &str) -> Result<i64, String> {
    let sidecars =
        pod["spec"]["initContainers"].as_array().into_iter().flatten().filter(|c| c["restartPolicy"] == "Always");
    let mut total = 0i64;
    for c in pod["spec"]["containers"].as_array().into_iter().flatten().chain(sidecars) {
        let container = c["name"].as_str().unwrap_or_default();
        let q = c["resources"]["requests"][resource]
            .as_str()
            .ok_or_else(|| format!("missing request for {resource} in container {container} of Pod {name}"))?;
        total = total.saturating_add(milli_value(q).map_err(|e| e.to_string())?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
