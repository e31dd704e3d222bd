//! The HPA simulation scales the demo Deployment on the demo DatadogMetric through the
//! aggregation layer, up as the simulated series steps up and back down after; meanwhile
//! `/readyz`, `/metrics` and the `status` command show the wiring.

use std::time::Duration;

use autoscaling_apiserver::dev::DevStack;
use autoscaling_apiserver::status::StatusDocument;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::support::{dev_stack, eventually, read_through_cluster, set_value, value_of, wait_value};

async fn replicas_become(stack: &DevStack, want: i32, limit: Duration) {
    let admin = stack.cluster.client().await.expect("admin");
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), "default");
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin, "default");
    let mut last = String::new();
    let found = tokio::time::timeout(limit, async {
        loop {
            let replicas = deployments.get("web").await.ok().and_then(|d| d.spec?.replicas);
            if replicas == Some(want) {
                return;
            }
            let hpa = hpas
                .get("web")
                .await
                .ok()
                .and_then(|h| h.status)
                .map(|s| serde_json::to_string(&s).unwrap_or_default());
            last = format!("deployment web replicas {replicas:?}; HPA status {hpa:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(found.is_ok(), "web never reached {want} replicas within {limit:?}: {last}");
}

async fn run_status(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_autoscaling-apiserver"))
        .arg("status")
        .args(args)
        .output()
        .await
        .expect("status runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "status {args:?} failed: {text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn readyz_verbose(stack: &DevStack) -> String {
    let server = &stack.stack.server;
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_deref().expect("CA").as_bytes()).expect("ca");
    let host = "autoscaling-apiserver.datadog.svc";
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .resolve(host, server.secure_addr)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let url = format!("https://{host}:{}/readyz?verbose", server.secure_addr.port());
    client.get(url).send().await.expect("readyz answers").text().await.expect("body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_scales_the_deployment_up_and_back_down_on_a_datadogmetric() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dev_stack(&dir, 5.0, &[]).await;
    let admin = stack.cluster.client().await.expect("admin");
    // Scale-down without the example's 30 s window, so both directions fit a test.
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin, "default");
    let patch = json!({"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}});
    hpas.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("HPA patched");

    wait_value(&stack.stack, 5.0, Duration::from_secs(60)).await;
    let (code, body) = read_through_cluster(&stack).await;
    assert_eq!((code, value_of(&body)), (200, Some(5.0)), "{body}");
    replicas_become(&stack, 1, Duration::from_secs(30)).await;

    let ready = readyz_verbose(&stack).await;
    assert!(ready.contains("[+]datadogmetrics synced ok"), "{ready}");
    let metrics_url = format!("http://{}/metrics", stack.stack.server.metrics_addr);
    let metrics = reqwest::get(&metrics_url).await.expect("scrape").text().await.expect("body");
    for series in [
        "datadog_requests_total{status=\"success\"}",
        "rate_limit_queries_remaining{endpoint=\"/api/v1/query\"}",
        "external_metrics_processed_value{",
        "external_metrics_delay_seconds{",
        "external_metrics_retriever_elapsed_count",
        "external_metrics_datadog_metrics{namespace=\"default\",name=\"web-rps\",valid=\"true\",active=\"true\",join_leader=\"true\"} 1",
        "leader_election_is_leader{join_leader=\"true\",is_leader=\"true\"} 1",
        &format!("datadog_endpoint_up{{url=\"{}\"}} 1", stack.datadog.primary.url()),
        "autoscaling_apiserver_http_requests_total{",
    ] {
        assert!(metrics.contains(series), "/metrics lacks {series}:\n{metrics}");
    }
    assert!(!metrics.contains(autoscaling_apiserver::dev::datadog::API_KEY), "no key on /metrics");

    let port = stack.stack.server.metrics_addr.port().to_string();
    let table = run_status(&["--metrics-port", &port]).await;
    assert!(table.starts_with("Leader:    autoscaling-apiserver-dev\n"), "{table}");
    assert!(table.contains("(leader)"), "{table}");
    let primary = table.lines().find(|l| l.starts_with(&stack.datadog.primary.url())).expect("primary row");
    assert!(primary.contains(" yes ") && primary.contains("/1600 left"), "in use, healthy, budget: {primary}");
    assert!(table.lines().any(|l| l.starts_with(&stack.datadog.failover.url())), "{table}");
    let metric = table.lines().find(|l| l.starts_with("default/web-rps")).expect("metric row");
    let cells: Vec<&str> = metric.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(&cells[..4], ["default/web-rps", "true", "true", "5"], "{table}");
    assert!(cells[4].ends_with('s'), "age: {table}");
    let json_text = run_status(&["--url", &format!("http://{}", stack.stack.server.metrics_addr), "--json"]).await;
    let doc: StatusDocument = serde_json::from_str(&json_text).expect("status --json is the document");
    assert_eq!(doc.leader.holder.as_deref(), Some("autoscaling-apiserver-dev"));
    assert!(!json_text.contains(autoscaling_apiserver::dev::datadog::APP_KEY), "no key in /status");

    set_value(&stack, 42.0);
    wait_value(&stack.stack, 42.0, Duration::from_secs(30)).await;
    // 42 requests/s at 10 per pod: ceil(4.2) = 5 replicas.
    replicas_become(&stack, 5, Duration::from_secs(90)).await;
    set_value(&stack, 5.0);
    replicas_become(&stack, 1, Duration::from_secs(90)).await;
    let body = eventually("the metric back at 5 through devcluster", Duration::from_secs(30), || async {
        let (code, body) = read_through_cluster(&stack).await;
        (code == 200 && value_of(&body) == Some(5.0)).then_some(body)
    })
    .await;
    assert_eq!(body["items"][0]["metricName"], "datadogmetric@default:web-rps");
    stack.shutdown().await;
}
