//! The serving certificate: loaded from files (and hot-reloaded) or self-signed, and handed to
//! rustls through a lock-free `ArcSwap` on every handshake.

mod reload;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::TlsError;
use super::pem::{self, ServingPair};
use super::self_signed::SelfSignedCa;

/// Where the serving certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// `--tls-cert-file` / `--tls-private-key-file`.
    Files { cert: PathBuf, key: PathBuf },
    /// `--cert-dir`: `tls.crt` + `tls.key` (a Secret volume), else `apiserver.crt` + `apiserver.key`.
    Dir(PathBuf),
    /// A CA and serving certificate made at start for the Service DNS names.
    SelfSigned { service: String, namespace: String },
}

/// File names looked for in a cert dir, in order.
const DIR_PAIRS: [(&str, &str); 2] = [("tls.crt", "tls.key"), ("apiserver.crt", "apiserver.key")];

/// The current serving certificate; a `ResolvesServerCert` for rustls.
pub struct ServingCerts {
    current: ArcSwap<CertifiedKey>,
    not_after: AtomicI64,
    origin: Origin,
    reloads: AtomicU64,
    failures: AtomicU64,
}

/// What the reloader watches or renews.
enum Origin {
    Files(CertFiles),
    SelfSigned(Box<SelfSignedCa>),
}

/// The pair of files and the bytes that were loaded from them at start.
struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    loaded: FileBytes,
}

/// Contents of the cert and key files, compared to notice a change.
#[derive(PartialEq, Eq, Default)]
struct FileBytes {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl ServingCerts {
    /// Load the serving certificate. Errors name the file and what is wrong with it.
    pub fn load(source: &CertSource) -> Result<Arc<Self>, TlsError> {
        let certs = match source {
            CertSource::Files { cert, key } => Self::from_files(cert.clone(), key.clone())?,
            CertSource::Dir(dir) => {
                let (cert, key) = dir_pair(dir)?;
                Self::from_files(cert, key)?
            }
            CertSource::SelfSigned { service, namespace } => Self::self_signed(service, namespace)?,
        };
        Ok(Arc::new(certs))
    }

    /// Self-signed mode: the CA (PEM) to put in an APIService or webhook `caBundle`.
    pub fn ca_pem(&self) -> Option<String> {
        match &self.origin {
            Origin::SelfSigned(ca) => Some(ca.ca_pem().to_owned()),
            Origin::Files(_) => None,
        }
    }

    /// How many times a new certificate was swapped in since start.
    pub fn reload_count(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// How many changed certificate files were rejected (the old certificate was kept).
    pub fn reload_failure_count(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Expiry of the current serving certificate, seconds since the Unix epoch.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after.load(Ordering::Relaxed)
    }

    fn from_files(cert: PathBuf, key: PathBuf) -> Result<Self, TlsError> {
        let loaded = read_files_blocking(&cert, &key)?;
        let pair = pem::serving_pair(&cert, &loaded.cert, &key, &loaded.key)?;
        Ok(Self::new(pair, Origin::Files(CertFiles { cert, key, loaded })))
    }

    fn self_signed(service: &str, namespace: &str) -> Result<Self, TlsError> {
        let ca = SelfSignedCa::new(service, namespace)?;
        let pair = ca.issue_serving()?;
        Ok(Self::new(pair, Origin::SelfSigned(Box::new(ca))))
    }

    fn new(pair: ServingPair, origin: Origin) -> Self {
        Self {
            current: ArcSwap::from_pointee(pair.key),
            not_after: AtomicI64::new(pair.not_after),
            origin,
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Swap in a new pair; the next handshake uses it, handshakes in flight keep the old one.
    fn install(&self, pair: ServingPair) {
        self.current.store(Arc::new(pair.key));
        self.not_after.store(pair.not_after, Ordering::Relaxed);
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }
}

impl ResolvesServerCert for ServingCerts {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl fmt::Debug for ServingCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match &self.origin {
            Origin::Files(files) => format!("files {} + {}", files.cert.display(), files.key.display()),
            Origin::SelfSigned(_) => "self-signed".to_owned(),
        };
        f.debug_struct("ServingCerts")
            .field("origin", &origin)
            .field("not_after", &self.not_after_unix())
            .field("reloads", &self.reload_count())
            .finish_non_exhaustive()
    }
}

/// The cert/key pair of a cert dir: the first pair whose certificate exists.
fn dir_pair(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    DIR_PAIRS
        .iter()
        .map(|(cert, key)| (dir.join(cert), dir.join(key)))
        .find(|(cert, _)| cert.exists())
        .ok_or_else(|| TlsError::EmptyCertDir { dir: dir.to_owned() })
}

fn read_files_blocking(cert: &Path, key: &Path) -> Result<FileBytes, TlsError> {
    let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source });
    Ok(FileBytes { cert: read(cert)?, key: read(key)? })
}
