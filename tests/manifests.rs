//! The manifests in deploy/ and apiservice/ apply cleanly to a cluster, point at each other
//! consistently, and grant the server exactly what it needs: every action the spec
//! (/work/shared/spec/dca-behaviour.md) has it perform is allowed for its ServiceAccount by a
//! SubjectAccessReview, and a few things it must never do are denied.

use std::path::Path;
use std::time::Duration;

use autoscaling_apiserver::devcluster::{Config, DevCluster};
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhook, MutatingWebhookConfiguration};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::{Value, json};

const NS: &str = "datadog";
const SA: &str = "autoscaling-apiserver";
const HPA_CONTROLLER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";

/// (verb, group, resource[/subresource], namespace ("" = all namespaces or cluster scope), name).
type Row = (&'static str, &'static str, &'static str, &'static str, &'static str);

/// Every API action the server performs, with the spec section that makes it do so.
const SERVER_ACTIONS: &[Row] = &[
    // §2 leader election: the Lease is read, created if missing, renewed by the holder.
    ("get", "coordination.k8s.io", "leases", NS, "datadog-leader-election"),
    ("create", "coordination.k8s.io", "leases", NS, ""),
    ("update", "coordination.k8s.io", "leases", NS, "datadog-leader-election"),
    ("patch", "coordination.k8s.io", "leases", NS, "datadog-leader-election"),
    // §2 a ConfigMap named like the lock is always ensured (legacy ConfigMap lock).
    ("get", "", "configmaps", NS, "datadog-leader-election"),
    ("create", "", "configmaps", NS, ""),
    ("update", "", "configmaps", NS, "datadog-leader-election"),
    // §2 GetLeaderIP reads the Endpoints of the server's Service.
    ("get", "", "endpoints", NS, "autoscaling-apiserver"),
    // §3 cluster id: ConfigMap datadog-cluster-id in the own namespace, UID of kube-system.
    ("get", "", "configmaps", NS, "datadog-cluster-id"),
    ("update", "", "configmaps", NS, "datadog-cluster-id"),
    ("get", "", "namespaces", "", "kube-system"),
    // §5 delegated authn/authz of the aggregated API (system:auth-delegator) and the request-header
    // CA from kube-system/extension-apiserver-authentication (read by an informer on that name).
    ("create", "authentication.k8s.io", "tokenreviews", "", ""),
    ("create", "authorization.k8s.io", "subjectaccessreviews", "", ""),
    ("get", "", "configmaps", "kube-system", "extension-apiserver-authentication"),
    ("list", "", "configmaps", "kube-system", "extension-apiserver-authentication"),
    ("watch", "", "configmaps", "kube-system", "extension-apiserver-authentication"),
    // §7.5 DatadogMetric controller: informer on every namespace; leader updates objects and status.
    ("list", "datadoghq.com", "datadogmetrics", "", ""),
    ("watch", "datadoghq.com", "datadogmetrics", "", ""),
    ("get", "datadoghq.com", "datadogmetrics", "default", "web-rps"),
    ("update", "datadoghq.com", "datadogmetrics", "default", "web-rps"),
    ("patch", "datadoghq.com", "datadogmetrics", "default", "web-rps"),
    ("update", "datadoghq.com", "datadogmetrics/status", "default", "web-rps"),
    ("patch", "datadoghq.com", "datadogmetrics/status", "default", "web-rps"),
    // §7.3/§7.5 autogen DatadogMetrics are created and deleted in the resources namespace.
    ("create", "datadoghq.com", "datadogmetrics", NS, ""),
    ("delete", "datadoghq.com", "datadogmetrics", NS, "dcaautogen-0123456789abcdef"),
    // §7.6 AutoscalerWatcher and §9 AutoscalersController watch HPAs (and WPAs, §14).
    ("list", "autoscaling", "horizontalpodautoscalers", "", ""),
    ("watch", "autoscaling", "horizontalpodautoscalers", "", ""),
    ("list", "datadoghq.com", "watermarkpodautoscalers", "", ""),
    ("watch", "datadoghq.com", "watermarkpodautoscalers", "", ""),
    // §9 legacy store ConfigMap datadog-custom-metrics: read loop on every replica, leader writes.
    ("get", "", "configmaps", NS, "datadog-custom-metrics"),
    ("list", "", "configmaps", NS, ""),
    ("watch", "", "configmaps", NS, ""),
    ("update", "", "configmaps", NS, "datadog-custom-metrics"),
    // §10.4 DPA controller: informer, Remote DPAs created/updated/deleted, status written.
    ("list", "datadoghq.com", "datadogpodautoscalers", "", ""),
    ("watch", "datadoghq.com", "datadogpodautoscalers", "", ""),
    ("create", "datadoghq.com", "datadogpodautoscalers", "default", ""),
    ("update", "datadoghq.com", "datadogpodautoscalers", "default", "web"),
    ("delete", "datadoghq.com", "datadogpodautoscalers", "default", "web"),
    ("update", "datadoghq.com", "datadogpodautoscalers/status", "default", "web"),
    ("patch", "datadoghq.com", "datadogpodautoscalers/status", "default", "web"),
    // §10.13 cluster profiles (cluster-scoped): built-ins recreated, status written.
    ("list", "datadoghq.com", "datadogpodautoscalerclusterprofiles", "", ""),
    ("watch", "datadoghq.com", "datadogpodautoscalerclusterprofiles", "", ""),
    ("create", "datadoghq.com", "datadogpodautoscalerclusterprofiles", "", ""),
    ("update", "datadoghq.com", "datadogpodautoscalerclusterprofiles", "", "datadog-optimize-cost"),
    ("delete", "datadoghq.com", "datadogpodautoscalerclusterprofiles", "", "datadog-optimize-cost"),
    ("update", "datadoghq.com", "datadogpodautoscalerclusterprofiles/status", "", "datadog-optimize-cost"),
    // §10.7 horizontal: GET then UPDATE the scale subresource of the target.
    ("get", "apps", "deployments/scale", "default", "web"),
    ("update", "apps", "deployments/scale", "default", "web"),
    ("patch", "apps", "deployments/scale", "default", "web"),
    ("get", "apps", "statefulsets/scale", "default", "db"),
    ("update", "apps", "statefulsets/scale", "default", "db"),
    ("update", "apps", "replicasets/scale", "default", "web-5d4f8"),
    ("get", "argoproj.io", "rollouts/scale", "default", "web"),
    ("update", "argoproj.io", "rollouts/scale", "default", "web"),
    // §10.9 rollout trigger: strategic-merge patch of the pod template annotations.
    ("get", "apps", "deployments", "default", "web"),
    ("patch", "apps", "deployments", "default", "web"),
    ("patch", "apps", "statefulsets", "default", "db"),
    ("get", "argoproj.io", "rollouts", "default", "web"),
    ("patch", "argoproj.io", "rollouts", "default", "web"),
    // §10.9 rollout-in-progress detection; §10.10 owner resolution (ReplicaSet → Deployment/Rollout).
    ("list", "apps", "replicasets", "", ""),
    ("watch", "apps", "replicasets", "", ""),
    ("get", "apps", "replicasets", "default", "web-5d4f8"),
    // §10.13 profiles read workload and namespace labels.
    ("list", "apps", "deployments", "", ""),
    ("watch", "apps", "deployments", "", ""),
    ("list", "apps", "statefulsets", "", ""),
    ("watch", "apps", "statefulsets", "", ""),
    ("list", "argoproj.io", "rollouts", "", ""),
    ("list", "", "namespaces", "", ""),
    ("watch", "", "namespaces", "", ""),
    // §10.9/§10.14 pods of DPA targets (watched by label selector), rec-id annotation after a resize;
    // §10.10 pod watcher sets the autoscaling.datadoghq.com/event annotation.
    ("list", "", "pods", "", ""),
    ("watch", "", "pods", "", ""),
    ("get", "", "pods", "default", "web-5d4f8-abcde"),
    ("patch", "", "pods", "default", "web-5d4f8-abcde"),
    // §10.9 in-place resize and evictions of pods whose resize failed.
    ("patch", "", "pods/resize", "default", "web-5d4f8-abcde"),
    ("update", "", "pods/resize", "default", "web-5d4f8-abcde"),
    ("create", "", "pods/eviction", "default", "web-5d4f8-abcde"),
    // §10.13 HPA migration: merge-patch to neutralise, update to restore the original spec.
    ("get", "autoscaling", "horizontalpodautoscalers", "default", "web"),
    ("patch", "autoscaling", "horizontalpodautoscalers", "default", "web"),
    ("update", "autoscaling", "horizontalpodautoscalers", "default", "web"),
    // §10.11 the local fallback recommender reads pod usage from the resource metrics API.
    ("get", "metrics.k8s.io", "pods", "default", "web-5d4f8-abcde"),
    ("list", "metrics.k8s.io", "pods", "default", ""),
    ("list", "metrics.k8s.io", "pods", "", ""),
    // §10.7, §10.9, §10.10, §10.15 events (SuccessfulScale, RecommendationApplied, ...), both APIs.
    ("create", "", "events", "default", ""),
    ("patch", "", "events", "default", "web.17a2b3c4d5e6f789"),
    ("create", "events.k8s.io", "events", "default", ""),
    ("patch", "events.k8s.io", "events", "default", "web.17a2b3c4d5e6f789"),
];

/// Non-resource URLs the server reads: §10.9 discovery of `pods/resize` in core/v1; DESIGN.md §1
/// ServiceAccount JWTs verified against the issuer's JWKS.
const SERVER_URLS: &[&str] = &["/api/v1", "/apis", "/.well-known/openid-configuration", "/openid/v1/jwks"];

/// Things the server never does, so its ServiceAccount must not be able to.
const FORBIDDEN: &[Row] = &[
    // Certificates and API keys are mounted, never read through the API.
    ("list", "", "secrets", "", ""),
    ("get", "", "secrets", NS, "autoscaling-apiserver-tls"),
    // Workloads are scaled and annotated, never replaced, created or deleted.
    ("delete", "apps", "deployments", "default", "web"),
    ("create", "apps", "deployments", "default", ""),
    ("update", "apps", "deployments", "default", "web"),
    ("update", "apps", "deployments/status", "default", "web"),
    ("delete", "", "pods", "default", "web-5d4f8-abcde"),
    ("create", "", "pods", "default", ""),
    ("create", "", "pods/exec", "default", "web-5d4f8-abcde"),
    // Only autogen DatadogMetrics (own namespace) are created or deleted.
    ("create", "datadoghq.com", "datadogmetrics", "default", ""),
    ("delete", "datadoghq.com", "datadogmetrics", "default", "web-rps"),
    // ConfigMaps and Leases are written only in the own namespace.
    ("create", "", "configmaps", "default", ""),
    ("get", "", "configmaps", "kube-system", "kube-proxy"),
    ("update", "", "configmaps", "kube-system", "extension-apiserver-authentication"),
    ("update", "coordination.k8s.io", "leases", "kube-system", "kube-controller-manager"),
    // caBundle is filled at deploy time: no writes to admission or aggregation config.
    ("update", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", "autoscaling-apiserver"),
    ("update", "apiregistration.k8s.io", "apiservices", "", "v1beta1.external.metrics.k8s.io"),
    // No privilege escalation paths.
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""),
    ("create", "", "serviceaccounts/token", NS, SA),
    ("delete", "", "namespaces", "", "default"),
    ("list", "", "nodes", "", ""),
];

#[tokio::test]
async fn manifests_apply_and_grant_what_the_server_needs() {
    tokio::time::timeout(Duration::from_secs(120), run()).await.expect("test finishes within 120 s");
}

async fn run() {
    let dc = DevCluster::start(Config::default()).await.expect("devcluster starts");
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(dc.ca_pem());
    let mut applied = 0;
    for dir in ["deploy", "apiservice"] {
        for doc in manifests(dir, &ca_bundle) {
            apply(&dc, doc).await;
            applied += 1;
        }
    }
    assert!(applied >= 20, "only {applied} objects in deploy/ and apiservice/");

    check_apiservice(&dc).await;
    check_webhooks(&dc).await;
    check_workload(&dc).await;
    check_server_rbac(&dc).await;
    check_hpa_controller_rbac(&dc).await;
}

// ---- applying ------------------------------------------------------------------------------

/// The YAML documents of every .yaml file in `dir` (file name order, as `kubectl apply -f dir`),
/// with the deploy-time placeholders substituted.
fn manifests(dir: &str, ca_bundle: &str) -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files.iter().flat_map(|f| parse(f, ca_bundle)).collect()
}

