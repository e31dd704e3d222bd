//! Bad input gets the Status a real apiserver returns, never a panic or a hang.

use reqwest::Method;
use serde_json::json;

use super::support::{get, raw, start};

#[tokio::test]
async fn statuses_for_bad_requests() {
    let dc = start().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let (code, body) = raw(&dc, Method::POST, cms, "application/json", "{not json").await;
    assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
    let wrong_kind = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}});
    let (code, body) = raw(&dc, Method::POST, cms, "application/json", wrong_kind.to_string()).await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = get(&dc, "/api/v1/namespaces/default/widgets").await;
    assert_eq!(code, 404);
    let (code, body) = get(&dc, &format!("{cms}?labelSelector=a%20in%20(")).await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = get(&dc, &format!("{cms}?fieldSelector=spec.foo%3Dbar")).await;
    assert_eq!((code, body["message"].as_str()), (400, Some("field label not supported: spec.foo")));
    let (code, _) = raw(&dc, Method::POST, cms, "application/xml", "<x/>").await;
    assert_eq!(code, 415);
    let (code, _) = raw(&dc, Method::PATCH, &format!("{cms}/missing"), "text/plain", "{}").await;
    assert_eq!(code, 415);
    let big = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"x".repeat(4 * 1024 * 1024)}});
    let (code, _) = raw(&dc, Method::POST, cms, "application/json", big.to_string()).await;
    assert_eq!(code, 413);
    let bad_name = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}});
    let (code, body) = raw(&dc, Method::POST, cms, "application/json", bad_name.to_string()).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");
    let (code, _) = raw(
        &dc,
        Method::POST,
        "/api/v1/namespaces/nowhere/configmaps",
        "application/json",
        json!({"metadata":{"name":"a"}}).to_string(),
    )
    .await;
    assert_eq!(code, 404);
    let (code, _) =
        raw(&dc, Method::PUT, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", "application/json", "{}")
            .await;
    assert_eq!(code, 405);
    let (code, body) = get(&dc, &format!("{cms}?resourceVersion=999999999&resourceVersionMatch=Exact")).await;
    assert!(code == 410 || code == 504 || code == 200, "{code} {body}");
    let (code, body) = get(&dc, &format!("{cms}?continue=garbage")).await;
    assert_eq!(code, 400, "{body}");
}
