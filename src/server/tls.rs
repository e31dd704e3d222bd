//! The server's TLS layer: serving certificates (from files, hot-reloaded, or self-signed for
//! the Service DNS names), client-certificate trust that follows a watched ConfigMap, and the
//! rustls `ServerConfig` that ties them together.
//!
//! One crypto provider: ring, passed explicitly so no process-wide default is needed.

mod accept;
mod client_ca;
mod pem;
mod self_signed;
mod serving;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::version::{TLS12, TLS13};
use rustls::{ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::CertificateDer;

pub use accept::accept;
pub use client_ca::{ClientCaStore, ClientCertTrust};
pub use self_signed::generate_files;
pub use serving::{CertSource, ServingCerts};

/// ALPN protocols offered, in preference order.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Errors of the TLS layer; each names the file, flag or bundle at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: no PEM CERTIFICATE block found (expected the serving certificate, then any intermediates)")]
    NoCertificate { path: PathBuf },
    #[error("{path}: invalid PEM: {detail}")]
    BadPem { path: PathBuf, detail: String },
    #[error("{path}: not a valid X.509 certificate: {detail}")]
    BadCertificate { path: PathBuf, detail: String },
    #[error("{path}: no PEM private key found (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")]
    NoPrivateKey { path: PathBuf },
    #[error("{path}: unusable private key: {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error("{key} does not match the certificate in {cert}: give the key that belongs to that certificate")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("cert-dir {dir}: found neither tls.crt + tls.key nor apiserver.crt + apiserver.key")]
    EmptyCertDir { dir: PathBuf },
    #[error("invalid {what} {value:?}: must be a DNS label (lowercase letters, digits, '-'; at most 63)")]
    InvalidName { what: &'static str, value: String },
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{which} CA bundle: {detail}")]
    CaBundle { which: &'static str, detail: String },
    #[error("building the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("TLS handshake not finished within {0:?}")]
    HandshakeTimeout(Duration),
}

/// Peer certificate chain of an accepted connection, for the HTTP layer (request extensions).
/// Empty when the client sent no certificate.
#[derive(Clone, Default, Debug)]
pub struct PeerCertificates(pub Arc<Vec<CertificateDer<'static>>>);

impl PeerCertificates {
    /// The chain the client presented on `conn` (already verified against the client CAs).
    pub fn from_connection(conn: &rustls::ServerConnection) -> Self {
        Self(Arc::new(conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The ring provider, built once.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: LazyLock<Arc<CryptoProvider>> =
        LazyLock::new(|| Arc::new(rustls::crypto::ring::default_provider()));
    Arc::clone(&PROVIDER)
}

/// rustls `ServerConfig`: TLS 1.3 only unless `allow_legacy_tls` (then 1.2 and 1.3); ALPN h2,
/// http/1.1; client certificates requested, not required, and verified at the handshake against
/// the current union of the `ClientCaStore`'s CAs (an unknown-CA certificate fails the handshake,
/// like Go's `tls.VerifyClientCertIfGiven`).
pub fn server_config(
    certs: Arc<ServingCerts>,
    clients: Arc<ClientCaStore>,
    allow_legacy_tls: bool,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(protocol_versions(allow_legacy_tls))?
        .with_client_cert_verifier(client_ca::handshake_verifier(clients))
        .with_cert_resolver(certs);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn protocol_versions(allow_legacy_tls: bool) -> &'static [&'static SupportedProtocolVersion] {
    static MODERN: [&SupportedProtocolVersion; 1] = [&TLS13];
    static WITH_LEGACY: [&SupportedProtocolVersion; 2] = [&TLS13, &TLS12];
    if allow_legacy_tls { &WITH_LEGACY } else { &MODERN }
}