fn parse(file: &Path, ca_bundle: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let text = text.replace("${CA_BUNDLE}", ca_bundle).replace("${CLUSTER_NAME}", "test-cluster");
    assert!(!text.contains("${"), "{} has a placeholder README.md does not document", file.display());
    let docs = serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Creates one object through discovery + the dynamic API, as `kubectl create` does.
async fn apply(dc: &DevCluster, doc: Value) {
    let client = dc.client().await.expect("admin client");
    let (group, version) = match doc["apiVersion"].as_str().expect("apiVersion").split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), doc["apiVersion"].as_str().unwrap().to_string()),
    };
    let kind = doc["kind"].as_str().expect("kind").to_string();
    let name = doc["metadata"]["name"].as_str().expect("metadata.name").to_string();
    let (ar, caps) = pinned_kind(&client, &GroupVersionKind::gvk(&group, &version, &kind))
        .await
        .unwrap_or_else(|e| panic!("{kind} {group}/{version} is not served: {e}"));
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str();
            let ns = ns.unwrap_or_else(|| panic!("{kind} {name} has no metadata.namespace"));
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    let obj: DynamicObject = serde_json::from_value(doc).expect("object");
    api.create(&PostParams::default(), &obj).await.unwrap_or_else(|e| panic!("create {kind} {name}: {e}"));
    if kind == "CustomResourceDefinition" {
        wait_established(client, &name).await;
    }
}

