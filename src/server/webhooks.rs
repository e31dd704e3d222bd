//! Admission webhooks on the secure port (`/autoscaling`, …): POSTed AdmissionReviews answered by
//! an [`AdmissionWebhook`]. kube-apiserver calls webhooks without client credentials, so these
//! routes sit outside the authentication gate (as the DCA serves them on its own listener).

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body as _;

/// The largest AdmissionReview accepted (kube-apiserver's own request limit is 3 MiB).
const MAX_REVIEW_BYTES: usize = 6 * 1024 * 1024;

/// Answers one AdmissionReview from in-memory state.
pub trait AdmissionWebhook: Send + Sync {
    /// The response AdmissionReview for the request AdmissionReview `body`.
    fn review(&self, body: &[u8]) -> Vec<u8>;
}

/// Webhooks by path (`/autoscaling`).
#[derive(Default, Clone)]
pub struct Webhooks {
    routes: Vec<(String, Arc<dyn AdmissionWebhook>)>,
}

impl Webhooks {
    pub fn with(mut self, path: &str, webhook: Arc<dyn AdmissionWebhook>) -> Self {
        self.routes.push((path.to_string(), webhook));
        self
    }

    /// The webhook served at `path`, if any.
    pub fn find(&self, path: &str) -> Option<Arc<dyn AdmissionWebhook>> {
        self.routes.iter().find(|(p, _)| p == path).map(|(_, w)| w.clone())
    }
}

/// One AdmissionReview POST: the body (at most [`MAX_REVIEW_BYTES`], else 413) to `webhook`.
pub async fn respond(webhook: &dyn AdmissionWebhook, body: axum::body::Body) -> axum::response::Response {
    match read_body(body, MAX_REVIEW_BYTES).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], review_or_allow(webhook, &bytes)).into_response(),
        Err(e) => (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!("cannot read the AdmissionReview (limit {MAX_REVIEW_BYTES} bytes): {e}"),
        )
            .into_response(),
    }
}

/// The request body, at most `limit` bytes. A body that arrives as one chunk (a review of a few
/// KiB usually does) is passed on as it is, neither collected nor copied.
async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<Bytes, String> {
    if body.size_hint().lower() > limit as u64 {
        return Err("length limit exceeded".into());
    }
    let (mut first, mut rest, mut total) = (None::<Bytes>, Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() else { continue };
        total += data.len();
        if total > limit {
            return Err("length limit exceeded".into());
        }
        match first.take() {
            None if rest.is_empty() => first = Some(data),
            earlier => {
                rest.extend_from_slice(earlier.as_deref().unwrap_or_default());
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(rest)))
}

/// The webhook's answer; should it panic (a bug), "allowed, no patch" with a message saying so,
/// so kube-apiserver still gets a valid AdmissionReview and the pod is admitted.
fn review_or_allow(webhook: &dyn AdmissionWebhook, body: &[u8]) -> Vec<u8> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| webhook.review(body))) {
        Ok(answer) => answer,
        Err(_) => {
            tracing::error!("admission webhook panicked; answered allowed without a patch");
            allow(body, Some("internal error in the admission webhook (see the server log); allowed unchanged"))
        }
    }
}

/// Answers every AdmissionReview "allowed, no patch", reading only its `apiVersion` and
/// `request.uid`: what a webhook path answers while its feature is off (autoscaling disabled, or
/// a handler not built). kube-apiserver then sees a normal answer — with `failurePolicy: Ignore`
/// an error would be ignored too, but each one is logged, counted as a failed-open call and costs
/// an anonymous authorization round trip behind our authentication gate.
pub struct AllowUnchanged;

#[derive(serde::Deserialize, Default)]
struct Envelope {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    request: Option<EnvelopeRequest>,
}

#[derive(serde::Deserialize, Default)]
struct EnvelopeRequest {
    #[serde(default)]
    uid: Option<String>,
}

impl AdmissionWebhook for AllowUnchanged {
    fn review(&self, body: &[u8]) -> Vec<u8> {
        allow(body, None)
    }
}

/// "Allowed, no patch" for the review in `body`, with `message` when given.
fn allow(body: &[u8], message: Option<&str>) -> Vec<u8> {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let api_version = envelope.api_version.filter(|v| v == "admission.k8s.io/v1beta1");
    let api_version = api_version.as_deref().unwrap_or("admission.k8s.io/v1");
    let uid = envelope.request.and_then(|r| r.uid).unwrap_or_default();
    let mut response = serde_json::json!({"uid": uid, "allowed": true});
    if let Some(message) = message {
        response["status"] = serde_json::json!({"message": message});
    }
    let out = serde_json::json!({"apiVersion": api_version, "kind": "AdmissionReview", "response": response});
    serde_json::to_vec(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_unchanged_echoes_the_uid_and_never_patches() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
            "request":{"uid":"u-1","object":{"metadata":{"name":"p"}}}}"#;
        let out: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(body)).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": "u-1", "allowed": true}})
        );
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u-2"}}"#;
        let out: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(v1beta1)).unwrap();
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(out["response"]["uid"], "u-2");
        let garbage: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(b"\xff{not json")).unwrap();
        assert_eq!(garbage["response"], serde_json::json!({"uid": "", "allowed": true}));
    }

    struct Panics;

    impl AdmissionWebhook for Panics {
        fn review(&self, _: &[u8]) -> Vec<u8> {
            panic!("a bug")
        }
    }

    #[tokio::test]
    async fn a_panicking_webhook_still_answers_a_valid_review() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-3"}}"#;
        let resp = respond(&Panics, axum::body::Body::from(body.to_vec())).await;
        assert_eq!(resp.status(), axum::http::StatusCode::OK);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let out: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(out["kind"], "AdmissionReview");
        assert_eq!(out["response"]["uid"], "u-3");
        assert_eq!(out["response"]["allowed"], true);
        assert!(out["response"].get("patch").is_none());
        let message = out["response"]["status"]["message"].as_str().unwrap();
        assert!(message.starts_with("internal error in the admission webhook"), "{message}");
    }

    #[tokio::test]
    async fn an_oversized_review_is_refused_with_a_message() {
        let body = vec![b' '; MAX_REVIEW_BYTES + 1];
        let resp = respond(&AllowUnchanged, axum::body::Body::from(body)).await;
        assert_eq!(resp.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("cannot read the AdmissionReview (limit 6291456 bytes)"), "{text}");
    }

    /// Echoes what it was given.
    struct Echo;

    impl AdmissionWebhook for Echo {
        fn review(&self, body: &[u8]) -> Vec<u8> {
            body.to_vec()
        }
    }

    fn chunked(chunks: &[&'static str]) -> axum::body::Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))).collect();
        axum::body::Body::from_stream(futures::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_in_one_or_many_chunks_reaches_the_webhook_whole() {
        for chunks in [&["{\"one\": 1}"][..], &["", "{\"a\"", ": ", "", "1}"], &["{}", ""], &[]] {
            let resp = respond(&Echo, chunked(chunks)).await;
            assert_eq!(resp.status(), axum::http::StatusCode::OK);
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            assert_eq!(bytes, chunks.concat().as_bytes(), "{chunks:?}");
        }
        let over = read_body(chunked(&["12345", "6"]), 5).await;
        assert_eq!(over, Err("length limit exceeded".to_string()), "counted over every chunk");
        assert_eq!(read_body(chunked(&["12", "345"]), 5).await.unwrap(), "12345");
    }
}
