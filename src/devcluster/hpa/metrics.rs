//! One metric of an HPA → a replica proposal and its `currentMetrics` entry, or the reason and
//! error text kube-controller-manager reports (`computeReplicasForMetric` and the
//! `computeStatusFor*Metric` functions, with their error wrapping).
//!
//! Resource metrics (cpu, memory) come from a per-pod annotation, since devcluster runs no
//! containers: `devcluster.autoscaling/usage-<resource>: <Quantity>` is the pod's current usage
//! (e.g. `devcluster.autoscaling/usage-cpu: 250m`); pods without it have no metric (as when
//! metrics-server has no sample yet). Requests come from the pod spec.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::super::selector::LabelSelector;
use super::api::HpaApi;
use super::calc::{self, PodView, ResourceInput, ResourceTarget, Sample, Tolerances};
use super::render::go_label_selector;
use crate::apimachinery::quantity::milli_value;

/// Prefix of the per-pod usage annotation that stands in for metrics-server.
pub const USAGE_ANNOTATION_PREFIX: &str = "devcluster.autoscaling/usage-";

/// What a metric proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub replicas: i32,
    /// `metricNameProposal`, e.g. `external metric m(&LabelSelector{...})`.
    pub name: String,
    /// The `currentMetrics` entry.
    pub status: Value,
}

/// A metric that could not be computed: ScalingActive=False with `reason`, a Warning Event
/// `reason` with `event`, and `error` for the FailedComputeMetricsReplicas text.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub reason: String,
    pub event: String,
    pub error: String,
}

impl Failure {
    /// The ScalingActive condition message.
    pub fn condition_message(&self) -> String {
        format!("the HPA was unable to compute the replica count: {}", self.event)
    }
}

/// Everything a metric computation reads besides the metric spec.
pub struct MetricContext<'a, A: HpaApi> {
    pub api: &'a A,
    pub namespace: &'a str,
    pub spec_replicas: i32,
    pub status_replicas: i32,
    pub pod_selector: &'a LabelSelector,
    pub tolerances: Tolerances,
    pub now: OffsetDateTime,
}

fn milli_quantity(milli: i64) -> String {
    crate::server::format_quantity(milli as f64 / 1000.0)
}

fn target_milli(target: &Value, key: &str) -> Option<Result<i64, String>> {
    match &target[key] {
        Value::String(s) => Some(milli_value(s).map_err(|e| e.to_string())),
        Value::Number(n) => Some(n.as_f64().map(|f| (f * 1000.0).ceil() as i64).ok_or_else(|| format!("bad {key}"))),
        _ => None,
    }
}

pub async fn compute<A: HpaApi>(ctx: &MetricContext<'_, A>, spec: &Value) -> Result<Proposal, Failure> {
    match spec["type"].as_str().unwrap_or_default() {
        "External" => external(ctx, &spec["external"]).await,
        "Resource" => resource(ctx, &spec["resource"]),
        other @ ("Pods" | "Object" | "ContainerResource") => {
            let e = format!("{other} metrics are not simulated by devcluster's HPA controller");
            let reason = format!("FailedGet{other}Metric");
            Err(Failure {
                reason,
                event: e.clone(),
                error: format!("failed to get {} metric value: {e}", other.to_lowercase()),
            })
        }
        other => {
            let e = format!("unknown metric source type {}", crate::apimachinery::gofmt::quote(other));
            Err(Failure { reason: "InvalidMetricSourceType".into(), event: e.clone(), error: e })
        }
    }
}