async fn wait_established(client: kube::Client, name: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let established = kube::runtime::wait::conditions::is_crd_established();
    tokio::time::timeout(Duration::from_secs(10), kube::runtime::wait::await_condition(crds, name, established))
        .await
        .unwrap_or_else(|_| panic!("CRD {name} established within 10 s"))
        .expect("await CRD");
}

// ---- what the manifests say ------------------------------------------------------------------

async fn check_apiservice(dc: &DevCluster) {
    let client = dc.client().await.unwrap();
    let svc: APIService = Api::all(client).get("v1beta1.external.metrics.k8s.io").await.expect("APIService");
    let spec = svc.spec.expect("spec");
    assert_eq!(spec.group.as_deref(), Some("external.metrics.k8s.io"));
    assert_eq!(spec.version.as_deref(), Some("v1beta1"));
    assert_eq!((spec.group_priority_minimum, spec.version_priority), (100, 100));
    assert_eq!(spec.insecure_skip_tls_verify, None, "TLS to the server must be verified");
    let ca = spec.ca_bundle.expect("caBundle");
    assert_eq!(String::from_utf8(ca.0).unwrap(), dc.ca_pem(), "caBundle is the PEM CA");
    let target = spec.service.expect("service");
    assert_eq!((target.namespace.as_deref(), target.name.as_deref()), (Some(NS), Some("autoscaling-apiserver")));
    assert_eq!(target.port, Some(8443));
    assert_service_port(dc, "autoscaling-apiserver", 8443).await;
}

