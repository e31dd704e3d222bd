//! How kube-apiserver reaches something that serves behind a Service: the APIService backends of the
//! aggregation layer and admission webhooks. A Service resolves as kube-aggregator resolves it
//! (ExternalName → that host; otherwise a ready address of its Endpoints), and the connection is
//! TLS verified against the object's `caBundle` with the server name `<service>.<namespace>.svc`.

use std::sync::Arc;

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::Value;

use super::Cluster;

/// Where to connect and which name the serving certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host to dial (a DNS name or an IP address).
    pub host: String,
    pub port: u16,
    /// `<service>.<namespace>.svc`: what the backend's certificate is verified against.
    pub server_name: String,
}

impl Endpoint {
    /// `https://host:port` (IPv6 hosts bracketed).
    pub fn base_url(&self) -> String {
        if self.host.contains(':') {
            format!("https://[{}]:{}", self.host, self.port)
        } else {
            format!("https://{}:{}", self.host, self.port)
        }
    }
}

/// Why a Service could not be resolved, in kube-aggregator's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("service \"{name}\" not found")]
    ServiceNotFound { namespace: String, name: String },
    #[error("no service port {port} found for service \"{name}\"")]
    PortNotFound { name: String, port: u16 },
    #[error("no endpoints available for service \"{name}\"")]
    NoEndpoints { name: String },
}

/// Resolves `namespace/name:port` (the Service port) to an address, as kube-aggregator's endpoint
/// resolver does.
pub fn resolve_service(cluster: &Cluster, namespace: &str, name: &str, port: u16) -> Result<Endpoint, ResolveError> {
    let server_name = format!("{name}.{namespace}.svc");
    let svc = cluster
        .registry
        .lookup("", "v1", "services")
        .and_then(|rt| cluster.op_get(&rt, namespace, name).ok())
        .ok_or_else(|| ResolveError::ServiceNotFound { namespace: namespace.into(), name: name.into() })?;
    if svc["spec"]["type"] == "ExternalName" {
        let host = svc["spec"]["externalName"].as_str().unwrap_or_default().to_string();
        return Ok(Endpoint { host, port, server_name });
    }
    let svc_port = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)))
        .ok_or_else(|| ResolveError::PortNotFound { name: name.into(), port })?;
    let port_name = svc_port["name"].as_str().unwrap_or_default();
    let endpoints =
        cluster.registry.lookup("", "v1", "endpoints").and_then(|rt| cluster.op_get(&rt, namespace, name).ok());
    let subsets = endpoints.as_ref().and_then(|e| e["subsets"].as_array()).cloned().unwrap_or_default();
    for subset in &subsets {
        let Some(target) = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
            .and_then(|p| p["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        if let Some(ip) = subset["addresses"].as_array().into_iter().flatten().find_map(|a| a["ip"].as_str()) {
            return Ok(Endpoint { host: ip.to_string(), port: target, server_name });
        }
    }
    Err(ResolveError::NoEndpoints { name: name.into() })
}

/// Decodes a `caBundle` field as stored in JSON (base64 of PEM).
pub fn decode_ca_bundle(value: &Value) -> Result<Vec<u8>, String> {
    match value.as_str() {
        None | Some("") => Ok(Vec::new()),
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("caBundle is not valid base64: {e}")),
    }
}

/// A client certificate and key (PEM) presented to the backend, e.g. the front-proxy client cert.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

/// rustls client configuration for a backend: trust = `ca_bundle_pem` (or the platform has none here,
/// so an empty bundle trusts nothing), or no verification with `insecure` (insecureSkipTLSVerify).
pub fn client_tls(
    ca_bundle_pem: &[u8],
    insecure: bool,
    identity: Option<&ClientIdentity>,
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_bundle_pem) {
            let cert = cert.map_err(|e| format!("caBundle holds an unreadable certificate: {e}"))?;
            roots.add(cert).map_err(|e| format!("caBundle holds an unusable certificate: {e}"))?;
        }
        builder.with_root_certificates(roots)
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some(id) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| format!("client key: {e}"))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| e.to_string())
        }
    }
}

/// `insecureSkipTLSVerify: true`: signatures are still checked, the chain and name are not.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An HTTP client for one backend: TLS as above, the server name pinned to `endpoint.server_name`
/// whatever host is dialled (kube-apiserver dials the resolved address but verifies the Service name).
pub fn http_client(
    endpoint: &Endpoint,
    tls: ClientConfig,
    timeout: std::time::Duration,
) -> Result<(reqwest::Client, String), String> {
    let base = format!("https://{}:{}", endpoint.server_name, endpoint.port);
    let addrs = resolve_host(&endpoint.host, endpoint.port)?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve_to_addrs(&endpoint.server_name, &addrs)
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((client, base))
}

/// Every address `host` resolves to (`localhost` is both ::1 and 127.0.0.1; a backend may listen on
/// either), tried in order by the client.
fn resolve_host(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(|e| format!("dial tcp: lookup {host}: {e}"))?.collect();
    if addrs.is_empty() {
        return Err(format!("dial tcp: lookup {host}: no such host"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_base_url_is_bracketed() {
        let e = Endpoint { host: "::1".into(), port: 443, server_name: "s.n.svc".into() };
        assert_eq!(e.base_url(), "https://[::1]:443");
    }

    #[test]
    fn ca_bundle_must_be_base64() {
        assert!(decode_ca_bundle(&Value::String("%%%".into())).unwrap_err().contains("base64"));
        assert!(decode_ca_bundle(&Value::Null).unwrap().is_empty());
    }

    #[test]
    fn garbage_bundle_is_an_error_not_a_panic() {
        let err = client_tls(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", false, None);
        assert!(err.is_err());
    }
}
