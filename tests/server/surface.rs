//! Discovery, the metric read, OpenAPI with ETags, health and bad input, through the router.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::server::{
    ApiState, ExternalMetricValue, HealthChecks, MetricsProvider, ProviderError, Telemetry, format_quantity, router,
    with_telemetry,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Serves `datadogmetric@default:web-rps` = 42; `datadogmetric@default:stale` is unavailable.
#[derive(Default)]
struct TestProvider {
    calls: AtomicUsize,
}

impl MetricsProvider for TestProvider {
    fn get(
        &self,
        _ns: &str,
        metric: &str,
        selector: &LabelSelector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        match metric {
            "datadogmetric@default:web-rps" if selector.matches(&labels) => Ok(vec![ExternalMetricValue {
                metric_name: metric.to_string(),
                metric_labels: None,
                timestamp: "2026-11-23T10:00:00Z".into(),
                window: None,
                value: format_quantity(1.5),
            }]),
            "datadogmetric@default:web-rps" => Ok(vec![]),
            "datadogmetric@default:stale" => {
                Err(ProviderError::Unavailable("DatadogMetric is stale, last updated: 2026-11-23 10:00:00".into()))
            }
            other => Err(ProviderError::NotFound(format!("DatadogMetric not found for metric name: {other}"))),
        }
    }
}

fn app(ready: bool) -> (axum::Router, Arc<TestProvider>) {
    let provider = Arc::new(TestProvider::default());
    let health = HealthChecks::default()
        .with_ready_check("caches-synced", Arc::new(move || if ready { Ok(()) } else { Err("syncing".into()) }));
    let state = ApiState { provider: provider.clone(), health };
    (with_telemetry(router(Arc::new(state)), Arc::new(Telemetry::new())), provider)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn discovery_documents_are_constant() {
    let (app, _) = app(true);
    let (code, _, body) = call(&app, "GET", "/apis", &[]).await;
    assert_eq!(code, 200);
    assert_eq!(
        json(&body),
        json!({"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"external.metrics.k8s.io",
            "versions":[{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}],
            "preferredVersion":{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}}]})
    );
    let (code, _, body) = call(&app, "GET", "/apis/external.metrics.k8s.io/v1beta1", &[]).await;
    assert_eq!(code, 200);
    assert_eq!(
        json(&body),
        json!({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"external.metrics.k8s.io/v1beta1",
            "resources":[{"name":"externalmetrics","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]}]})
    );
    let (code, _, body) = call(&app, "GET", "/apis/external.metrics.k8s.io", &[]).await;
    assert_eq!((code, json(&body)["kind"].clone()), (StatusCode::OK, json!("APIGroup")));
}

#[tokio::test]
async fn metric_read_goes_through_the_provider() {
    let (app, provider) = app(true);
    let uri = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps?labelSelector=app%3Dweb";
    let (code, _, body) = call(&app, "GET", uri, &[]).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        json(&body),
        json!({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},
            "items":[{"metricName":"datadogmetric@default:web-rps","metricLabels":null,"timestamp":"2026-11-23T10:00:00Z","value":"1500m"}]})
    );
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    // Metric names are case-insensitive, as in the DCA.
    let (code, _, _) = call(
        &app,
        "GET",
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/DatadogMetric@default:web-rps",
        &[],
    )
    .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn provider_errors_and_bad_input_map_to_statuses() {
    let (app, provider) = app(true);
    let base = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default";
    let (code, _, body) = call(&app, "GET", &format!("{base}/datadogmetric@default:stale"), &[]).await;
    assert_eq!(code, 500);
    let s = json(&body);
    assert_eq!(s["reason"], "InternalError");
    assert_eq!(s["message"], "Internal error occurred: DatadogMetric is stale, last updated: 2026-11-23 10:00:00");
    let (code, _, body) = call(&app, "GET", &format!("{base}/datadogmetric@default:missing"), &[]).await;
    assert_eq!((code, json(&body)["reason"].clone()), (StatusCode::NOT_FOUND, json!("NotFound")));
    let calls = provider.calls.load(Ordering::SeqCst);
    let (code, _, body) = call(&app, "GET", &format!("{base}/x?labelSelector=a%20in%20("), &[]).await;
    assert_eq!((code, json(&body)["reason"].clone()), (StatusCode::BAD_REQUEST, json!("BadRequest")));
    assert_eq!(provider.calls.load(Ordering::SeqCst), calls, "no provider call on a bad selector");
    let (code, _, _) = call(&app, "GET", "/apis/custom.metrics.k8s.io/v1beta1", &[]).await;
    assert_eq!(code, 404);
    let (code, _, _) = call(&app, "GET", &format!("{base}/a/b/c"), &[]).await;
    assert_eq!(code, 404);
    let (code, _, body) = call(&app, "POST", &format!("{base}/x"), &[]).await;
    assert_eq!((code, json(&body)["reason"].clone()), (StatusCode::METHOD_NOT_ALLOWED, json!("MethodNotAllowed")));
}

#[tokio::test]
async fn openapi_documents_parse_and_support_etags() {
    let (app, _) = app(true);
    let (code, headers, body) = call(&app, "GET", "/openapi/v3", &[]).await;
    assert_eq!(code, 200);
    let index = json(&body);
    let url = index["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"].as_str().unwrap().to_string();
    assert!(url.starts_with("/openapi/v3/apis/external.metrics.k8s.io/v1beta1?hash="), "{url}");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (code, _, _) = call(&app, "GET", "/openapi/v3", &[("if-none-match", &etag)]).await;
    assert_eq!(code, 304);
    let (code, headers, body) = call(&app, "GET", &url, &[]).await;
    assert_eq!(code, 200);
    let doc: openapiv3::OpenAPI = serde_json::from_str(&body).expect("valid OpenAPI v3");
    let schemas = doc.components.unwrap().schemas;
    assert!(schemas.contains_key("io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList"));
    assert!(doc.paths.paths.contains_key("/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}"));
    let (code, _, _) = call(&app, "GET", &url, &[("if-none-match", headers["etag"].to_str().unwrap())]).await;
    assert_eq!(code, 304);
    let (code, _, body) = call(&app, "GET", "/openapi/v2", &[("accept", "application/json")]).await;
    assert_eq!(code, 200);
    assert_eq!(json(&body)["swagger"], "2.0");
}

#[tokio::test]
async fn health_endpoints_follow_kube_apiserver_format() {
    let (app, _) = app(false);
    let (code, _, body) = call(&app, "GET", "/livez", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "ok"));
    let (code, _, body) = call(&app, "GET", "/readyz?verbose", &[]).await;
    assert_eq!(code, 500);
    assert_eq!(body, "[+]ping ok\n[-]caches-synced failed: reason withheld\nreadyz check failed\n");
    let (ready_app, _) = self::app(true);
    let (code, _, body) = call(&ready_app, "GET", "/readyz", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "ok"));
    let (code, _, _) = call(&ready_app, "GET", "/readyz/caches-synced", &[]).await;
    assert_eq!(code, 200);
}