async fn check_webhooks(dc: &DevCluster) {
    let client = dc.client().await.unwrap();
    let cfg: MutatingWebhookConfiguration =
        Api::all(client).get("autoscaling-apiserver").await.expect("MutatingWebhookConfiguration");
    let hooks = cfg.webhooks.expect("webhooks");
    let pods = hook(&hooks, "/autoscaling");
    let rule = &pods.rules.as_ref().expect("rules")[0];
    assert_eq!(rule.resources.as_deref(), Some(&["pods".to_string()][..]));
    assert_eq!(rule.operations.as_deref(), Some(&["CREATE".to_string()][..]));
    let ns_rule = &pods.namespace_selector.as_ref().unwrap().match_expressions.as_ref().unwrap()[0];
    assert_eq!((ns_rule.key.as_str(), ns_rule.operator.as_str()), ("kubernetes.io/metadata.name", "NotIn"));
    let excluded = ns_rule.values.clone().unwrap_or_default();
    assert!(excluded.contains(&"kube-system".into()) && excluded.contains(&NS.into()), "{excluded:?}");
    let condition = &pods.match_conditions.as_ref().expect("matchConditions")[0];
    assert_eq!(condition.expression, "has(object.metadata.ownerReferences)");
    let hpa = hook(&hooks, "/hpa-autoscaling");
    let rule = &hpa.rules.as_ref().expect("rules")[0];
    assert_eq!(rule.resources.as_deref(), Some(&["horizontalpodautoscalers".to_string()][..]));
    assert_eq!(rule.operations.as_deref(), Some(&["UPDATE".to_string()][..]));
    for h in [pods, hpa] {
        assert_eq!(h.timeout_seconds, Some(5), "{}", h.name);
        assert_eq!(h.failure_policy.as_deref(), Some("Ignore"), "{}", h.name);
        assert_eq!(h.side_effects, "None", "{}", h.name);
        assert_eq!(h.admission_review_versions, ["v1"], "{}", h.name);
        let ca = h.client_config.ca_bundle.as_ref().expect("caBundle");
        assert_eq!(std::str::from_utf8(&ca.0).unwrap(), dc.ca_pem(), "{}", h.name);
        let target = h.client_config.service.as_ref().expect("service");
        assert_eq!(
            (target.namespace.as_str(), target.name.as_str(), target.port),
            (NS, "autoscaling-apiserver", Some(8443))
        );
    }
}

