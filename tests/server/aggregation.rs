//! The aggregation layer end to end: devcluster proxies `/apis/external.metrics.k8s.io/v1beta1/…` to
//! our server (started with its ServiceAccount's credentials and deploy/ RBAC) as kube-aggregator
//! does; the availability controller sets the APIService condition and discovery follows it; a
//! recording backend shows the headers kube-aggregator sends (reference/k8s-traffic).

use std::time::Duration;

use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::server::RunningServer;

use serde_json::{Value, json};

use super::aggregation_support::*;
use super::recorder;

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
const SERVER_HOST: &str = "autoscaling-apiserver.datadog.svc";

fn group_names(apis: &Value) -> Vec<String> {
    apis["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect()
}

fn aggregated_item<'a>(list: &'a Value, group: &str) -> Option<&'a Value> {
    list["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == group)
}

/// Acts as devcluster's aggregator towards our server: its front-proxy certificate, any headers.
fn as_front_proxy(dc: &DevCluster, server: &RunningServer) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_deref().unwrap().as_bytes()).unwrap();
    reqwest::Client::builder()
        .identity(reqwest::Identity::from_pem(dc.front_proxy_identity_pem().as_bytes()).unwrap())
        .add_root_certificate(ca)
        .resolve(SERVER_HOST, server.secure_addr)
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap()
}

