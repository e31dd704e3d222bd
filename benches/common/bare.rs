//! The bare baseline: hyper 1 + hyper-util auto builder on tokio-rustls, one fixed response, with
//! the same TLS setup as our server (TLS 1.3, ALPN h2/http1.1, optional client certificates from
//! the front-proxy and client CAs, ECDSA P-256 serving certificate).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::ExtendedKeyUsagePurpose;
use rustls::server::WebPkiClientVerifier;
use rustls::version::TLS13;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::certs::{Ca, Leaf, ring};
use super::client::{HOST, Reply};

/// A single-chunk body (http-body-util's `Full` without the dependency).
struct Full(Option<Bytes>);

impl Body for Full {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// `nodelay`: set TCP_NODELAY on accepted sockets (a second bare server with it shows what it
/// changes on fresh connections). `read_body`: read each request's body to its end before
/// answering, as a POST handler must (otherwise hyper discards it unread).
pub async fn start_bare(
    tls: Arc<ServerConfig>,
    headers: HeaderMap,
    body: Bytes,
    nodelay: bool,
    read_body: bool,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, headers, body) = (acceptor.clone(), headers.clone(), body.clone());
            tokio::spawn(async move {
                if nodelay {
                    let _ = tcp.set_nodelay(true);
                }
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let mut resp = Response::new(Full(Some(body.clone())));
                    *resp.headers_mut() = headers.clone();
                    async move {
                        if read_body {
                            // An unreadable body still gets the fixed answer: the client checks it.
                            let _ = http_body_util::BodyExt::collect(req.into_body()).await;
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                // The same builder call as the API server's listener.
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Bare servers answering `reply`'s headers (minus those hyper sets itself) and body.
pub struct BareServers {
    /// Without TCP_NODELAY on accepted sockets.
    pub addr: SocketAddr,
    /// With it.
    pub nodelay_addr: SocketAddr,
    /// The serving certificate (also usable by the real binary).
    pub leaf: Leaf,
}

/// The headers of `head` (a response head as the client read it) minus those hyper sets itself.
pub fn reply_headers(head: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').with_context(|| format!("header line {line:?}"))?;
        let k = HeaderName::from_bytes(k.trim().as_bytes())?;
        if ["date", "content-length", "connection", "transfer-encoding"].contains(&k.as_str()) {
            continue;
        }
        headers.append(k, HeaderValue::from_str(v.trim())?);
    }
    Ok(headers)
}

/// The bare servers' TLS: TLS 1.3, ALPN h2/http1.1, the serving certificate `chain` + `key`,
/// optional client certificates verified against `client_roots`.
pub fn server_tls(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: RootCertStore,
) -> anyhow::Result<Arc<ServerConfig>> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), ring()).allow_unauthenticated().build()?;
    let mut tls = ServerConfig::builder_with_provider(ring())
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

/// Starts both bare servers with a serving certificate from `ca`, verifying optional client
/// certificates against the front-proxy and client CAs.
pub async fn start_bare_servers(
    reply: &Reply,
    ca: &Ca,
    front_proxy: &Ca,
    client_ca: &Ca,
) -> anyhow::Result<BareServers> {
    let headers = reply_headers(&reply.head)?;
    let leaf = ca.leaf(HOST, &[HOST], ExtendedKeyUsagePurpose::ServerAuth)?;
    let mut client_roots = RootCertStore::empty();
    client_roots.add(front_proxy.der())?;
    client_roots.add(client_ca.der())?;
    let tls = server_tls(vec![leaf.cert.clone()], leaf.key(), client_roots)?;
    let addr = start_bare(tls.clone(), headers.clone(), reply.body.clone(), false, false).await?;
    let nodelay_addr = start_bare(tls, headers, reply.body.clone(), true, false).await?;
    Ok(BareServers { addr, nodelay_addr, leaf })
}
