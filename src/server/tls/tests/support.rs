//! A test server, rustls clients, and certificate fixtures made with rcgen.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore, ServerConfig, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::server::tls::{PeerCertificates, accept, provider};

pub const SVC: &str = "autoscaling";
pub const NS: &str = "datadog";
pub const SNI: &str = "autoscaling.datadog.svc";
/// Generous: a deadline for a stuck test, never a timing assumption.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What the server saw of one connection: the client's chain, or the handshake error.
pub type Accepted = Result<PeerCertificates, String>;

/// Accepts connections, handshakes, reports each result, writes `ok` and closes.
pub struct TestServer {
    pub addr: SocketAddr,
    pub accepted: mpsc::UnboundedReceiver<Accepted>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(config: Arc<ServerConfig>) -> Self {
        Self::start_with_timeout(config, PATIENCE).await
    }

    pub async fn start_with_timeout(config: Arc<ServerConfig>, handshake_timeout: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, accepted) = mpsc::unbounded_channel();
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve_one(acceptor.clone(), tcp, handshake_timeout, tx.clone()));
            }
        });
        Self { addr, accepted, task }
    }

    /// The next connection's handshake result.
    pub async fn next_accepted(&mut self) -> Accepted {
        tokio::time::timeout(PATIENCE, self.accepted.recv()).await.expect("server saw no connection").expect("open")
    }
}

async fn serve_one(acceptor: TlsAcceptor, tcp: TcpStream, timeout: Duration, tx: mpsc::UnboundedSender<Accepted>) {
    match accept(&acceptor, tcp, timeout).await {
        Ok((mut stream, peer)) => {
            let _ = tx.send(Ok(peer));
            let _ = stream.write_all(b"ok").await;
            let _ = stream.shutdown().await;
        }
        Err(error) => {
            let _ = tx.send(Err(error.to_string()));
        }
    }
}

/// A client certificate and its key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub fn client_config(
    ca_pem: &str,
    versions: &[&'static SupportedProtocolVersion],
    identity: Option<&Identity>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA cert");
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key()).expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // A resumed session shows the certificate of the first handshake: tests look at each one.
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

pub fn tls13_client(ca_pem: &str, identity: Option<&Identity>) -> Arc<ClientConfig> {
    client_config(ca_pem, &[&rustls::version::TLS13], identity)
}

/// What the client saw of a successful connection.
#[derive(Debug)]
pub struct Seen {
    pub leaf: CertificateDer<'static>,
    pub version: Option<ProtocolVersion>,
    pub alpn: Option<Vec<u8>>,
}

/// Handshake as `sni`, read the server's whole answer (`ok`), and report what was seen.
pub async fn connect(addr: SocketAddr, config: Arc<ClientConfig>, sni: &str) -> io::Result<Seen> {
    let name = ServerName::try_from(sni.to_owned()).map_err(io::Error::other)?;
    let tcp = TcpStream::connect(addr).await?;
    let mut stream = tokio::time::timeout(PATIENCE, TlsConnector::from(config).connect(name, tcp)).await??;
    let conn = stream.get_ref().1;
    let leaf = conn.peer_certificates().and_then(|c| c.first()).cloned().ok_or_else(|| io::Error::other("no cert"))?;
    let (version, alpn) = (conn.protocol_version(), conn.alpn_protocol().map(<[u8]>::to_vec));
    let mut body = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut body)).await??;
    if body != b"ok" {
        return Err(io::Error::other(format!("unexpected answer {body:?}")));
    }
    Ok(Seen { leaf, version, alpn })
}

/// A CA for test fixtures.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

/// A PEM certificate and key.
pub struct PemPair {
    pub cert: String,
    pub key: String,
}

impl TestCa {
    pub fn new(cn: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = dn(cn, &[]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("self-signed").pem();
        Self { issuer: Issuer::new(params, key), pem }
    }

    pub fn serving(&self, names: &[&str]) -> PemPair {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        PemPair { cert: cert.pem(), key: key.serialize_pem() }
    }

    pub fn client(&self, cn: &str, organizations: &[&str]) -> Identity {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = dn(cn, organizations);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
        }
    }
}

fn dn(cn: &str, organizations: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    // rcgen keeps one value per attribute type; a second O goes in under its raw OID.
    let types = [DnType::OrganizationName, DnType::CustomDnType(vec![2, 5, 4, 10])];
    for (ty, org) in types.into_iter().zip(organizations) {
        dn.push(ty, *org);
    }
    dn
}

/// DNS SANs of a certificate, sorted.
pub fn dns_sans(der: &CertificateDer<'_>) -> Vec<String> {
    let (_, cert) = X509Certificate::from_der(der).expect("x509");
    let san = cert.subject_alternative_name().expect("SAN ext").expect("has SANs");
    let mut names: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| if let GeneralName::DNSName(d) = n { Some((*d).to_owned()) } else { None })
        .collect();
    names.sort();
    names
}

pub fn common_name(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).expect("x509");
    cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
}

/// Wait (bounded) until `done` holds.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
