//! Mutating admission webhooks: a test webhook (HTTPS with its own CA, reached through an
//! ExternalName `localhost` Service or a URL) records the AdmissionReviews devcluster sends and
//! answers per test; the outcomes are compared with kube-apiserver's.

mod deployment;
mod hook_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use autoscaling_apiserver::devcluster::DevCluster;
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{raw, start};
use hook_server::{Answer, HookServer, Responder, allow, patch};

const PODS: &str = "/api/v1/namespaces/default/pods";

async fn post(dc: &DevCluster, path: &str, body: &Value) -> (u16, Value) {
    raw(dc, Method::POST, path, "application/json", body.to_string()).await
}

/// A Service `name` of type ExternalName `localhost` in `default`, as a local backend is registered.
async fn external_name_service(dc: &DevCluster, name: &str, port: u16) {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port, "name": "https"}]}});
    let (code, body) = post(dc, "/api/v1/namespaces/default/services", &svc).await;
    assert_eq!(code, 201, "{body}");
}

/// A webhook on pod CREATE served at `path` through Service `hook` (fields in `extra` override).
fn webhook(name: &str, hook: &HookServer, path: &str, extra: Value) -> Value {
    let mut w = json!({
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "clientConfig": {"service": {"namespace": "default", "name": "hook", "path": path, "port": hook.addr.port()},
                         "caBundle": hook.ca_bundle()},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        w[k] = v;
    }
    w
}

async fn register(dc: &DevCluster, name: &str, webhooks: Vec<Value>) {
    let cfg = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name}, "webhooks": webhooks});
    let (code, body) = post(dc, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", &cfg).await;
    assert_eq!(code, 201, "{body}");
}

/// A cluster with a webhook server behind Service `default/hook`.
async fn setup(responder: Responder) -> (DevCluster, HookServer) {
    let dc = start().await;
    let hook = HookServer::start("hook", "default", responder).await;
    external_name_service(&dc, "hook", hook.addr.port()).await;
    (dc, hook)
}

fn responder(f: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> Responder {
    Arc::new(f)
}

fn bare_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
}

/// A ReplicaSet `web-85cb8d69c5` (0 replicas) to own pods, as the ReplicaSet controller's pods are owned.
async fn replica_set(dc: &DevCluster) -> Value {
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-85cb8d69c5"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "85cb8d69c5"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let (code, body) = post(dc, "/apis/apps/v1/namespaces/default/replicasets", &rs).await;
    assert_eq!(code, 201, "{body}");
    body
}

/// A pod as the ReplicaSet controller creates it: generateName and a controller ownerReference.
fn owned_pod(rs: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "web-85cb8d69c5-", "labels": {"app": "web", "pod-template-hash": "85cb8d69c5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                "uid": rs["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}]}})
}

fn controller_owned() -> Value {
    json!([{"name": "controller-owned",
        "expression": "has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, r.controller == true)"}])
}

