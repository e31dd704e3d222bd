//! A test webhook server: HTTPS on 127.0.0.1 with a serving certificate for `<svc>.<ns>.svc`,
//! `localhost` and `127.0.0.1` from its own CA; records every request and answers through a
//! per-test responder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

/// One request as the webhook received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub client_cert: bool,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn request(&self) -> &Value {
        &self.body["request"]
    }
}

/// What the webhook answers.
pub enum Answer {
    /// `response` of an AdmissionReview (uid filled in by the caller's helper).
    Review(Value),
    /// Any status and body.
    Raw(u16, String),
    /// Waits, then answers.
    Slow(Duration, Box<Answer>),
}

pub type Responder = Arc<dyn Fn(&Value) -> Answer + Send + Sync>;

#[derive(Clone)]
struct Shared {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    responder: Responder,
}

pub struct HookServer {
    pub addr: SocketAddr,
    pub ca_pem: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HookServer {
    /// Serves with a certificate for `service.namespace.svc`.
    pub async fn start(service: &str, namespace: &str, responder: Responder) -> HookServer {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "test-webhook-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let names = vec![format!("{service}.{namespace}.svc"), "localhost".into(), "127.0.0.1".into()];
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(names).unwrap().signed_by(&leaf_key, &ca).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        // Optional client certificates, so the test can tell whether one was presented.
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![CertificateDer::from(leaf.der().to_vec())], key)
            .unwrap();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared { recorded: recorded.clone(), responder };
        let task = tokio::spawn(serve(listener, tokio_rustls::TlsAcceptor::from(Arc::new(tls)), shared));
        HookServer { addr, ca_pem: ca.pem(), recorded, task }
    }

    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().clone()
    }

    /// Recorded requests to `path` (without the query).
    pub fn calls_to(&self, path: &str) -> Vec<Recorded> {
        self.recorded().into_iter().filter(|r| r.path.split('?').next() == Some(path)).collect()
    }
}

async fn serve(listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor, shared: Shared) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { return };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let client_cert = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
            let app = Router::new().fallback(handle).with_state((shared, client_cert));
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move { tower::ServiceExt::oneshot(app, req.map(Body::new)).await }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn handle(State((shared, client_cert)): State<(Shared, bool)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 10 << 20).await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    shared.recorded.lock().push(Recorded { path, headers, body: body.clone(), client_cert });
    let mut answer = (shared.responder)(&body);
    loop {
        match answer {
            Answer::Slow(d, next) => {
                tokio::time::sleep(d).await;
                answer = *next;
            }
            Answer::Raw(code, text) => {
                return (axum::http::StatusCode::from_u16(code).unwrap(), text).into_response();
            }
            Answer::Review(mut response) => {
                response["uid"] = body["request"]["uid"].clone();
                let review =
                    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
                return ([("content-type", "application/json")], review.to_string()).into_response();
            }
        }
    }
}

/// `response` allowing the request with a JSONPatch.
pub fn patch(ops: Value) -> Answer {
    let b64 = base64::engine::general_purpose::STANDARD.encode(ops.to_string());
    Answer::Review(json!({"allowed": true, "patchType": "JSONPatch", "patch": b64}))
}

pub fn allow() -> Answer {
    Answer::Review(json!({"allowed": true}))
}
