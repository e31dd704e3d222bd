//! kubectl's default columns for the kinds `dev` mode shows most: HorizontalPodAutoscalers
//! (REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS), ReplicaSets, StatefulSets and APIServices.

use serde_json::{Value, json};

use super::{Cells, age_column, column, name_column};

fn created(o: &Value) -> Value {
    json!(super::age(o["metadata"]["creationTimestamp"].as_str().unwrap_or_default()))
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub fn for_resource(group: &str, plural: &str) -> Option<(Vec<Value>, Cells)> {
    Some(match (group, plural) {
        ("autoscaling", "horizontalpodautoscalers") => (
            vec![
                name_column(),
                column("Reference", "string", "", "", 0),
                column("Targets", "string", "", "", 0),
                column("MinPods", "string", "", "", 0),
                column("MaxPods", "string", "", "", 0),
                column("Replicas", "string", "", "", 0),
                age_column(),
            ],
            Box::new(|o| {
                let r = &o["spec"]["scaleTargetRef"];
                let min = o["spec"]["minReplicas"].as_i64().map_or("<unset>".to_string(), |m| m.to_string());
                vec![
                    o["metadata"]["name"].clone(),
                    json!(format!("{}/{}", r["kind"].as_str().unwrap_or(""), r["name"].as_str().unwrap_or(""))),
                    json!(hpa_targets(o)),
                    json!(min),
                    json!(int(&o["spec"]["maxReplicas"]).to_string()),
                    json!(int(&o["status"]["currentReplicas"]).to_string()),
                    created(o),
                ]
            }),
        ),
        ("apps", "replicasets") => (
            vec![
                name_column(),
                column("Desired", "integer", "", "", 0),
                column("Current", "integer", "", "", 0),
                column("Ready", "integer", "", "", 0),
                age_column(),
            ],
            Box::new(|o| {
                vec![
                    o["metadata"]["name"].clone(),
                    json!(int(&o["spec"]["replicas"])),
                    json!(int(&o["status"]["replicas"])),
                    json!(int(&o["status"]["readyReplicas"])),
                    created(o),
                ]
            }),
        ),
        ("apps", "statefulsets") => (
            vec![name_column(), column("Ready", "string", "", "", 0), age_column()],
            Box::new(|o| {
                let ready = format!("{}/{}", int(&o["status"]["readyReplicas"]), int(&o["spec"]["replicas"]));
                vec![o["metadata"]["name"].clone(), json!(ready), created(o)]
            }),
        ),
        ("apiregistration.k8s.io", "apiservices") => (
            vec![
                name_column(),
                column("Service", "string", "", "", 0),
                column("Available", "string", "", "", 0),
                age_column(),
            ],
            Box::new(|o| {
                let svc = &o["spec"]["service"];
                let service = match (svc["namespace"].as_str(), svc["name"].as_str()) {
                    (Some(ns), Some(name)) => format!("{ns}/{name}"),
                    _ => "Local".to_string(),
                };
                vec![o["metadata"]["name"].clone(), json!(service), json!(apiservice_available(o)), created(o)]
            }),
        ),
        _ => return None,
    })
}

/// `True`, or `False (Reason)`, or `Unknown` — as kubectl prints the Available condition.
fn apiservice_available(o: &Value) -> String {
    let cond = o["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Available");
    match cond {
        None => "Unknown".into(),
        Some(c) if c["status"] == "True" => "True".into(),
        Some(c) => format!("{} ({})", c["status"].as_str().unwrap_or("Unknown"), c["reason"].as_str().unwrap_or("")),
    }
}

/// kubectl's TARGETS cell: `current/target` per metric (`(avg)` for AverageValue), `<unknown>` when
/// no current value is reported; autoscaling/v1 objects show their CPU utilisation target.
fn hpa_targets(o: &Value) -> String {
    let spec = &o["spec"];
    if let Some(target) = spec["targetCPUUtilizationPercentage"].as_i64() {
        let current = o["status"]["currentCPUUtilizationPercentage"]
            .as_i64()
            .map_or("<unknown>".to_string(), |c| format!("{c}%"));
        return format!("cpu: {current}/{target}%");
    }
    let metrics = spec["metrics"].as_array().cloned().unwrap_or_default();
    if metrics.is_empty() {
        return "<none>".into();
    }
    let currents = o["status"]["currentMetrics"].as_array().cloned().unwrap_or_default();
    let cells: Vec<String> = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let kind = m["type"].as_str().unwrap_or("");
            let key = lower_first(kind);
            let source = &m[key.as_str()];
            let target = &source["target"];
            let current = currents.get(i).map(|c| &c[key.as_str()]["current"]);
            let pick = |field: &str| current.and_then(|c| c[field].as_str().map(str::to_string)).map(Some);
            match target["type"].as_str().unwrap_or("") {
                "Utilization" => {
                    let cur = current
                        .and_then(|c| c["averageUtilization"].as_i64())
                        .map_or("<unknown>".to_string(), |v| format!("{v}%"));
                    let res = source["name"].as_str().unwrap_or("");
                    format!("{res}: {cur}/{}%", int(&target["averageUtilization"]))
                }
                "AverageValue" => format!(
                    "{}/{} (avg)",
                    pick("averageValue").flatten().unwrap_or_else(|| "<unknown>".into()),
                    quantity(&target["averageValue"])
                ),
                _ => format!(
                    "{}/{}",
                    pick("value").flatten().unwrap_or_else(|| "<unknown>".into()),
                    quantity(&target["value"])
                ),
            }
        })
        .collect();
    cells.join(", ")
}

fn quantity(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<unset>".into(),
        other => other.to_string(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_targets_print_like_kubectl() {
        let hpa = json!({"spec": {"metrics": [
            {"type": "External", "external": {"metric": {"name": "m"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
        ]}, "status": {"currentMetrics": [
            {"type": "External", "external": {"metric": {"name": "m"}, "current": {"averageValue": "10500m"}}},
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}
        ]}});
        assert_eq!(hpa_targets(&hpa), "10500m/10 (avg), cpu: 50%/80%");
        let unknown = json!({"spec": {"metrics": [
            {"type": "External", "external": {"metric": {"name": "m"}, "target": {"type": "Value", "value": "3"}}}]}});
        assert_eq!(hpa_targets(&unknown), "<unknown>/3");
        let v1 = json!({"spec": {"targetCPUUtilizationPercentage": 70}});
        assert_eq!(hpa_targets(&v1), "cpu: <unknown>/70%");
    }

    #[test]
    fn apiservice_availability_cell() {
        assert_eq!(apiservice_available(&json!({})), "Unknown");
        let down = json!({"status": {"conditions": [{"type": "Available", "status": "False", "reason": "FailedDiscoveryCheck"}]}});
        assert_eq!(apiservice_available(&down), "False (FailedDiscoveryCheck)");
    }
}