/// The first request of the recording from a real kube-apiserver v1.36.
fn reference_review() -> Value {
    let path = format!(
        "{}/../shared/reference/k8s-traffic/requests-from-kube-apiserver-v1.36.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn replicaset_pod_is_patched_and_the_review_has_kube_apiservers_shape() {
    let (dc, hook) = setup(responder(|_| {
        patch(json!([{"op": "add", "path": "/metadata/annotations", "value": {"autoscaling.datadoghq.com/mutated": "yes"}}]))
    }))
    .await;
    let extra = json!({"timeoutSeconds": 5, "failurePolicy": "Ignore", "matchConditions": controller_owned(),
        "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]}});
    register(&dc, "autoscaling", vec![webhook("autoscaling.datadoghq.com", &hook, "/autoscaling", extra)]).await;
    let rs = replica_set(&dc).await;

    let (code, pod) = post(&dc, PODS, &owned_pod(&rs)).await;
    assert_eq!(code, 201, "{pod}");
    assert_eq!(pod["metadata"]["annotations"]["autoscaling.datadoghq.com/mutated"], "yes");
    assert!(pod["metadata"]["name"].as_str().unwrap().starts_with("web-85cb8d69c5-"));
    // A bare pod is filtered out by the match condition: never sent.
    let (code, bare) = post(&dc, PODS, &bare_pod("bare")).await;
    assert_eq!(code, 201, "{bare}");
    assert!(bare["metadata"]["annotations"].is_null());

    let calls = hook.recorded();
    assert_eq!(calls.len(), 1, "only the owned pod is sent: {calls:?}");
    let call = &calls[0];
    let reference = reference_review();
    assert_eq!(call.path, "/autoscaling?timeout=5s");
    assert_eq!(call.path, reference["path"]);
    assert_eq!(call.header("user-agent"), Some("kube-apiserver-admission"));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(call.header("accept"), Some("application/json, */*"));
    assert!(!call.client_cert, "kube-apiserver presents no client certificate to webhooks");
    let (req, want) = (call.request(), &reference["body"]["request"]);
    assert_eq!(keys(&call.body), keys(&reference["body"]));
    assert_eq!(call.body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(keys(req), keys(want), "request fields and their order");
    for field in [
        "kind",
        "resource",
        "requestKind",
        "requestResource",
        "namespace",
        "operation",
        "oldObject",
        "dryRun",
        "options",
    ] {
        assert_eq!(req[field], want[field], "{field}");
    }
    assert!(uuid::Uuid::parse_str(req["uid"].as_str().unwrap()).is_ok());
    assert_eq!(
        keys(&req["object"]["metadata"]),
        keys(&want["object"]["metadata"]),
        "generateName, no name, no uid yet"
    );
    assert_eq!(req["object"]["metadata"]["ownerReferences"][0]["uid"], rs["metadata"]["uid"]);
    assert_eq!(req["object"]["metadata"]["managedFields"][0]["operation"], "Update");
    assert_eq!(req["object"]["spec"]["tolerations"], want["object"]["spec"]["tolerations"]);
    assert_eq!(req["object"]["spec"]["containers"][0]["terminationMessagePath"], "/dev/termination-log");
    let groups: Vec<&str> = req["userInfo"]["groups"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(groups.contains(&"system:masters") && groups.contains(&"system:authenticated"), "{groups:?}");
    dc.shutdown().await;
}

#[tokio::test]
async fn webhook_registered_by_url_is_called_and_warnings_reach_the_client() {
    let hook = HookServer::start(
        "unused",
        "default",
        responder(|_| Answer::Review(json!({"allowed": true, "warnings": ["pod has no requests"]}))),
    )
    .await;
    let dc = start().await;
    let mut w = webhook("url.example.com", &hook, "/x", json!({}));
    w["clientConfig"] =
        json!({"url": format!("https://127.0.0.1:{}/by-url", hook.addr.port()), "caBundle": hook.ca_bundle()});
    register(&dc, "by-url", vec![w]).await;

    let resp = super::support::http(&dc)
        .post(format!("{}{PODS}", dc.url()))
        .bearer_auth(dc.admin_token())
        .header("content-type", "application/json")
        .body(bare_pod("warned").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let warnings: Vec<&str> = resp.headers().get_all("warning").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(warnings, [r#"299 - "pod has no requests""#]);
    assert_eq!(hook.calls_to("/by-url").len(), 1);

    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(kubeconfig.path(), dc.kubeconfig_yaml()).unwrap();
    let out = tokio::process::Command::new("kubectl")
        .args(["run", "by-kubectl", "--image=nginx", "--restart=Never"])
        .env("KUBECONFIG", kubeconfig.path())
        .env("HOME", kubeconfig.path().parent().unwrap())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out).await.expect("kubectl finishes").unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Warning: pod has no requests"), "{stderr}");
    dc.shutdown().await;
}

#[tokio::test]
async fn denial_is_a_status_with_the_webhooks_message_and_code() {
    let (dc, hook) = setup(responder(|review| {
        let name = review["request"]["object"]["metadata"]["name"].as_str().unwrap_or_default().to_string();
        match name.as_str() {
            "forbidden" => Answer::Review(json!({"allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": "pods named forbidden are not allowed"}})),
            _ => Answer::Review(json!({"allowed": false})),
        }
    }))
    .await;
    register(&dc, "deny", vec![webhook("deny.example.com", &hook, "/deny", json!({}))]).await;
    let (code, status) = post(&dc, PODS, &bare_pod("forbidden")).await;
    assert_eq!(code, 403, "{status}");
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(
        status["message"],
        r#"admission webhook "deny.example.com" denied the request: pods named forbidden are not allowed"#
    );
    let (code, status) = post(&dc, PODS, &bare_pod("other")).await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["message"], r#"admission webhook "deny.example.com" denied the request without explanation"#);
    let (code, _) = super::support::get(&dc, &format!("{PODS}/other")).await;
    assert_eq!(code, 404, "a denied pod is not stored");
    dc.shutdown().await;
}

#[tokio::test]
async fn slow_webhook_is_skipped_with_ignore_within_its_timeout_and_fails_the_request_with_fail() {
    let (dc, hook) = setup(responder(|_| Answer::Slow(Duration::from_secs(4), Box::new(allow())))).await;
    let ignore =
        webhook("ignore.example.com", &hook, "/slow-ignore", json!({"timeoutSeconds": 1, "failurePolicy": "Ignore"}));
    register(&dc, "slow-ignore", vec![ignore]).await;
    let started = Instant::now();
    let (code, body) = post(&dc, PODS, &bare_pod("ignored")).await;
    assert_eq!(code, 201, "{body}");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for the webhook's timeout");
    assert!(started.elapsed() < Duration::from_secs(4), "did not wait for the answer: {:?}", started.elapsed());
    assert_eq!(hook.calls_to("/slow-ignore").len(), 1);

    let fail = webhook("fail.example.com", &hook, "/slow-fail", json!({"timeoutSeconds": 1}));
    register(&dc, "slow-fail", vec![fail]).await;
    let (code, status) = post(&dc, PODS, &bare_pod("failed")).await;
    assert_eq!(code, 500, "{status}");
    assert_eq!(status["reason"], "InternalError");
    let port = hook.addr.port();
    assert_eq!(
        status["message"],
        format!(
            r#"Internal error occurred: failed calling webhook "fail.example.com": failed to call webhook: Post "https://hook.default.svc:{port}/slow-fail?timeout=1s": context deadline exceeded"#
        )
    );
    let (code, _) = super::support::get(&dc, &format!("{PODS}/failed")).await;
    assert_eq!(code, 404);
    dc.shutdown().await;
}

#[tokio::test]
async fn unreachable_webhook_follows_failure_policy() {
    let dc = start().await;
    let hook = HookServer::start("hook", "default", responder(|_| allow())).await;
    // A Service that does not exist, and one pointing at a closed port.
    let mut missing = webhook("missing.example.com", &hook, "/m", json!({"failurePolicy": "Ignore"}));
    missing["clientConfig"]["service"]["name"] = json!("nowhere");
    register(&dc, "a-missing", vec![missing]).await;
    let (code, body) = post(&dc, PODS, &bare_pod("p1")).await;
    assert_eq!(code, 201, "{body}");
    let mut closed = webhook("closed.example.com", &hook, "/c", json!({}));
    closed["clientConfig"]["service"]["name"] = json!("closed");
    closed["clientConfig"]["service"]["port"] = json!(1);
    external_name_service(&dc, "closed", 1).await;
    register(&dc, "b-closed", vec![closed]).await;
    let (code, status) = post(&dc, PODS, &bare_pod("p2")).await;
    assert_eq!(code, 500, "{status}");
    let msg = status["message"].as_str().unwrap();
    assert!(msg.starts_with(r#"Internal error occurred: failed calling webhook "closed.example.com": failed to call webhook: Post "https://closed.default.svc:1/c?timeout=10s": "#), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    dc.shutdown().await;
}

#[tokio::test]
async fn bad_answers_fail_like_kube_apiserver() {
    let (dc, hook) =
        setup(responder(|review| match review["request"]["object"]["metadata"]["name"].as_str().unwrap_or_default() {
            "garbage" => Answer::Raw(200, "this is not json".into()),
            "merge" => Answer::Review(json!({"allowed": true, "patchType": "MergePatch", "patch": "eyJhIjoxfQ=="})),
            "invalid" => patch(json!([{"op": "replace", "path": "/metadata/name", "value": "Not_A_Name"}])),
            "server-error" => Answer::Raw(500, "boom".into()),
            _ => allow(),
        }))
        .await;
    register(&dc, "bad", vec![webhook("bad.example.com", &hook, "/bad", json!({}))]).await;

    let (code, status) = post(&dc, PODS, &bare_pod("garbage")).await;
    assert_eq!(code, 500, "{status}");
    let msg = status["message"].as_str().unwrap();
    assert!(msg.starts_with(r#"Internal error occurred: failed calling webhook "bad.example.com": failed to call webhook: couldn't get version/kind; json parse error: "#), "{msg}");

    let (code, status) = post(&dc, PODS, &bare_pod("merge")).await;
    assert_eq!(code, 500, "{status}");
    assert_eq!(
        status["message"],
        r#"Internal error occurred: failed calling webhook "bad.example.com": received invalid webhook response: invalid response.patchType "MergePatch""#
    );

    let (code, status) = post(&dc, PODS, &bare_pod("server-error")).await;
    assert_eq!(code, 500, "{status}");
    assert!(
        status["message"].as_str().unwrap().ends_with(
            r#"failed to call webhook: an error on the server ("boom") has prevented the request from succeeding"#
        ),
        "{status}"
    );

    // The patched object is validated as any other: the normal 422.
    let (code, status) = post(&dc, PODS, &bare_pod("invalid")).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with(r#"Pod "Not_A_Name" is invalid: metadata.name: Invalid value: "Not_A_Name""#),
        "{status}"
    );

    // With Ignore, an unusable answer is skipped.
    let (code, _) = raw(
        &dc,
        Method::DELETE,
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/bad",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 200);
    register(&dc, "bad-ignored", vec![webhook("bad.example.com", &hook, "/bad", json!({"failurePolicy": "Ignore"}))])
        .await;
    for name in ["garbage", "merge", "server-error"] {
        let (code, body) = post(&dc, PODS, &bare_pod(name)).await;
        assert_eq!(code, 201, "{name}: {body}");
    }
    dc.shutdown().await;
}

#[tokio::test]
async fn namespace_and_object_selectors_choose_the_requests() {
    let (dc, hook) = setup(responder(|_| allow())).await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"team": "a"}}});
    assert_eq!(post(&dc, "/api/v1/namespaces", &ns).await.0, 201);
    let by_ns = webhook("ns.example.com", &hook, "/ns", json!({"namespaceSelector": {"matchLabels": {"team": "a"}}}));
    let by_obj =
        webhook("obj.example.com", &hook, "/obj", json!({"objectSelector": {"matchLabels": {"inject": "yes"}}}));
    register(&dc, "selectors", vec![by_ns, by_obj]).await;

    assert_eq!(post(&dc, "/api/v1/namespaces/team-a/pods", &bare_pod("in-team-a")).await.0, 201);
    assert_eq!(post(&dc, PODS, &bare_pod("in-default")).await.0, 201);
    let mut labelled = bare_pod("labelled");
    labelled["metadata"]["labels"]["inject"] = json!("yes");
    assert_eq!(post(&dc, PODS, &labelled).await.0, 201);

    let names = |path: &str| -> Vec<String> {
        hook.calls_to(path)
            .iter()
            .map(|c| c.request()["object"]["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("/ns"), ["in-team-a"]);
    assert_eq!(names("/obj"), ["labelled"]);
    // The Namespace object itself is judged by its own labels.
    let mut ns_rule =
        webhook("nsobj.example.com", &hook, "/nsobj", json!({"namespaceSelector": {"matchLabels": {"team": "b"}}}));
    ns_rule["rules"][0]["resources"] = json!(["namespaces"]);
    register(&dc, "namespaces", vec![ns_rule]).await;
    let team_b =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b", "labels": {"team": "b"}}});
    assert_eq!(post(&dc, "/api/v1/namespaces", &team_b).await.0, 201);
    let calls = hook.calls_to("/nsobj");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].request()["namespace"], "team-b");
    assert_eq!(calls[0].request()["name"], "team-b");
    dc.shutdown().await;
}

fn config_map_rule(ops: Value) -> Value {
    json!([{"operations": ops, "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}])
}

#[tokio::test]
async fn update_patch_and_delete_carry_the_old_object() {
    let (dc, hook) = setup(responder(|review| {
        if review["request"]["operation"] == "DELETE" {
            return allow();
        }
        patch(json!([{"op": "add", "path": "/metadata/labels", "value": {"seen": "yes"}}]))
    }))
    .await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "1"}});
    assert_eq!(post(&dc, cms, &cm).await.0, 201);
    let w = webhook("cm.example.com", &hook, "/cm", json!({"rules": config_map_rule(json!(["UPDATE", "DELETE"]))}));
    register(&dc, "cm", vec![w]).await;

    let (code, patched) =
        raw(&dc, Method::PATCH, &format!("{cms}/cfg"), "application/merge-patch+json", r#"{"data":{"k":"2"}}"#).await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["metadata"]["labels"]["seen"], "yes");
    assert_eq!(patched["data"]["k"], "2");
    let calls = hook.calls_to("/cm");
    let req = calls[0].request();
    assert_eq!(req["operation"], "UPDATE");
    assert_eq!(req["name"], "cfg");
    assert_eq!((req["object"]["data"]["k"].as_str(), req["oldObject"]["data"]["k"].as_str()), (Some("2"), Some("1")));
    assert_eq!(req["options"], json!({"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1"}));

    let mut put = patched.clone();
    put["data"]["k"] = json!("3");
    put["metadata"]["labels"] = json!({});
    let (code, updated) = raw(&dc, Method::PUT, &format!("{cms}/cfg"), "application/json", put.to_string()).await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["metadata"]["labels"]["seen"], "yes");
    // The webhooks saw the resourceVersion that was then stored over.
    let req = hook.calls_to("/cm")[1].request().clone();
    assert_eq!(req["oldObject"]["metadata"]["resourceVersion"], patched["metadata"]["resourceVersion"]);

    let (code, _) = raw(&dc, Method::DELETE, &format!("{cms}/cfg"), "application/json", "").await;
    assert_eq!(code, 200);
    let calls = hook.calls_to("/cm");
    let req = calls[2].request();
    assert_eq!(req["operation"], "DELETE");
    assert!(req["object"].is_null());
    assert_eq!(req["oldObject"]["data"]["k"], "3");
    assert_eq!(req["options"]["kind"], "DeleteOptions");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_pinned_resource_version_that_moved_is_a_conflict() {
    let (dc, hook) = setup(responder(|_| allow())).await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "1"}});
    let (_, created) = post(&dc, cms, &cm).await;
    register(
        &dc,
        "cm",
        vec![webhook("cm.example.com", &hook, "/cm", json!({"rules": config_map_rule(json!(["UPDATE"]))}))],
    )
    .await;
    let mut first = created.clone();
    first["data"]["k"] = json!("2");
    assert_eq!(raw(&dc, Method::PUT, &format!("{cms}/cfg"), "application/json", first.to_string()).await.0, 200);
    let mut stale = created.clone();
    stale["data"]["k"] = json!("3");
    let (code, status) = raw(&dc, Method::PUT, &format!("{cms}/cfg"), "application/json", stale.to_string()).await;
    assert_eq!(code, 409, "{status}");
    assert_eq!(hook.calls_to("/cm").len(), 1, "a stale pinned update fails before admission");
    dc.shutdown().await;
}

#[tokio::test]
async fn reinvocation_if_needed_calls_an_earlier_webhook_once_more() {
    let (dc, hook) = setup(responder(|review| {
        let annotations = &review["request"]["object"]["metadata"]["annotations"];
        match review["request"]["resource"]["resource"].as_str() {
            _ if annotations.is_null() => {
                patch(json!([{"op": "add", "path": "/metadata/annotations", "value": {"first": "1"}}]))
            }
            _ if annotations["second"].is_null() => {
                patch(json!([{"op": "add", "path": "/metadata/annotations/second", "value": "1"}]))
            }
            _ => allow(),
        }
    }))
    .await;
    let first = webhook("first.example.com", &hook, "/first", json!({"reinvocationPolicy": "IfNeeded"}));
    let second = webhook("second.example.com", &hook, "/second", json!({"reinvocationPolicy": "IfNeeded"}));
    // Configurations run in name order.
    register(&dc, "b-second", vec![second]).await;
    register(&dc, "a-first", vec![first]).await;
    let (code, pod) = post(&dc, PODS, &bare_pod("reinvoked")).await;
    assert_eq!(code, 201, "{pod}");
    assert_eq!(pod["metadata"]["annotations"], json!({"first": "1", "second": "1"}));
    let first_calls = hook.calls_to("/first");
    assert_eq!(first_calls.len(), 2, "reinvoked once after the second webhook changed the object");
    assert_eq!(first_calls[1].request()["object"]["metadata"]["annotations"]["second"], "1");
    assert_eq!(hook.calls_to("/second").len(), 1, "its own change does not reinvoke it");
    dc.shutdown().await;
}

#[tokio::test]
async fn equivalent_match_policy_calls_with_the_rules_version() {
    let (dc, hook) = setup(responder(|_| allow())).await;
    let rules = json!([{"operations": ["CREATE"], "apiGroups": ["autoscaling"], "apiVersions": ["v1"], "resources": ["horizontalpodautoscalers"]}]);
    let eq = webhook("eq.example.com", &hook, "/eq", json!({"rules": rules}));
    let exact = webhook("exact.example.com", &hook, "/exact", json!({"rules": rules, "matchPolicy": "Exact"}));
    register(&dc, "hpa", vec![eq, exact]).await;
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}});
    let (code, body) = post(&dc, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", &hpa).await;
    assert_eq!(code, 201, "{body}");
    let calls = hook.calls_to("/eq");
    assert_eq!(calls.len(), 1);
    let req = calls[0].request();
    assert_eq!(req["kind"], json!({"group": "autoscaling", "version": "v1", "kind": "HorizontalPodAutoscaler"}));
    assert_eq!(req["requestKind"], json!({"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"}));
    assert_eq!(req["resource"]["version"], "v1");
    assert_eq!(req["object"]["apiVersion"], "autoscaling/v1");
    assert_eq!(req["object"]["spec"]["targetCPUUtilizationPercentage"], 60);
    assert!(hook.calls_to("/exact").is_empty());
    dc.shutdown().await;
}

#[tokio::test]
async fn scale_subresource_is_admitted_as_a_scale() {
    let (dc, hook) =
        setup(responder(|_| patch(json!([{"op": "replace", "path": "/spec/replicas", "value": 5}])))).await;
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    assert_eq!(post(&dc, "/apis/apps/v1/namespaces/default/deployments", &deploy).await.0, 201);
    let rules = json!([{"operations": ["UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments/scale"]}]);
    register(&dc, "scale", vec![webhook("scale.example.com", &hook, "/scale", json!({"rules": rules}))]).await;
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    let (code, scale) =
        raw(&dc, Method::PATCH, path, "application/merge-patch+json", r#"{"spec":{"replicas":3}}"#).await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["spec"]["replicas"], 5, "the webhook's patch wins");
    let req = hook.calls_to("/scale")[0].request().clone();
    assert_eq!(req["kind"], json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}));
    assert_eq!(req["subResource"], "scale");
    assert_eq!(
        (req["object"]["spec"]["replicas"].as_i64(), req["oldObject"]["spec"]["replicas"].as_i64()),
        (Some(3), Some(1))
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn configurations_are_validated_when_written() {
    let dc = start().await;
    let hook = HookServer::start("hook", "default", responder(|_| allow())).await;
    let mut unknown = webhook("unknown.example.com", &hook, "/u", json!({"sideEffects": "Unknown"}));
    unknown["matchConditions"] = json!([{"name": "bad", "expression": "object.metadata.labels.exists(k,"}]);
    let cfg = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "invalid"}, "webhooks": [unknown]});
    let (code, status) = post(&dc, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", &cfg).await;
    assert_eq!(code, 422, "{status}");
    let msg = status["message"].as_str().unwrap();
    assert!(
        msg.starts_with(r#"MutatingWebhookConfiguration.admissionregistration.k8s.io "invalid" is invalid: ["#),
        "{msg}"
    );
    assert!(
        msg.contains(
            r#"webhooks[0].sideEffects: Unsupported value: "Unknown": supported values: "None", "NoneOnDryRun""#
        ),
        "{msg}"
    );
    assert!(msg.contains(r#"webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.labels.exists(k,": compilation failed"#), "{msg}");
    // Defaults are stored as kube-apiserver stores them.
    register(&dc, "valid", vec![webhook("valid.example.com", &hook, "/v", json!({}))]).await;
    let (_, stored) =
        super::support::get(&dc, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/valid").await;
    let w = &stored["webhooks"][0];
    assert_eq!(
        (w["failurePolicy"].as_str(), w["matchPolicy"].as_str(), w["timeoutSeconds"].as_i64()),
        (Some("Fail"), Some("Equivalent"), Some(10))
    );
    assert_eq!((w["reinvocationPolicy"].as_str(), w["rules"][0]["scope"].as_str()), (Some("Never"), Some("*")));
    dc.shutdown().await;
}

#[tokio::test]
async fn dry_run_requests_are_sent_with_dry_run_set() {
    let (dc, hook) =
        setup(responder(|_| patch(json!([{"op": "add", "path": "/metadata/annotations", "value": {"m": "1"}}])))).await;
    register(&dc, "dry", vec![webhook("dry.example.com", &hook, "/dry", json!({"sideEffects": "NoneOnDryRun"}))]).await;
    let (code, pod) = post(&dc, &format!("{PODS}?dryRun=All"), &bare_pod("dry")).await;
    assert_eq!(code, 201, "{pod}");
    assert_eq!(pod["metadata"]["annotations"]["m"], "1");
    let req = hook.calls_to("/dry")[0].request().clone();
    assert_eq!(req["dryRun"], true);
    assert_eq!(req["options"], json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "dryRun": ["All"]}));
    assert_eq!(super::support::get(&dc, &format!("{PODS}/dry")).await.0, 404);
    dc.shutdown().await;
}
