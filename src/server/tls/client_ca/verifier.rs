//! The handshake's client-certificate verifier: reads the store's current CAs on every handshake,
//! so a ConfigMap change applies without rebuilding the `ServerConfig`.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::ClientCaStore;
use crate::server::tls::provider;

/// Requests a client certificate only while some CA is configured; never requires one; a
/// presented certificate must chain to the client or requestheader CA, else the handshake fails.
#[derive(Debug)]
struct DynamicClientVerifier {
    store: Arc<ClientCaStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

pub(in crate::server::tls) fn handshake_verifier(store: Arc<ClientCaStore>) -> Arc<dyn ClientCertVerifier> {
    Arc::new(DynamicClientVerifier { store, algorithms: provider().signature_verification_algorithms })
}

impl ClientCertVerifier for DynamicClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.store.union().is_some()
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    /// No hints: the CAs change at runtime and rustls borrows hints from the verifier. With no
    /// hints, Go and rustls clients send their configured certificate regardless.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        match self.store.union() {
            Some(union) => union.verify_client_cert(end_entity, intermediates, now),
            // The CAs were removed after the certificate request was sent.
            None => Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
