//! The recorded Datadog API responses (go-vcr cassettes) parsed by our wire types, and replayed
//! over HTTP to the client: point selection on a recorded reply, recorded rate-limit headers.

use std::time::Duration;

use autoscaling_apiserver::datadog::wire::{self, ErrorBody};
use autoscaling_apiserver::datadog::{ClientConfig, DatadogClient, RateLimit};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::support::{self, reference};

struct Recorded {
    url: String,
    code: u16,
    body: String,
    headers: HeaderMap,
}

fn interactions(file: &str) -> Vec<Recorded> {
    let text = std::fs::read_to_string(reference(file)).expect("cassette readable");
    let doc: Value = serde_saphyr::from_str(&text).expect("cassette is YAML");
    let list = doc["interactions"].as_array().expect("interactions").clone();
    list.into_iter()
        .map(|i| {
            let mut headers = HeaderMap::new();
            for (name, values) in i["response"]["headers"].as_object().cloned().unwrap_or_default() {
                for v in values.as_array().cloned().unwrap_or_default() {
                    let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
                    headers.append(name, HeaderValue::from_str(v.as_str().unwrap_or_default()).expect("header value"));
                }
            }
            Recorded {
                url: i["request"]["url"].as_str().unwrap_or_default().to_string(),
                code: i["response"]["code"].as_u64().unwrap_or_default() as u16,
                body: i["response"]["body"].as_str().unwrap_or_default().to_string(),
                headers,
            }
        })
        .collect()
}

fn v1_query(file: &str) -> Recorded {
    interactions(file).into_iter().find(|r| r.url.contains("/api/v1/query")).expect("a /api/v1/query interaction")
}

#[test]
fn v1_query_replies_parse_with_int_and_float_timestamps() {
    let ints = v1_query("v1-query_timeseries-points-OK_go-client.yaml");
    let r = wire::parse_response(ints.body.as_bytes()).expect("recorded reply parses");
    assert_eq!((r.status.as_deref(), r.res_type.as_deref()), (Some("ok"), Some("time_series")));
    assert_eq!(r.query.as_deref(), Some("system.cpu.idle{*}"));
    let s = &r.series[0];
    assert_eq!(
        (s.metric.as_deref(), s.scope.as_deref(), s.query_index, s.interval),
        (Some("system.cpu.idle"), Some("*"), Some(0), Some(300))
    );
    assert_eq!(s.pointlist.len() as i64, s.length.unwrap());
    assert_eq!(s.pointlist.last().unwrap().0, Some(1641430200000.0));

    let floats = v1_query("v1-query_with-ratelimit-headers_go-client-TestMetrics.yaml");
    let r = wire::parse_response(floats.body.as_bytes()).expect("recorded reply parses");
    let s = &r.series[0];
    assert_eq!(s.aggr.as_deref(), Some("avg"));
    assert_eq!(s.tag_set, vec!["host:go-client-test-host"]);
    assert_eq!(s.pointlist[1].0, Some(1618221195000.0));
    assert_eq!(s.pointlist[1].1.map(|n| n.0), Some(11.0));
    assert_eq!(r.group_by.as_deref(), Some(&["host".to_string()][..]));
}

#[test]
fn recorded_rate_limit_headers_are_read() {
    let rec = v1_query("v1-query_with-ratelimit-headers_go-client-TestMetrics.yaml");
    let rl = RateLimit::from_headers(&rec.headers).expect("rate-limit headers");
    assert_eq!((rl.limit, rl.period, rl.remaining, rl.reset), (Some(1600), Some(3600), Some(1596), Some(385)));

    let limited = interactions("http429-ratelimit-headers_go-client-TestLogsListWithRetry.yaml");
    let first_429 = limited.iter().find(|r| r.code == 429).expect("a 429");
    let rl = RateLimit::from_headers(&first_429.headers).expect("rate-limit headers on the 429");
    assert_eq!(
        (rl.limit, rl.remaining, rl.reset, rl.name.as_deref()),
        (Some(10), Some(0), Some(1), Some("logs_public_search_api"))
    );
}