async fn external<A: HpaApi>(ctx: &MetricContext<'_, A>, source: &Value) -> Result<Proposal, Failure> {
    let name = source["metric"]["name"].as_str().unwrap_or_default();
    let selector_json = source["metric"].get("selector").filter(|s| !s.is_null());
    let fail = |event: String, error: String| Failure { reason: "FailedGetExternalMetric".into(), event, error };
    let outer = |e: &str| format!("failed to get {name} external metric value: {e}");
    let rendered = go_label_selector(selector_json);
    let identity = json!({"name": name, "selector": selector_json});
    let identity = strip_null(identity);
    let target = &source["target"];
    let fetch = async || -> Result<i64, String> {
        let sel = LabelSelector::from_json(selector_json.unwrap_or(&Value::Null)).map_err(|e| e.to_string())?;
        let values = ctx.api.external_metric(ctx.namespace, name, &sel.to_string()).await.map_err(|e| {
            format!(
                "unable to get external metric {}/{name}/{rendered}: unable to fetch metrics from external metrics API: {e}",
                ctx.namespace
            )
        })?;
        if values.is_empty() {
            return Err(format!(
                "unable to get external metric {}/{name}/{rendered}: no metrics returned from external metrics API",
                ctx.namespace
            ));
        }
        Ok(calc::sum(&values))
    };
    if let Some(avg) = target_milli(target, "averageValue") {
        let inner = |e: String| fail(e.clone(), outer(&format!("failed to get {name} external metric: {e}")));
        let per_pod_target = avg.map_err(inner)?;
        let usage = fetch().await.map_err(inner)?;
        let (replicas, per_pod) = calc::per_pod_replicas(usage, per_pod_target, ctx.status_replicas, ctx.tolerances);
        let status = json!({"type": "External", "external": {"metric": identity, "current": {"averageValue": milli_quantity(per_pod)}}});
        return Ok(Proposal { replicas, name: format!("external metric {name}({rendered})"), status });
    }
    if let Some(value) = target_milli(target, "value") {
        let inner = |e: String| fail(e.clone(), outer(&format!("failed to get external metric {name}: {e}")));
        let target_value = value.map_err(inner)?;
        let usage = fetch().await.map_err(inner)?;
        let ratio = usage as f64 / target_value as f64;
        let ready = || ready_pods(ctx);
        let replicas = calc::usage_ratio_replicas(ctx.spec_replicas, ratio, ctx.tolerances, ready).map_err(inner)?;
        let status =
            json!({"type": "External", "external": {"metric": identity, "current": {"value": milli_quantity(usage)}}});
        return Ok(Proposal { replicas, name: format!("external metric {name}({rendered})"), status });
    }
    let e = "invalid external metric source: neither a value target nor an average value target was set".to_string();
    Err(fail(e.clone(), outer(&e)))
}

fn strip_null(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v
}

fn ready_pods<A: HpaApi>(ctx: &MetricContext<'_, A>) -> Result<i64, String> {
    let pods = ctx.api.pods(ctx.namespace, ctx.pod_selector);
    if pods.is_empty() {
        return Err(calc::NO_PODS.into());
    }
    Ok(pods.iter().map(PodView::from_json).filter(PodView::is_running_and_ready).count() as i64)
}

fn resource<A: HpaApi>(ctx: &MetricContext<'_, A>, source: &Value) -> Result<Proposal, Failure> {
    let res = source["name"].as_str().unwrap_or_default();
    let target = &source["target"];
    let fail = |e: String| Failure {
        reason: "FailedGetResourceMetric".into(),
        event: e.clone(),
        error: format!("failed to get {res} resource metric value: {e}"),
    };
    let (kind, wrap) = if let Some(avg) = target_milli(target, "averageValue") {
        (ResourceTarget::AverageValue(avg.map_err(fail)?), "usage")
    } else if let Some(util) = target["averageUtilization"].as_i64() {
        (ResourceTarget::Utilization(i32::try_from(util).unwrap_or(i32::MAX)), "utilization")
    } else {
        let e = "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set";
        return Err(fail(e.into()));
    };
    let pods = ctx.api.pods(ctx.namespace, ctx.pod_selector);
    let samples = usage_samples(&pods, res, ctx.now).map_err(|e| fail(format!("failed to get {res} {wrap}: {e}")))?;
    let views: Vec<PodView> = pods.iter().map(PodView::from_json).collect();
    let input = ResourceInput {
        pods: &views,
        samples: &samples,
        cpu: res == "cpu",
        now: ctx.now,
        current: ctx.spec_replicas,
        tol: ctx.tolerances,
    };
    let (replicas, utilization, raw) = calc::resource_replicas(&input, kind, || calc::pod_requests(&pods, res))
        .map_err(|e| fail(format!("failed to get {res} {wrap}: {e}")))?;
    let (current, name) = match utilization {
        Some(u) => (
            json!({"averageValue": milli_quantity(raw), "averageUtilization": u}),
            format!("{res} resource utilization (percentage of request)"),
        ),
        None => (json!({"averageValue": milli_quantity(raw)}), format!("{res} resource")),
    };
    let status = json!({"type": "Resource", "resource": {"name": res, "current": current}});
    Ok(Proposal { replicas, name, status })
}

/// The usage annotation of each pod that has one, as a metrics-server sample taken now.
fn usage_samples(pods: &[Value], res: &str, now: OffsetDateTime) -> Result<BTreeMap<String, Sample>, String> {
    let key = format!("{USAGE_ANNOTATION_PREFIX}{res}");
    let mut out = BTreeMap::new();
    for pod in pods {
        let Some(q) = pod["metadata"]["annotations"][&key].as_str() else { continue };
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let value = milli_value(q)
            .map_err(|e| format!("unable to get metrics for resource {res}: pod {name} annotation {key}={}: {e}", q))?;
        out.insert(name.to_string(), Sample { value, timestamp: now, window: std::time::Duration::ZERO });
    }
    if out.is_empty() {
        return Err(format!("unable to get metrics for resource {res}: no metrics returned from resource metrics API"));
    }
    Ok(out)
}
