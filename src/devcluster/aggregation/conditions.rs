//! The APIService `Available` condition with kube-aggregator's reasons and messages
//! (`AvailableConditionController.sync`), the checks made from the Service and Endpoints objects
//! before dialling, and `SetAPIServiceCondition`'s merge (lastTransitionTime moves only when the
//! status does).

use serde_json::{Value, json};

use super::ServiceRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl Condition {
    pub fn local() -> Self {
        Condition { status: "True", reason: "Local", message: "Local APIServices are always available".into() }
    }

    pub fn passed() -> Self {
        Condition { status: "True", reason: "Passed", message: "all checks passed".into() }
    }

    /// The probe failed: `message` is the last attempt's error.
    pub fn failed_discovery(message: String) -> Self {
        Condition { status: "False", reason: "FailedDiscoveryCheck", message }
    }

    fn unavailable(reason: &'static str, message: String) -> Self {
        Condition { status: "False", reason, message }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// What can be decided from the Service and its Endpoints before dialling: `Err` with the failing
/// condition. Only ClusterIP Services are checked for the port and ready endpoints, as upstream.
pub fn precheck(svc: &ServiceRef, service: Option<&Value>, endpoints: Option<&Value>) -> Result<(), Condition> {
    let (ns, name) = (&svc.namespace, &svc.name);
    let Some(service) = service else {
        return Err(Condition::unavailable("ServiceNotFound", format!("service/{name} in {ns:?} is not present")));
    };
    let kind = service["spec"]["type"].as_str().unwrap_or("ClusterIP");
    if kind != "ClusterIP" {
        return Ok(());
    }
    let port_name = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_i64() == Some(svc.port))
        .map(|p| p["name"].as_str().unwrap_or_default().to_string());
    let Some(port_name) = port_name else {
        let message = format!("service/{name} in {ns:?} is not listening on port {}", svc.port);
        return Err(Condition::unavailable("ServicePortError", message));
    };
    let Some(endpoints) = endpoints else {
        let message = format!("cannot find endpoints for service/{name} in {ns:?}");
        return Err(Condition::unavailable("EndpointsNotFound", message));
    };
    let active = endpoints["subsets"].as_array().into_iter().flatten().any(|subset| {
        subset["addresses"].as_array().is_some_and(|a| !a.is_empty())
            && subset["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"].as_str().unwrap_or_default() == port_name)
    });
    if !active {
        let message = format!("endpoints for service/{name} in {ns:?} have no addresses with port name {port_name:?}");
        return Err(Condition::unavailable("MissingEndpoints", message));
    }
    Ok(())
}

/// The `status.conditions` to write, or `None` when the Available condition already says this.
pub fn merge(conditions: &Value, next: &Condition, now: &str) -> Option<Value> {
    let mut list = conditions.as_array().cloned().unwrap_or_default();
    let Some(existing) = list.iter_mut().find(|c| c["type"] == "Available") else {
        list.push(json!({"type": "Available", "status": next.status, "lastTransitionTime": now,
            "reason": next.reason, "message": next.message}));
        return Some(Value::Array(list));
    };
    if existing["status"] == next.status && existing["reason"] == next.reason && existing["message"] == next.message {
        return None;
    }
    if existing["status"] != next.status {
        existing["status"] = json!(next.status);
        existing["lastTransitionTime"] = json!(now);
    }
    existing["reason"] = json!(next.reason);
    existing["message"] = json!(next.message);
    Some(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> ServiceRef {
        ServiceRef { namespace: "datadog".into(), name: "api".into(), port: 8443 }
    }

    fn cluster_ip() -> Value {
        json!({"spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 8443}]}})
    }

    #[test]
    fn kube_aggregator_messages() {
        let err = |s: Option<&Value>, e: Option<&Value>| precheck(&svc(), s, e).unwrap_err();
        assert_eq!(
            err(None, None),
            Condition {
                status: "False",
                reason: "ServiceNotFound",
                message: "service/api in \"datadog\" is not present".into()
            }
        );
        let other_port = json!({"spec": {"ports": [{"name": "https", "port": 443}]}});
        assert_eq!(err(Some(&other_port), None).message, "service/api in \"datadog\" is not listening on port 8443");
        assert_eq!(err(Some(&cluster_ip()), None).reason, "EndpointsNotFound");
        assert_eq!(err(Some(&cluster_ip()), None).message, "cannot find endpoints for service/api in \"datadog\"");
        let not_ready = json!({"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "https", "port": 8443}]}]});
        let missing = err(Some(&cluster_ip()), Some(&not_ready));
        assert_eq!(
            (missing.reason, missing.message.as_str()),
            ("MissingEndpoints", "endpoints for service/api in \"datadog\" have no addresses with port name \"https\"")
        );
        let ready =
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "https", "port": 8443}]}]});
        assert!(precheck(&svc(), Some(&cluster_ip()), Some(&ready)).is_ok());
        let external = json!({"spec": {"type": "ExternalName", "externalName": "localhost"}});
        assert!(precheck(&svc(), Some(&external), None).is_ok());
        assert_eq!(Condition::local().message, "Local APIServices are always available");
        assert_eq!((Condition::passed().reason, Condition::passed().message.as_str()), ("Passed", "all checks passed"));
    }

    #[test]
    fn merge_writes_only_changes_and_keeps_transition_time_while_status_holds() {
        let first = merge(&Value::Null, &Condition::failed_discovery("x".into()), "t1").unwrap();
        assert_eq!(first[0]["lastTransitionTime"], "t1");
        assert!(merge(&first, &Condition::failed_discovery("x".into()), "t2").is_none());
        let reworded = merge(&first, &Condition::failed_discovery("y".into()), "t2").unwrap();
        assert_eq!(
            (reworded[0]["message"].as_str(), reworded[0]["lastTransitionTime"].as_str()),
            (Some("y"), Some("t1"))
        );
        let flipped = merge(&reworded, &Condition::passed(), "t3").unwrap();
        assert_eq!(
            (flipped[0]["status"].as_str(), flipped[0]["lastTransitionTime"].as_str()),
            (Some("True"), Some("t3"))
        );
    }
}