#[test]
fn recorded_error_bodies_parse() {
    let forbidden = &interactions("v1-error-403-forbidden_go-client-TestAuthenticationValidate.yaml")[0];
    let e: ErrorBody = serde_json::from_str(&forbidden.body).expect("403 body");
    assert_eq!((e.errors, e.code, e.status.as_deref()), (vec!["Forbidden".to_string()], Some(403), Some("error")));
    let bad = &interactions("v2-query-timeseries-400_go-client.yaml")[0];
    let e: ErrorBody = serde_json::from_str(&bad.body).expect("400 body");
    assert!(e.errors[0].starts_with("API input validation failed"), "{:?}", e.errors);
}

/// Serves one recorded reply (status, headers, body) at every path.
async fn replay(rec: Recorded) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let status = http::StatusCode::from_u16(rec.code).expect("status");
    let app = axum::Router::new().fallback(move || {
        let (headers, body) = (rec.headers.clone(), rec.body.clone());
        async move {
            let mut resp = http::Response::new(axum::body::Body::from(body));
            *resp.status_mut() = status;
            for (k, v) in &headers {
                if k != http::header::CONTENT_LENGTH {
                    resp.headers_mut().append(k, v.clone());
                }
            }
            resp
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn recorded_reply_through_the_client_gives_the_penultimate_point_and_rate_limits() {
    let rec = v1_query("v1-query_with-ratelimit-headers_go-client-TestMetrics.yaml");
    let url = replay(rec).await;
    let client = DatadogClient::new(ClientConfig::single(&url, "k", "a")).expect("client");
    let point = support::one(&client, "avg:Test_TestMetrics_1618221195{bar:baz}by{host}").await.expect("a value");
    assert_eq!((point.value, point.timestamp_s), (10.5, 1618221135));
    let rl = client.rate_limit().expect("rate limit recorded");
    assert_eq!((rl.limit, rl.remaining, rl.period, rl.reset), (Some(1600), Some(1596), Some(3600), Some(385)));
    let metrics = client.telemetry().encode();
    assert!(metrics.contains("rate_limit_queries_remaining{endpoint=\"/api/v1/query\"} 1596"), "{metrics}");
    assert!(metrics.contains("datadog_requests_total{status=\"success\"} 1"), "{metrics}");
    assert!(
        metrics.contains("external_metrics_processed_value{metric=\"Test_TestMetrics_1618221195{bar:baz,host:go-client-test-host}\"} 10.5"),
        "{metrics}"
    );

    let ints = v1_query("v1-query_timeseries-points-OK_go-client.yaml");
    let client = DatadogClient::new(ClientConfig::single(&replay(ints).await, "k", "a")).expect("client");
    let point = support::one(&client, "system.cpu.idle{*}").await.expect("a value");
    assert_eq!((point.value, point.timestamp_s), (92.05671568477855, 1641429900));
}

#[tokio::test]
async fn recorded_429_blocks_the_endpoint_until_its_reset() {
    let limited = interactions("http429-ratelimit-headers_go-client-TestLogsListWithRetry.yaml");
    let rec = limited.into_iter().find(|r| r.code == 429).expect("a 429");
    let client = DatadogClient::new(ClientConfig::single(&replay(rec).await, "k", "a")).expect("client");
    let err = support::one(&client, "m{*}").await.unwrap_err();
    assert!(err.is_rate_limit(), "{err}");
    assert_eq!(err.to_string(), "429 Too Many Requests");
    let wait = err.retry_at().expect("retry time").duration_since(std::time::SystemTime::now()).unwrap_or_default();
    assert!(wait <= Duration::from_secs(1), "{wait:?}");
    assert!(client.endpoints()[0].rate_limited_until.is_some());
    let again = support::one(&client, "m{*}").await.unwrap_err();
    assert!(again.is_rate_limit(), "{again}");
    assert_eq!(client.endpoints()[0].requests, 1, "no call before the reset");
}