fn hook<'a>(hooks: &'a [MutatingWebhook], path: &str) -> &'a MutatingWebhook {
    hooks
        .iter()
        .find(|h| h.client_config.service.as_ref().and_then(|s| s.path.as_deref()) == Some(path))
        .unwrap_or_else(|| panic!("no webhook for {path}"))
}

/// The Service resolves to the Deployment's pods on a container port that exists.
async fn assert_service_port(dc: &DevCluster, name: &str, port: i32) {
    let client = dc.client().await.unwrap();
    let svc: Service = Api::namespaced(client.clone(), NS).get(name).await.expect("Service");
    let spec = svc.spec.expect("spec");
    let sp = spec.ports.unwrap_or_default().into_iter().find(|p| p.port == port);
    let sp = sp.unwrap_or_else(|| panic!("Service {name} has no port {port}"));
    let deploy: Deployment = Api::namespaced(client, NS).get("autoscaling-apiserver").await.expect("Deployment");
    let template = deploy.spec.expect("spec").template;
    let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
    for (k, v) in spec.selector.unwrap_or_default() {
        assert_eq!(labels.get(&k), Some(&v), "Service {name} selector {k}={v} misses the pods");
    }
    let target = sp.target_port.expect("targetPort");
    let ports = template.spec.unwrap().containers[0].ports.clone().unwrap_or_default();
    let found = ports.iter().any(|p| match &target {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(n) => p.name.as_ref() == Some(n),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => p.container_port == *n,
    });
    assert!(found, "Service {name} targetPort {target:?} is not a container port of the server");
}

async fn check_workload(dc: &DevCluster) {
    let client = dc.client().await.unwrap();
    assert_service_port(dc, "autoscaling-apiserver-metrics", 5000).await;
    let deploy: Deployment = Api::namespaced(client.clone(), NS).get("autoscaling-apiserver").await.unwrap();
    let spec = deploy.spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(SA));
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap_or_default().join(" ");
    for flag in [
        "serve",
        "--secure-port 8443",
        "--metrics-port 5000",
        "--config /etc/datadog/datadog.yaml",
        "--tls-cert-file /etc/autoscaling-apiserver/certs/tls.crt",
        "--tls-private-key-file /etc/autoscaling-apiserver/certs/tls.key",
    ] {
        assert!(args.contains(flag), "args {args:?} lack {flag:?}");
    }
    let mount = c.volume_mounts.iter().flatten().find(|m| m.mount_path == "/etc/autoscaling-apiserver/certs");
    let volume = pod.volumes.iter().flatten().find(|v| Some(&v.name) == mount.map(|m| &m.name)).expect("cert volume");
    assert_eq!(volume.secret.as_ref().and_then(|s| s.secret_name.as_deref()), Some("autoscaling-apiserver-tls"));
    let ready = c.readiness_probe.as_ref().and_then(|p| p.http_get.as_ref()).expect("readiness httpGet");
    assert_eq!((ready.path.as_deref(), ready.scheme.as_deref()), (Some("/readyz"), Some("HTTPS")));
    let live = c.liveness_probe.as_ref().and_then(|p| p.http_get.as_ref()).expect("liveness httpGet");
    assert_eq!(live.path.as_deref(), Some("/livez"));
    let sc = c.security_context.as_ref().expect("securityContext");
    assert_eq!((sc.read_only_root_filesystem, sc.run_as_non_root), (Some(true), Some(true)));
    let env: Vec<_> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
    for name in ["DD_API_KEY", "DD_APP_KEY", "DD_POD_NAME", "DD_POD_NAMESPACE"] {
        assert!(env.contains(&name), "env lacks {name}: {env:?}");
    }
    let pdb: PodDisruptionBudget = Api::namespaced(client, NS).get("autoscaling-apiserver").await.expect("PDB");
    let pdb = pdb.spec.unwrap();
    assert_eq!(pdb.selector.and_then(|s| s.match_labels), spec.selector.match_labels, "PDB selects the server");
}

