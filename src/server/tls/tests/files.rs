//! `certs generate` and loading errors that name the file and the problem.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rcgen::KeyPair;

use super::support::{NS, SNI, SVC, TestCa, TestServer, connect, dns_sans, tls13_client};
use crate::server::tls::{CertSource, ClientCaStore, ServingCerts, TlsError, generate_files, server_config};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test]
async fn generate_files_writes_a_loadable_ca_and_serving_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let written = generate_files(&out, SVC, NS).expect("generate");
    let names: Vec<_> = written.iter().map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or_default()).collect();
    assert_eq!(names, ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert_eq!((mode(&out.join("ca.key")), mode(&out.join("tls.key"))), (0o600, 0o600));
    assert_eq!(mode(&out.join("tls.crt")), 0o644);
    let ca_key = std::fs::read_to_string(out.join("ca.key")).expect("ca.key");
    KeyPair::from_pem(&ca_key).expect("ca.key is a usable key");

    let source = CertSource::Files { cert: out.join("tls.crt"), key: out.join("tls.key") };
    let certs = ServingCerts::load(&source).expect("generated pair loads");
    let ca = std::fs::read_to_string(out.join("ca.crt")).expect("ca.crt");
    let server = TestServer::start(server_config(certs, ClientCaStore::new(), false).expect("config")).await;
    let seen = connect(server.addr, tls13_client(&ca, None), SNI).await.expect("ca.crt verifies tls.crt");
    assert_eq!(dns_sans(&seen.leaf).len(), 4);
}

#[test]
fn generate_files_tightens_an_existing_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("tls.key");
    std::fs::write(&key, "old").expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    generate_files(dir.path(), SVC, NS).expect("generate");
    assert_eq!(mode(&key), 0o600);
}

fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

fn load_files(cert: &Path, key: &Path) -> TlsError {
    ServingCerts::load(&CertSource::Files { cert: cert.to_owned(), key: key.to_owned() }).expect_err("must fail")
}

#[test]
fn load_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("test-ca");
    let (a, b) = (ca.serving(&[SNI]), ca.serving(&[SNI]));
    let cert = write(dir.path(), "a.crt", &a.cert);
    let key = write(dir.path(), "a.key", &a.key);
    let other_key = write(dir.path(), "b.key", &b.key);
    let junk = write(dir.path(), "junk.pem", "not pem at all\n");
    let missing = dir.path().join("missing.crt");

    let error = load_files(&missing, &key).to_string();
    assert!(error.contains("missing.crt") && error.contains("No such file"), "{error}");
    let error = load_files(&junk, &key).to_string();
    assert!(error.contains("junk.pem") && error.contains("no PEM CERTIFICATE"), "{error}");
    let error = load_files(&cert, &junk).to_string();
    assert!(error.contains("junk.pem") && error.contains("no PEM private key"), "{error}");
    let error = load_files(&cert, &other_key);
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error}");
    let error = error.to_string();
    assert!(error.contains("b.key does not match the certificate in") && error.contains("a.crt"), "{error}");
    // A key file holding a certificate is "no key", not a crash.
    let error = load_files(&cert, &cert).to_string();
    assert!(error.contains("a.crt") && error.contains("no PEM private key"), "{error}");
}

#[test]
fn cert_dir_prefers_tls_crt_then_apiserver_crt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = ServingCerts::load(&CertSource::Dir(dir.path().to_owned())).expect_err("empty dir");
    assert!(matches!(error, TlsError::EmptyCertDir { .. }), "{error}");
    assert!(error.to_string().contains("tls.crt + tls.key nor apiserver.crt + apiserver.key"), "{error}");

    let ca = TestCa::new("test-ca");
    let pair = ca.serving(&[SNI]);
    write(dir.path(), "apiserver.crt", &pair.cert);
    write(dir.path(), "apiserver.key", &pair.key);
    ServingCerts::load(&CertSource::Dir(dir.path().to_owned())).expect("apiserver.crt/.key");

    write(dir.path(), "tls.crt", &pair.cert);
    let error = ServingCerts::load(&CertSource::Dir(dir.path().to_owned())).expect_err("tls.key missing");
    assert!(error.to_string().contains("tls.key"), "{error}");
}
