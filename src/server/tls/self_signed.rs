//! A CA and serving certificate for the Service DNS names (never only `localhost`), made at start
//! when no certificate files are given, or written to disk by `certs generate` for manifests.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use super::TlsError;
use super::pem::{self, ServingPair};

const CA_VALIDITY: Duration = Duration::days(3650);
const SERVING_VALIDITY: Duration = Duration::days(365);
/// Backdating tolerates clocks a little behind ours (the aggregator's, the webhook caller's).
const BACKDATE: Duration = Duration::hours(1);

/// The self-signed CA, kept to renew the serving certificate.
pub(super) struct SelfSignedCa {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    service: String,
    namespace: String,
}

/// A serving certificate and key, PEM-encoded.
pub(super) struct PemPair {
    pub(super) cert: String,
    pub(super) key: String,
}

impl SelfSignedCa {
    pub(super) fn new(service: &str, namespace: &str) -> Result<Self, TlsError> {
        check_dns_label("service name", service)?;
        check_dns_label("namespace", namespace)?;
        let params = ca_params(&format!("{service}.{namespace}.svc"))?;
        let key = KeyPair::generate()?;
        let ca_pem = params.self_signed(&key)?.pem();
        let issuer = Issuer::new(params, key);
        Ok(Self { issuer, ca_pem, service: service.to_owned(), namespace: namespace.to_owned() })
    }

    pub(super) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A new serving certificate (new key) signed by this CA.
    pub(super) fn issue_pem(&self) -> Result<PemPair, TlsError> {
        let params = serving_params(&self.service, &self.namespace)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(PemPair { cert: cert.pem(), key: key.serialize_pem() })
    }

    pub(super) fn issue_serving(&self) -> Result<ServingPair, TlsError> {
        let pair = self.issue_pem()?;
        let origin = Path::new("<self-signed>");
        pem::serving_pair(origin, pair.cert.as_bytes(), origin, pair.key.as_bytes())
    }
}

/// The four names a client may use for the Service.
pub(super) fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

fn ca_params(service_host: &str) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = common_name(&format!("{service_host}-ca"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, CA_VALIDITY);
    Ok(params)
}

fn serving_params(service: &str, namespace: &str) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(service_names(service, namespace))?;
    params.distinguished_name = common_name(&format!("{service}.{namespace}.svc"));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, SERVING_VALIDITY);
    Ok(params)
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn set_validity(params: &mut CertificateParams, validity: Duration) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
}

/// RFC 1123 label, as Kubernetes requires of Service and Namespace names.
fn check_dns_label(what: &'static str, value: &str) -> Result<(), TlsError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let valid = (1..=63).contains(&value.len())
        && value.chars().all(allowed)
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid { Ok(()) } else { Err(TlsError::InvalidName { what, value: value.to_owned() }) }
}

/// `certs generate`: write `ca.crt`, `ca.key`, `tls.crt`, `tls.key` (keys 0600) into `out`.
/// SANs are the four Service names; CN `<svc>.<ns>.svc`; valid 1 year (the CA 10 years).
/// Returns the paths written.
pub fn generate_files(out: &Path, service: &str, namespace: &str) -> Result<Vec<PathBuf>, TlsError> {
    let ca = SelfSignedCa::new(service, namespace)?;
    let serving = ca.issue_pem()?;
    let ca_key = ca.issuer.key().serialize_pem();
    fs::create_dir_all(out).map_err(|source| TlsError::Write { path: out.to_owned(), source })?;
    let files = [
        ("ca.crt", ca.ca_pem.as_str(), 0o644),
        ("ca.key", ca_key.as_str(), 0o600),
        ("tls.crt", serving.cert.as_str(), 0o644),
        ("tls.key", serving.key.as_str(), 0o600),
    ];
    files.iter().map(|(name, pem, mode)| write_file(&out.join(name), pem, *mode)).collect()
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<PathBuf, TlsError> {
    let error = |source| TlsError::Write { path: path.to_owned(), source };
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path).map_err(error)?;
    // `mode` only applies to new files: tighten an existing one too.
    file.set_permissions(fs::Permissions::from_mode(mode)).map_err(error)?;
    file.write_all(contents.as_bytes()).map_err(error)?;
    Ok(path.to_owned())
}
