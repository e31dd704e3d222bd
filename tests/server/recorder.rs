//! A stand-in aggregated API server (like the one that recorded reference/k8s-traffic): HTTPS on
//! 127.0.0.1 with a certificate for `<service>.<namespace>.svc`, requiring a client certificate
//! signed by the given CA (devcluster's front-proxy CA), recording every request. `/apis/<g>/<v>`
//! answers an APIResourceList, `/apis` a legacy APIGroupList, anything else a small JSON object with
//! a `Warning` header.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;

/// One request as the backend saw it (header names lower-case).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

pub struct Recorder {
    pub port: u16,
    pub ca_pem: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().clone()
    }
}

pub async fn start(service: &str, namespace: &str, client_ca_pem: &str) -> Recorder {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "recorder-ca");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
    let serving = CertificateParams::new(vec![format!("{service}.{namespace}.svc")]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = serving.signed_by(&key, &ca).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let log = log.clone();
        async move { answer(&log, req) }
    });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = TowerToHyperService::new(app);
                let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    Recorder { port, ca_pem: ca.pem(), requests }
}

fn answer(log: &Mutex<Vec<Recorded>>, req: Request) -> Response {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let uri = req.uri().to_string();
    log.lock().push(Recorded { method: req.method().to_string(), uri: uri.clone(), headers });
    let path = req.uri().path().trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    let body = match parts.as_slice() {
        ["", "apis"] => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        ["", "apis", g, v] => json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{g}/{v}"),
            "resources": [{"name": "things", "singularName": "thing", "namespaced": true, "kind": "Thing", "verbs": ["get", "list"]}]}),
        _ => json!({"kind": "Recorded", "uri": uri}),
    };
    let mut resp =
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from(body.to_string())).into_response();
    resp.headers_mut().insert(header::WARNING, HeaderValue::from_static("299 - \"recorded\""));
    resp
}
