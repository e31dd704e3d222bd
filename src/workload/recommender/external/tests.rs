use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use k8s_openapi::jiff::Timestamp;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::*;
use crate::workload::model::{PodAutoscalerInternal, ValueSource};
use crate::workload::recommender::{CUSTOM_RECOMMENDER_ANNOTATION, fixed_leadership};

fn dpa(endpoint: &str) -> PodAutoscalerInternal {
    let spec = serde_json::from_value(json!({
        "owner": "Local", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "constraints": {"minReplicas": 2, "maxReplicas": 10},
        "objectives": [
            {"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}},
            {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "app",
                "value": {"type": "Utilization", "utilization": 80}}},
            {"type": "CustomQuery", "customQuery": {"request": {"queries": []}, "value": {"type": "AbsoluteValue", "absoluteValue": 5}, "window": "5m"}}
        ]
    }))
    .unwrap();
    let mut d = PodAutoscalerInternal::new("prod", "web", spec, Timestamp::now());
    d.current_replicas = Some(3);
    d.annotations.insert(
        CUSTOM_RECOMMENDER_ANNOTATION.into(),
        json!({"endpoint": endpoint, "settings": {"mode": "fast"}}).to_string(),
    );
    d
}

#[test]
fn requests_carry_target_constraints_state_targets_and_settings() {
    let d = dpa("http://127.0.0.1:1/r");
    let rc = custom_recommender(&d).unwrap();
    let request = WorkloadRecommendationRequest::build(&d, &rc, "dev-cluster", 2);
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "targetRef": {"cluster": "dev-cluster", "namespace": "prod", "kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
            "constraints": {"minReplicas": 2, "maxReplicas": 10},
            "state": {"currentReplicas": 3, "readyReplicas": 2},
            "targets": [{"type": "cpu", "targetValue": 0.7}, {"type": "memory", "targetValue": 0.8}],
            "settings": {"mode": "fast"}
        })
    );
}

#[test]
fn replies_become_recommendations_or_errors() {
    let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let reply = |v: Value| serde_json::from_value::<WorkloadRecommendationReply>(v).unwrap().horizontal(now);
    let good = reply(
        json!({"targetReplicas": 5, "timestamp": "2026-03-01T11:59:00Z", "reason": "cpu", "lowerBoundReplicas": 3}),
    )
    .unwrap();
    assert_eq!((good.replicas, good.source), (5, ValueSource::External));
    assert_eq!(good.timestamp, "2026-03-01T11:59:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(reply(json!({"targetReplicas": 1})).unwrap().timestamp, now);
    assert_eq!(
        reply(json!({"error": {"code": 7, "message": "no data"}})).unwrap_err(),
        "error from recommender: 7 no data"
    );
    assert_eq!(reply(json!({})).unwrap_err(), "reply without targetReplicas");
}

/// A recommender on 127.0.0.1 answering each request with the next canned response.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    _task: tokio::task::JoinHandle<()>,
}

async fn server(status: StatusCode, body: &'static str, delay: Duration) -> Server {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = Router::new().route(
        "/recommend",
        post(move |headers: HeaderMap, body_in: String| async move {
            record.lock().push((headers, serde_json::from_str(&body_in).unwrap_or(Value::Null)));
            tokio::time::sleep(delay).await;
            (status, body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/recommend", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { url, seen, _task: task }
}

fn recommender(store: Arc<InternalStore>, timeout: Duration) -> ExternalRecommender {
    let config = ExternalRecommenderConfig { timeout, cluster_name: "dev".into(), ..Default::default() };
    ExternalRecommender::new(store, Arc::new(PodIndex::default()), fixed_leadership(true), config).unwrap()
}

async fn run_against(
    status: StatusCode,
    body: &'static str,
    delay: Duration,
    timeout: Duration,
) -> (Server, PodAutoscalerInternal) {
    let server = server(status, body, delay).await;
    let store = Arc::new(InternalStore::default());
    let key = DpaKey::new("prod", "web");
    let mut d = dpa(&server.url);
    d.main.vertical_error = Some("kept".into());
    store.get_or_insert_with(&key, || d);
    recommender(store.clone(), timeout).run_once().await;
    let after = store.get(&key).unwrap().lock().await.clone();
    (server, after)
}

#[tokio::test]
async fn a_good_reply_sets_main_horizontal() {
    let body = r#"{"targetReplicas": 6, "timestamp": "2026-03-01T11:59:00Z"}"#;
    let (server, d) = run_against(StatusCode::OK, body, Duration::ZERO, Duration::from_secs(10)).await;
    let h = d.main.horizontal.unwrap();
    assert_eq!((h.replicas, h.source), (6, ValueSource::External));
    assert_eq!(d.main.horizontal_error, None);
    assert_eq!(d.main.vertical_error.as_deref(), Some("kept"), "only the horizontal part is the recommender's");
    let seen = server.seen.lock();
    assert_eq!(seen.len(), 1);
    let (headers, request) = &seen[0];
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["user-agent"], "datadog-cluster-agent");
    assert_eq!(request["targetRef"]["name"], "web");
    assert_eq!(request["settings"], json!({"mode": "fast"}));
}

#[tokio::test]
async fn failures_name_the_endpoint() {
    let cases: [(StatusCode, &'static str, Duration, &str); 4] = [
        (
            StatusCode::OK,
            r#"{"error": {"code": 3, "message": "not enough data"}}"#,
            Duration::ZERO,
            "error from recommender: 3 not enough data",
        ),
        (StatusCode::INTERNAL_SERVER_ERROR, "{}", Duration::ZERO, "unexpected response code: 500"),
        (StatusCode::OK, "<html>garbage", Duration::ZERO, "error unmarshaling response"),
        (StatusCode::OK, "{}", Duration::from_secs(5), "error sending request"),
    ];
    for (status, body, delay, want) in cases {
        let (server, d) = run_against(status, body, delay, Duration::from_millis(500)).await;
        let err = d.main.horizontal_error.unwrap();
        assert!(err.starts_with(&format!("external recommender {}: ", server.url)), "{err}");
        assert!(err.contains(want), "{err} should contain {want}");
        assert!(d.main.horizontal.is_none());
    }
}

#[tokio::test]
async fn only_http_endpoints_are_called() {
    let store = Arc::new(InternalStore::default());
    let r = recommender(store, Duration::from_secs(1));
    let d = dpa("file:///etc/passwd");
    let err = r.recommend(&d, &custom_recommender(&d).unwrap()).await.unwrap_err();
    assert_eq!(err, "external recommender file:///etc/passwd: only http and https schemes are supported");
}

#[test]
fn tls_files_are_checked_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let files = TlsFiles { ca_file: Some(empty.clone()), ..Default::default() };
    let err = files.client_config().unwrap_err();
    assert!(err.starts_with("autoscaling.workload.external_recommender.tls.ca_file"), "{err}");
    let files = TlsFiles { cert_file: Some(empty), ..Default::default() };
    assert_eq!(
        files.client_config().unwrap_err(),
        "autoscaling.workload.external_recommender.tls.cert_file is set but autoscaling.workload.external_recommender.tls.key_file is not: set both or neither"
    );
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (ca, crt, key) = (dir.path().join("ca.pem"), dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    let files = TlsFiles { ca_file: Some(ca), cert_file: Some(crt), key_file: Some(key) };
    assert!(files.client_config().is_ok());
}
