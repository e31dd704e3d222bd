//! Built-in defaulting (the `SetDefaults_*` functions kube-apiserver runs on every decode) and the
//! pod-creation admission plugins that add fields (ServiceAccount, DefaultTolerationSeconds,
//! Priority), so objects read back look like a real cluster's.

use serde_json::{Map, Value, json};

/// Sets `obj[key] = value` when absent or null.
fn default(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut()
        && m.get(key).is_none_or(Value::is_null)
    {
        m.insert(key.to_string(), value);
    }
}

pub fn apply(group: &str, version: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("", "Pod") => pod_spec(&mut obj["spec"]),
        ("apps", "Deployment") => deployment(obj),
        ("apps", "ReplicaSet") => {
            default(&mut obj["spec"], "replicas", json!(1));
            template(obj);
        }
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => template(obj),
        ("", "Service") => service(&mut obj["spec"]),
        ("", "Namespace") => namespace(obj),
        ("autoscaling", "HorizontalPodAutoscaler") if version == "v2" => hpa(&mut obj["spec"]),
        ("autoscaling", "HorizontalPodAutoscaler") => default(&mut obj["spec"], "minReplicas", json!(1)),
        _ => {}
    }
}

/// `SetDefaults_Namespace`: the finalizer, and the immutable label `kubernetes.io/metadata.name`
/// set to the name (on every write, as kube-apiserver does), which namespaceSelectors rely on.
fn namespace(obj: &mut Value) {
    default(&mut obj["spec"], "finalizers", json!(["kubernetes"]));
    let Some(name) = obj["metadata"]["name"].as_str().filter(|n| !n.is_empty()).map(str::to_owned) else {
        return;
    };
    if !obj["metadata"]["labels"].is_object() {
        obj["metadata"]["labels"] = json!({});
    }
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
}

/// What admission plugins add to a new pod.
pub fn admit_new_pod(pod: &mut Value) {
    let spec = &mut pod["spec"];
    default(spec, "serviceAccountName", json!("default"));
    let sa = spec["serviceAccountName"].clone();
    default(spec, "serviceAccount", sa);
    default(spec, "priority", json!(0));
    let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let mut added = tolerations.clone();
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        if !tolerations.iter().any(|t| t["key"] == key) {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    spec["tolerations"] = Value::Array(added);
}

fn template(obj: &mut Value) {
    if obj["spec"]["template"].is_object() {
        pod_spec(&mut obj["spec"]["template"]["spec"]);
    }
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "enableServiceLinks", json!(true));
    default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    for list in ["containers", "initContainers"] {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            container(c);
        }
    }
}

fn container(c: &mut Value) {
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    default(c, "resources", json!({}));
    let image = c["image"].as_str().unwrap_or_default();
    let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, t)| t);
    let always = !image.contains('@') && matches!(tag, None | Some("latest"));
    default(c, "imagePullPolicy", json!(if always { "Always" } else { "IfNotPresent" }));
    for p in c["ports"].as_array_mut().into_iter().flatten() {
        default(p, "protocol", json!("TCP"));
    }
}

fn deployment(obj: &mut Value) {
    let spec = &mut obj["spec"];
    default(spec, "replicas", json!(1));
    default(spec, "strategy", json!({"type": "RollingUpdate"}));
    if spec["strategy"]["type"] == "RollingUpdate" {
        default(&mut spec["strategy"], "rollingUpdate", json!({}));
        default(&mut spec["strategy"]["rollingUpdate"], "maxUnavailable", json!("25%"));
        default(&mut spec["strategy"]["rollingUpdate"], "maxSurge", json!("25%"));
    }
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
    template(obj);
}

fn stateful_set(obj: &mut Value) {
    let spec = &mut obj["spec"];
    default(spec, "replicas", json!(1));
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    default(spec, "updateStrategy", json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "persistentVolumeClaimRetentionPolicy", json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    template(obj);
}

fn service(spec: &mut Value) {
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    if spec["type"] != "ExternalName" {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    for p in spec["ports"].as_array_mut().into_iter().flatten() {
        default(p, "protocol", json!("TCP"));
        let port = p["port"].clone();
        default(p, "targetPort", port);
    }
}

fn hpa(spec: &mut Value) {
    default(spec, "minReplicas", json!(1));
    if spec["metrics"].as_array().is_none_or(Vec::is_empty) && spec.is_object() {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
    let Some(behavior) = spec.get_mut("behavior").filter(|b| b.is_object()) else { return };
    let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]});
    let down = json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]});
    for (key, defaults) in [("scaleUp", up), ("scaleDown", down)] {
        default(behavior, key, json!({}));
        if let Value::Object(d) = defaults {
            fill(&mut behavior[key], d);
        }
    }
}

fn fill(target: &mut Value, defaults: Map<String, Value>) {
    for (k, v) in defaults {
        default(target, &k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_get_kube_defaults_and_admission_fields() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "r/app:1.2"}]}});
        apply("", "v1", "Pod", &mut pod);
        admit_new_pod(&mut pod);
        let s = &pod["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(s["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(s["containers"][0]["resources"], json!({}));
        assert_eq!(s["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(s["serviceAccountName"], "default");
        assert_eq!(s["tolerations"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn namespaces_get_the_finalizer_and_their_name_label() {
        let mut ns = json!({"metadata": {"name": "shop", "labels": {"team": "a", "kubernetes.io/metadata.name": "x"}}, "spec": {}});
        apply("", "v1", "Namespace", &mut ns);
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["metadata"]["labels"], json!({"team": "a", "kubernetes.io/metadata.name": "shop"}));
        let mut bare = json!({"metadata": {"name": "web"}});
        apply("", "v1", "Namespace", &mut bare);
        assert_eq!(bare["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "web"}));
    }

    #[test]
    fn deployments_get_strategy_and_limits() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}});
        apply("apps", "v1", "Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn hpa_behavior_defaults_only_when_behavior_is_set() {
        let mut h = json!({"spec": {"maxReplicas": 3}});
        apply("autoscaling", "v2", "HorizontalPodAutoscaler", &mut h);
        assert_eq!(h["spec"]["minReplicas"], 1);
        assert!(h["spec"].get("behavior").is_none());
        let mut h = json!({"spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        apply("autoscaling", "v2", "HorizontalPodAutoscaler", &mut h);
        assert_eq!(h["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 60);
        assert_eq!(h["spec"]["behavior"]["scaleUp"]["policies"][0]["value"], 4);
    }
}
