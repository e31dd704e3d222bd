//! TLS of the external recommender client: rustls with ring, trusting the CA file when one is
//! configured (else the platform's roots), presenting a client certificate when both the
//! certificate and key files are configured.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const CA_KEY: &str = "autoscaling.workload.external_recommender.tls.ca_file";
const CERT_KEY: &str = "autoscaling.workload.external_recommender.tls.cert_file";
const KEY_KEY: &str = "autoscaling.workload.external_recommender.tls.key_file";

/// `autoscaling.workload.external_recommender.tls.*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl TlsFiles {
    /// The client configuration; errors name the key and file at fault.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match &self.ca_file {
            Some(ca) => builder.with_root_certificates(roots(ca)?),
            None => {
                let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(|e| e.to_string())?;
                builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier))
            }
        };
        match (&self.cert_file, &self.key_file) {
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some(cert), Some(key)) => {
                let certs = certificates(cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{KEY_KEY} {}: {e}", key.display()))?;
                builder.with_client_auth_cert(certs, key).map_err(|e| format!("{CERT_KEY} / {KEY_KEY}: {e}"))
            }
            (Some(_), None) => Err(format!("{CERT_KEY} is set but {KEY_KEY} is not: set both or neither")),
            (None, Some(_)) => Err(format!("{KEY_KEY} is set but {CERT_KEY} is not: set both or neither")),
        }
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{CERT_KEY} {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{CERT_KEY} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{CERT_KEY} {}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("{CA_KEY} {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{CA_KEY} {}: {e}", path.display()))?;
        roots.add(cert).map_err(|e| format!("{CA_KEY} {}: unusable certificate: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{CA_KEY} {}: no certificate in the file", path.display()));
    }
    Ok(roots)
}