#[tokio::test]
async fn kubectl_reads_external_metrics_through_devcluster() {
    let (dc, admin) = devcluster().await;
    let (server, provider) = our_server(&dc, &admin).await;
    let ca = server.ca_pem.clone().unwrap();
    register(
        &admin,
        "external.metrics.k8s.io",
        "v1beta1",
        ("datadog", "autoscaling-apiserver"),
        server.secure_addr.port(),
        &ca,
    )
    .await;
    let condition = wait_available(&admin, APISERVICE, "True").await;
    assert_eq!((&condition["reason"], &condition["message"]), (&json!("Passed"), &json!("all checks passed")));

    // Discovery: legacy and aggregated /apis, and /apis/<group> answered from the APIService.
    let admin_token = dc.admin_token().to_string();
    let apis = get(&dc, &admin_token, "/apis", &[]).await.json();
    assert!(group_names(&apis).contains(&"external.metrics.k8s.io".to_string()), "{apis}");
    let list = get(&dc, &admin_token, "/apis", &[("Accept", AGGREGATED)]).await.json();
    let item = aggregated_item(&list, "external.metrics.k8s.io").unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        (&item["versions"][0]["version"], &item["versions"][0]["freshness"]),
        (&json!("v1beta1"), &json!("Current"))
    );
    let group = get(&dc, &admin_token, "/apis/external.metrics.k8s.io", &[]).await.json();
    assert_eq!(group["kind"], "APIGroup");
    assert_eq!(group["preferredVersion"]["groupVersion"], "external.metrics.k8s.io/v1beta1");

    // A reader allowed by RBAC: kubectl through devcluster reaches our provider.
    let reader = service_account(&dc, &admin, "hpa-reader", true).await;
    let (ok, out) = kubectl_raw(&dc, &reader, &format!("{METRIC}?labelSelector=app%3Dweb")).await;
    assert!(ok && out.contains("\"value\":\"42\""), "{out}");
    let expected = ("default".to_string(), "datadogmetric@default:web-rps".to_string(), "app=web".to_string());
    assert_eq!(*provider.calls.lock(), std::slice::from_ref(&expected));

    // Without RBAC: devcluster refuses before proxying, with kube-apiserver's recorded message.
    let nobody = service_account(&dc, &admin, "no-rbac", false).await;
    let refused = get(&dc, &nobody, METRIC, &[]).await;
    assert_eq!(refused.code, 403, "{}", refused.text);
    assert_eq!(
        refused.json()["message"],
        "datadogmetric@default:web-rps.external.metrics.k8s.io is forbidden: User \"system:serviceaccount:default:no-rbac\" cannot list resource \"datadogmetric@default:web-rps\" in API group \"external.metrics.k8s.io\" in the namespace \"default\""
    );

    // Straight to our server with devcluster's front-proxy certificate: an identity devcluster never
    // authorized is refused by our server's SubjectAccessReview; the aggregator's own identities pass.
    let fp = as_front_proxy(&dc, &server);
    let url = |p: &str| format!("https://{SERVER_HOST}:{}{p}", server.secure_addr.port());
    let jane = answer(fp.get(url(METRIC)).header("X-Remote-User", "jane").send().await.unwrap()).await;
    assert_eq!(jane.code, 403, "{}", jane.text);
    assert!(jane.json()["message"].as_str().unwrap().contains("User \"jane\" cannot list resource"), "{}", jane.text);
    let probe = fp
        .get(url("/apis/external.metrics.k8s.io/v1beta1"))
        .header("X-Remote-User", "system:kube-aggregator")
        .header("X-Remote-Group", "system:masters");
    assert_eq!(answer(probe.send().await.unwrap()).await.code, 200);
    for (path, accept) in [("/openapi/v2", Some("application/json")), ("/openapi/v3", None)] {
        let mut req = fp.get(url(path)).header("X-Remote-User", "system:aggregator");
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        let got = answer(req.send().await.unwrap()).await;
        assert_eq!(got.code, 200, "{path}: {}", got.text);
    }
    assert_eq!(*provider.calls.lock(), [expected], "refused requests never reach the provider");
    server.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn unavailable_apiservices_answer_503_and_leave_discovery() {
    let (dc, admin) = devcluster().await;
    let (server, provider) = our_server(&dc, &admin).await;
    let (port, ca) = (server.secure_addr.port(), server.ca_pem.clone().unwrap());
    register(&admin, "external.metrics.k8s.io", "v1beta1", ("datadog", "autoscaling-apiserver"), port, &ca).await;
    wait_available(&admin, APISERVICE, "True").await;
    let token = dc.admin_token().to_string();

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    patch_apiservice(&admin, APISERVICE, json!({"spec": {"service": {"port": dead}}})).await;
    let condition = wait_available(&admin, APISERVICE, "False").await;
    let url = format!("https://localhost:{dead}/apis/external.metrics.k8s.io/v1beta1");
    let message = condition["message"].as_str().unwrap();
    assert_eq!(condition["reason"], "FailedDiscoveryCheck");
    assert!(
        message.starts_with(&format!("failing or missing response from {url}: Get \"{url}\": dial tcp ")),
        "{message}"
    );
    assert!(message.ends_with("connect: connection refused"), "{message}");
    let apis = get(&dc, &token, "/apis", &[]).await.json();
    assert!(!group_names(&apis).contains(&"external.metrics.k8s.io".to_string()), "{apis}");
    let list = get(&dc, &token, "/apis", &[("Accept", AGGREGATED)]).await.json();
    assert!(aggregated_item(&list, "external.metrics.k8s.io").is_none(), "{list}");
    assert_eq!(get(&dc, &token, "/apis/external.metrics.k8s.io", &[]).await.code, 404);
    let unavailable = get(&dc, &token, METRIC, &[]).await;
    assert_eq!((unavailable.code, unavailable.text.as_str()), (503, "service unavailable\n"));
    assert_eq!(unavailable.content_type, "text/plain; charset=utf-8");

    patch_apiservice(&admin, APISERVICE, json!({"spec": {"service": {"port": port}}})).await;
    wait_available(&admin, APISERVICE, "True").await;
    let back = get(&dc, &token, &format!("{METRIC}?labelSelector=app%3Dweb"), &[]).await;
    assert_eq!(back.code, 200, "{}", back.text);
    assert_eq!(back.json()["items"][0]["value"], "42");
    assert_eq!(provider.calls.lock().len(), 1);

    patch_apiservice(&admin, APISERVICE, json!({"spec": {"service": {"name": "missing"}}})).await;
    let condition = wait_available(&admin, APISERVICE, "False").await;
    assert_eq!(condition["reason"], "ServiceNotFound");
    assert_eq!(condition["message"], "service/missing in \"datadog\" is not present");

    // Endpoints may not hold loopback addresses: a local backend is an ExternalName Service.
    let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "loop", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 8443}]}]});
    match create(&admin, endpoints).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert_eq!(
                status.message,
                "Endpoints \"loop\" is invalid: subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
            );
        }
        other => panic!("loopback Endpoints accepted: {other:?}"),
    }
    server.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn backends_see_the_callers_identity_as_kube_aggregator_sends_it() {
    let (dc, admin) = devcluster().await;
    let rec = recorder::start("recorder", "default", dc.front_proxy_ca_pem()).await;
    register(&admin, "recorder.example.com", "v1", ("default", "recorder"), rec.port, &rec.ca_pem).await;
    wait_available(&admin, "v1.recorder.example.com", "True").await;

    // The availability probe and the discovery fetch, as recorded from kube-apiserver.
    let requests = rec.requests();
    let probe = requests
        .iter()
        .find(|r| r.uri == "/apis/recorder.example.com/v1" && r.all("x-forwarded-uri").is_empty())
        .unwrap_or_else(|| panic!("no probe in {requests:?}"));
    // kube-aggregator sends no Accept; reqwest always sends `*/*`, which means the same (RFC 9110 §12.5.1).
    assert_eq!(probe.all("accept"), ["*/*"]);
    assert_eq!(
        (probe.method.as_str(), probe.all("x-remote-user").as_slice()),
        ("GET", &["system:kube-aggregator"][..])
    );
    assert_eq!(probe.all("x-remote-group"), ["system:masters"]);
    assert!(requests.iter().any(|r| r.uri == "/apis" && r.all("accept") == [AGGREGATED]), "{requests:?}");
    let token = dc.admin_token().to_string();
    let list = get(&dc, &token, "/apis", &[("Accept", AGGREGATED)]).await.json();
    let item = aggregated_item(&list, "recorder.example.com").unwrap_or_else(|| panic!("{list}"));
    assert_eq!(item["versions"][0]["resources"][0]["resource"], "things", "legacy discovery converted: {item}");

    // A ServiceAccount's request: identity in X-Remote-*, no credentials, query and Accept kept.
    let reader = service_account(&dc, &admin, "hpa-reader", true).await;
    let path = "/apis/recorder.example.com/v1/namespaces/default/things";
    let got =
        get(&dc, &reader, &format!("{path}?labelSelector=app%3Dweb"), &[("Accept", "application/json, */*")]).await;
    assert_eq!((got.code, got.json()["kind"].as_str()), (200, Some("Recorded")), "{}", got.text);
    assert_eq!(
        (got.content_type.as_str(), got.warnings.as_slice()),
        ("application/json", &["299 - \"recorded\"".to_string()][..])
    );
    let seen = rec.requests().into_iter().rev().find(|r| r.uri.starts_with(path)).unwrap();
    assert_eq!(seen.uri, format!("{path}?labelSelector=app%3Dweb"));
    assert_eq!(seen.all("x-remote-user"), ["system:serviceaccount:default:hpa-reader"]);
    assert_eq!(
        seen.all("x-remote-group"),
        ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    );
    let sa = kube::Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(admin.clone(), "default");
    let uid = sa.get("hpa-reader").await.unwrap().metadata.uid.unwrap();
    assert_eq!(seen.all("x-remote-uid"), [uid.as_str()]);
    let credential = seen.all("x-remote-extra-authentication.kubernetes.io%2fcredential-id");
    assert!(credential.len() == 1 && credential[0].starts_with("JTI="), "{seen:?}");
    assert!(seen.all("authorization").is_empty(), "{seen:?}");
    assert_eq!(seen.all("accept"), ["application/json, */*"]);
    assert_eq!(seen.all("x-forwarded-uri"), [path]);

    // Forged identity headers from a client are replaced by the authenticated user.
    let forged = [("X-Remote-User", "evil"), ("X-Remote-Group", "system:masters")];
    assert_eq!(get(&dc, &reader, path, &forged).await.code, 200);
    let seen = rec.requests().into_iter().rev().find(|r| r.uri.starts_with(path)).unwrap();
    assert_eq!(seen.all("x-remote-user"), ["system:serviceaccount:default:hpa-reader"]);
    assert!(!seen.all("x-remote-group").contains(&"system:masters"), "{seen:?}");
    dc.shutdown().await;
}
