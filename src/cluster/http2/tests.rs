//! The HTTP/2 client against small TLS servers on 127.0.0.1 that answer every request with an
//! empty PodList and record their TCP connections, the ALPN protocol each negotiated and the HTTP
//! version of each request: concurrent requests share one HTTP/2 connection; an HTTP/1.1-only
//! server gets the same requests over HTTP/1.1; watch leases pack onto connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Response, Version};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use parking_lot::Mutex;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

use super::*;

const POD_LIST: &str = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[]}"#;

#[derive(Default)]
struct Seen {
    connections: usize,
    alpn: Vec<Option<Vec<u8>>>,
    versions: Vec<Version>,
}

struct TestServer {
    url: String,
    ca: CertificateDer<'static>,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// A server offering `alpn`, answering after `delay`.
    async fn start(alpn: &[&[u8]], delay: Duration) -> TestServer {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let ca = key.cert.der().clone();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ca.clone()], private)
            .unwrap();
        tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                recorded.lock().connections += 1;
                let (acceptor, recorded) = (acceptor.clone(), recorded.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    recorded.lock().alpn.push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let recorded = recorded.clone();
                        async move {
                            recorded.lock().versions.push(request.version());
                            tokio::time::sleep(delay).await;
                            let body = Full::new(Bytes::from_static(POD_LIST.as_bytes()));
                            Response::builder().header("content-type", "application/json").body(body)
                        }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        TestServer { url, ca, seen, task }
    }

    fn config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.url.parse().unwrap());
        config.root_cert = Some(vec![self.ca.to_vec()]);
        config
    }
}

async fn list(client: &kube::Client) -> Result<usize, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let params = Default::default();
    Ok(tokio::time::timeout(Duration::from_secs(30), api.list(&params)).await.expect("list within 30 s")?.items.len())
}

/// The error and its sources, `: `-separated.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    text
}

#[tokio::test]
async fn concurrent_requests_share_one_http2_connection() {
    let server = TestServer::start(&[b"h2", b"http/1.1"], Duration::from_millis(200)).await;
    let client = http2_client(&server.config()).unwrap();
    let lists = (0..8).map(|_| list(&client));
    for listed in futures::future::join_all(lists).await {
        assert_eq!(listed.unwrap(), 0);
    }
    let seen = server.seen.lock();
    assert_eq!(seen.versions, vec![Version::HTTP_2; 8]);
    assert_eq!(seen.connections, 1, "8 concurrent requests on one connection");
    assert_eq!(seen.alpn, vec![Some(b"h2".to_vec())]);
}

#[tokio::test]
async fn a_server_without_h2_gets_http1_from_the_first_request_on() {
    let server = TestServer::start(&[b"http/1.1"], Duration::ZERO).await;
    let client = http2_client(&server.config()).unwrap();
    assert_eq!(list(&client).await.unwrap(), 0);
    assert_eq!(list(&client).await.unwrap(), 0);
    let seen = server.seen.lock();
    assert_eq!(seen.versions, vec![Version::HTTP_11; 2], "both requests answered once, over HTTP/1.1");
    // The refused HTTP/2 attempt (offering h2 and http/1.1), then the kept-alive connection of
    // kube's HTTP/1.1 client (which offers no ALPN).
    assert_eq!(seen.connections, 2);
    assert_eq!(seen.alpn, vec![Some(b"http/1.1".to_vec()), None]);
}

#[tokio::test]
async fn a_server_with_no_alpn_at_all_gets_http1() {
    let server = TestServer::start(&[], Duration::ZERO).await;
    let clients = WatchClients::http2(&server.config()).unwrap();
    let lease = clients.lease();
    assert_eq!(list(lease.client()).await.unwrap(), 0);
    // Once refused, later watches get the HTTP/1.1 client directly.
    let later = clients.lease();
    assert_eq!(list(later.client()).await.unwrap(), 0);
    assert_eq!(clients.connections(), 1, "no HTTP/2 client made after the refusal");
    assert_eq!(server.seen.lock().versions, vec![Version::HTTP_11; 2]);
}

#[tokio::test]
async fn watch_leases_fill_a_connection_before_opening_the_next() {
    let server = TestServer::start(&[b"h2"], Duration::ZERO).await;
    let clients = WatchClients::http2_with_limit(&server.config(), 2).unwrap();
    let mut leases: Vec<WatchLease> = (0..5).map(|_| clients.lease()).collect();
    assert_eq!((clients.connections(), clients.leased()), (3, 5));
    for lease in &leases {
        assert_eq!(list(lease.client()).await.unwrap(), 0);
    }
    assert_eq!(server.seen.lock().connections, 3, "2 + 2 + 1 watches");
    leases.remove(0);
    assert_eq!(clients.leased(), 4);
    leases.push(clients.lease());
    assert_eq!((clients.connections(), clients.leased()), (3, 5), "the freed slot is reused");
    leases.clear();
    assert_eq!(clients.leased(), 0);
}

#[tokio::test]
async fn plain_http_servers_use_http1_directly() {
    let clients = WatchClients::http2(&kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
    let _lease = clients.lease();
    assert_eq!((clients.connections(), clients.leased()), (0, 0));
}

#[tokio::test]
async fn an_unusable_tls_server_name_is_refused_at_build_time() {
    let server = TestServer::start(&[b"h2"], Duration::ZERO).await;
    let mut config = server.config();
    config.tls_server_name = Some("not a host name".into());
    let err = WatchClients::http2(&config).expect_err("refused").to_string();
    assert!(err.contains("invalid server name"), "{err}");
    let err = http2_client(&config).err().expect("refused").to_string();
    assert!(err.contains("invalid server name"), "{err}");
}

#[tokio::test]
async fn tls_server_name_is_what_the_certificate_is_checked_against() {
    let server = TestServer::start(&[b"h2"], Duration::ZERO).await;
    let mut config = server.config();
    config.tls_server_name = Some("elsewhere.example".into());
    let client = http2_client(&config).unwrap();
    let err = list(&client).await.expect_err("the certificate is for 127.0.0.1 only");
    let chain = causes(&err);
    assert!(chain.contains("not valid for name \"elsewhere.example\""), "{chain}");
    config.tls_server_name = Some("127.0.0.1".into());
    assert_eq!(list(&http2_client(&config).unwrap()).await.unwrap(), 0);
}
