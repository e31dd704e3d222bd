//! Client-certificate trust that changes at runtime: the client CA and the front-proxy
//! (requestheader) CA come from the watched `extension-apiserver-authentication` ConfigMap.

mod verifier;

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{TlsError, pem, provider};

pub(super) use verifier::handshake_verifier;

/// The current client CAs; swapped whole by `set`, read lock-free by every handshake.
pub struct ClientCaStore {
    state: ArcSwap<TrustState>,
    /// Bumped by every `set`, so per-connection results know when to re-verify.
    generation: std::sync::atomic::AtomicU64,
}

/// Verifiers built from one `set` call. `None`: no CA of that kind.
#[derive(Default)]
struct TrustState {
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    requestheader_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// Both bundles together: what the handshake checks a presented certificate against.
    union: Option<Arc<dyn ClientCertVerifier>>,
}

/// Which CA a presented chain verifies against, and the leaf's subject CN and O values.
/// The subject is filled whenever the leaf parses, so a caller can tell "a certificate from an
/// unknown CA" from "no certificate"; only trust it when `client_ca` or `requestheader_ca` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCertTrust {
    pub client_ca: bool,
    pub requestheader_ca: bool,
    pub common_name: Option<String>,
    pub organizations: Vec<String>,
}

impl ClientCaStore {
    /// A store that trusts no client certificate until `set`.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { state: ArcSwap::from_pointee(TrustState::default()), generation: Default::default() })
    }

    /// Replace both CA bundles (PEM; `None` or blank: none of that kind). Takes effect for the
    /// next handshake. On error nothing changes.
    pub fn set(&self, client_ca_pem: Option<&str>, requestheader_ca_pem: Option<&str>) -> Result<(), TlsError> {
        let client = bundle("client", client_ca_pem)?;
        let requestheader = bundle("requestheader (front-proxy)", requestheader_ca_pem)?;
        let union: Vec<_> = client.iter().chain(&requestheader).cloned().collect();
        let state = TrustState {
            client_ca: verifier("client", client)?,
            requestheader_ca: verifier("requestheader (front-proxy)", requestheader)?,
            union: verifier("client + requestheader", union)?,
        };
        self.state.store(Arc::new(state));
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Changes whenever the CAs are replaced.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Which CA `chain` (leaf first, as presented) verifies against, now.
    pub fn verify(&self, chain: &[CertificateDer<'_>]) -> ClientCertTrust {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return ClientCertTrust::default();
        };
        let state = self.state.load();
        let now = UnixTime::now();
        let accepts = |v: &Option<Arc<dyn ClientCertVerifier>>| {
            v.as_ref().is_some_and(|v| v.verify_client_cert(leaf, intermediates, now).is_ok())
        };
        let mut trust = ClientCertTrust {
            client_ca: accepts(&state.client_ca),
            requestheader_ca: accepts(&state.requestheader_ca),
            ..ClientCertTrust::default()
        };
        fill_subject(&mut trust, leaf);
        trust
    }

    fn union(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        self.state.load().union.clone()
    }
}

impl std::fmt::Debug for ClientCaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.load();
        f.debug_struct("ClientCaStore")
            .field("client_ca", &state.client_ca.is_some())
            .field("requestheader_ca", &state.requestheader_ca.is_some())
            .finish()
    }
}

fn bundle(which: &'static str, pem_text: Option<&str>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    match pem_text.map(str::trim) {
        None | Some("") => Ok(Vec::new()),
        Some(text) => pem::cert_chain(std::path::Path::new(which), text.as_bytes())
            .map_err(|e| TlsError::CaBundle { which, detail: e.to_string() }),
    }
}

/// A verifier for `roots` that lets clients without a certificate through; `None` if no roots.
fn verifier(
    which: &'static str,
    roots: Vec<CertificateDer<'static>>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    if roots.is_empty() {
        return Ok(None);
    }
    let ca_error = |detail: String| TlsError::CaBundle { which, detail };
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root).map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider())
        .allow_unauthenticated()
        .build()
        .map(Some)
        .map_err(|e| ca_error(e.to_string()))
}

fn fill_subject(trust: &mut ClientCertTrust, leaf: &CertificateDer<'_>) {
    let Ok((_, cert)) = X509Certificate::from_der(leaf) else {
        return;
    };
    let subject = cert.subject();
    trust.common_name = subject.iter_common_name().find_map(|cn| cn.as_str().ok()).map(str::to_owned);
    trust.organizations = subject.iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_owned).collect();
}
