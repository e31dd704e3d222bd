//! PEM → rustls types, with errors that name the file and what is wrong with it.

use std::path::Path;

use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{TlsError, provider};

/// A serving certificate chain and its key, checked to belong together.
pub(super) struct ServingPair {
    pub(super) key: CertifiedKey,
    /// Expiry of the leaf, seconds since the Unix epoch.
    pub(super) not_after: i64,
}

/// Parse and check a serving pair; `cert_path`/`key_path` only name the sources in errors.
pub(super) fn serving_pair(
    cert_path: &Path,
    cert_pem: &[u8],
    key_path: &Path,
    key_pem: &[u8],
) -> Result<ServingPair, TlsError> {
    let chain = cert_chain(cert_path, cert_pem)?;
    let not_after = leaf_not_after(cert_path, &chain[0])?;
    let key = private_key(key_path, key_pem)?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::BadKey { path: key_path.to_owned(), detail: e.to_string() })?;
    let certified = CertifiedKey::new(chain, signing_key);
    check_keys_match(&certified, cert_path, key_path)?;
    Ok(ServingPair { key: certified, not_after })
}

/// All CERTIFICATE blocks of `pem`, in order; at least one.
pub(super) fn cert_chain(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(chain)
}

fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey { path: path.to_owned() },
        other => pem_error(path, other),
    })
}

fn pem_error(path: &Path, error: pem::Error) -> TlsError {
    TlsError::BadPem { path: path.to_owned(), detail: error.to_string() }
}

fn leaf_not_after(path: &Path, leaf: &CertificateDer<'_>) -> Result<i64, TlsError> {
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|e| TlsError::BadCertificate { path: path.to_owned(), detail: e.to_string() })?;
    Ok(cert.validity().not_after.timestamp())
}

fn check_keys_match(certified: &CertifiedKey, cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    match certified.keys_match() {
        // ring can always derive the public key; "unknown" only happens with exotic keys.
        Ok(()) | Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(()),
        Err(RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch { cert: cert_path.to_owned(), key: key_path.to_owned() })
        }
        Err(e) => Err(TlsError::BadCertificate { path: cert_path.to_owned(), detail: e.to_string() }),
    }
}