// ---- RBAC -----------------------------------------------------------------------------------

async fn check_server_rbac(dc: &DevCluster) {
    let user = format!("system:serviceaccount:{NS}:{SA}");
    let groups = ["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{NS}")];
    let mut wrong = Vec::new();
    for row in SERVER_ACTIONS {
        if !allowed(dc, &user, &groups, resource_attributes(row)).await {
            wrong.push(format!("denied but needed: {row:?}"));
        }
    }
    for url in SERVER_URLS {
        if !allowed(dc, &user, &groups, json!({"nonResourceAttributes": {"verb": "get", "path": url}})).await {
            wrong.push(format!("denied but needed: GET {url}"));
        }
    }
    for row in FORBIDDEN {
        if allowed(dc, &user, &groups, resource_attributes(row)).await {
            wrong.push(format!("allowed but never needed: {row:?}"));
        }
    }
    assert!(wrong.is_empty(), "RBAC of {user}:\n{}", wrong.join("\n"));
}

/// kube-apiserver authorizes `list` on resource <metric name> before proxying the HPA's read
/// (reference/k8s-traffic/README.md, 5). Only the HPA controller gets it, not every ServiceAccount.
async fn check_hpa_controller_rbac(dc: &DevCluster) {
    let read =
        |verb| resource_attributes(&(verb, "external.metrics.k8s.io", "datadogmetric@default:web-rps", "default", ""));
    let hpa_groups = ["system:serviceaccounts".to_string(), "system:serviceaccounts:kube-system".to_string()];
    for verb in ["list", "get"] {
        assert!(allowed(dc, HPA_CONTROLLER, &hpa_groups, read(verb)).await, "{HPA_CONTROLLER} may {verb} the metric");
    }
    let other = "system:serviceaccount:default:hpa-reader";
    let other_groups = ["system:serviceaccounts".to_string(), "system:serviceaccounts:default".to_string()];
    assert!(!allowed(dc, other, &other_groups, read("list")).await, "only the HPA controller reads external metrics");
}

fn resource_attributes(&(verb, group, resource, namespace, name): &Row) -> Value {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    json!({"resourceAttributes": {
        "verb": verb, "group": group, "resource": resource, "subresource": subresource,
        "namespace": namespace, "name": name,
    }})
}

/// Posts a SubjectAccessReview (as the admin) for `user`, who is also system:authenticated.
async fn allowed(dc: &DevCluster, user: &str, groups: &[String], attributes: Value) -> bool {
    let mut spec = attributes;
    let mut all_groups = groups.to_vec();
    all_groups.push("system:authenticated".into());
    spec["user"] = json!(user);
    spec["groups"] = json!(all_groups);
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
    let resp = http(dc)
        .post(format!("{}/apis/authorization.k8s.io/v1/subjectaccessreviews", dc.url()))
        .bearer_auth(dc.admin_token())
        .json(&review)
        .send()
        .await
        .expect("SubjectAccessReview sent");
    assert_eq!(resp.status().as_u16(), 201, "SubjectAccessReview {review}");
    let body: Value = resp.json().await.expect("SubjectAccessReview body");
    body["status"]["allowed"].as_bool().unwrap_or_else(|| panic!("no status.allowed in {body}"))
}

fn http(dc: &DevCluster) -> reqwest::Client {
    // One process-wide ring provider; already installed is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(dc.ca_pem().as_bytes()).expect("CA");
    reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(20)).build().expect("client")
}
