//! Hot reload: a Secret volume's `..data` symlink swap, in-flight connections, bad new files,
//! and self-signed renewal.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::watch;

use super::support::{NS, PATIENCE, PemPair, SNI, SVC, TestCa, TestServer, connect, tls13_client, wait_until};
use crate::server::tls::{CertSource, ClientCaStore, ServingCerts, server_config};

const POLL: Duration = Duration::from_millis(20);

/// A directory laid out like a mounted Secret: `tls.crt -> ..data/tls.crt`, `..data -> ..<version>`.
struct SecretVolume {
    dir: tempfile::TempDir,
}

impl SecretVolume {
    fn new(pair: &PemPair) -> Self {
        let volume = Self { dir: tempfile::tempdir().expect("tempdir") };
        volume.write_version("..v1", pair);
        symlink("..v1", volume.path().join("..data")).expect("..data");
        for name in ["tls.crt", "tls.key"] {
            symlink(format!("..data/{name}"), volume.path().join(name)).expect("file link");
        }
        volume
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write_version(&self, version: &str, pair: &PemPair) {
        let dir = self.path().join(version);
        std::fs::create_dir(&dir).expect("version dir");
        std::fs::write(dir.join("tls.crt"), &pair.cert).expect("tls.crt");
        std::fs::write(dir.join("tls.key"), &pair.key).expect("tls.key");
    }

    /// What the kubelet does: write the new version, then atomically repoint `..data`.
    fn swap_to(&self, version: &str, pair: &PemPair) {
        self.write_version(version, pair);
        let tmp = self.path().join("..data_tmp");
        symlink(version, &tmp).expect("tmp link");
        std::fs::rename(&tmp, self.path().join("..data")).expect("atomic swap");
    }
}

fn leaf_of(pair: &PemPair) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pair.cert.as_bytes()).expect("cert")
}

struct Fixture {
    ca: TestCa,
    certs: Arc<ServingCerts>,
    server: TestServer,
    stop: watch::Sender<bool>,
    reloader: tokio::task::JoinHandle<()>,
}

async fn serve(source: &CertSource, ca: TestCa) -> Fixture {
    let certs = ServingCerts::load(source).expect("load");
    let (stop, stop_rx) = watch::channel(false);
    let reloader = certs.spawn_reloader(POLL, stop_rx);
    let server =
        TestServer::start(server_config(Arc::clone(&certs), ClientCaStore::new(), false).expect("config")).await;
    Fixture { ca, certs, server, stop, reloader }
}

impl Fixture {
    fn client(&self) -> Arc<ClientConfig> {
        tls13_client(&self.ca.pem, None)
    }

    async fn served_leaf(&self) -> CertificateDer<'static> {
        connect(self.server.addr, self.client(), SNI).await.expect("handshake").leaf
    }
}

/// Connect in a loop until `stop` is set and the server has presented `until`; every result kept.
async fn connect_loop(
    addr: std::net::SocketAddr,
    client: Arc<ClientConfig>,
    until: CertificateDer<'static>,
    stop: Arc<AtomicBool>,
) -> Vec<Result<CertificateDer<'static>, String>> {
    let mut results = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        let result = connect(addr, Arc::clone(&client), SNI).await.map(|s| s.leaf).map_err(|e| e.to_string());
        let done = stop.load(Ordering::Relaxed) && result.as_ref().is_ok_and(|leaf| *leaf == until);
        results.push(result);
        if done {
            break;
        }
    }
    results
}

#[tokio::test]
async fn secret_volume_swap_is_served_without_a_failed_connection() {
    let ca = TestCa::new("serving-ca");
    let (a, b) = (ca.serving(&[SNI]), ca.serving(&[SNI]));
    let volume = SecretVolume::new(&a);
    let fixture = serve(&CertSource::Dir(volume.path().to_owned()), ca).await;
    assert_eq!(fixture.served_leaf().await, leaf_of(&a));

    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = tokio::spawn(connect_loop(fixture.server.addr, fixture.client(), leaf_of(&b), Arc::clone(&stop)));
    tokio::time::sleep(POLL * 3).await;
    volume.swap_to("..v2", &b);
    wait_until("the reload", || fixture.certs.reload_count() == 1).await;
    stop.store(true, Ordering::Relaxed);

    assert_eq!(fixture.served_leaf().await, leaf_of(&b), "the next connection presents B");
    let results = in_flight.await.expect("loop");
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "failed during the swap: {failures:?}");
    assert!(results.iter().any(|r| r.as_ref().is_ok_and(|l| *l == leaf_of(&a))), "loop saw A");
    assert!(results.iter().any(|r| r.as_ref().is_ok_and(|l| *l == leaf_of(&b))), "loop saw B");
    assert_eq!((fixture.certs.reload_count(), fixture.certs.reload_failure_count()), (1, 0));
}

#[tokio::test]
async fn bad_new_files_keep_the_old_certificate() {
    let ca = TestCa::new("serving-ca");
    let (a, b) = (ca.serving(&[SNI]), ca.serving(&[SNI]));
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("serving.pem"), dir.path().join("serving-key.pem"));
    std::fs::write(&cert, &a.cert).expect("cert");
    std::fs::write(&key, &a.key).expect("key");
    let fixture = serve(&CertSource::Files { cert: cert.clone(), key: key.clone() }, ca).await;

    // B's key with A's certificate: a mismatch, rejected.
    std::fs::write(&key, &b.key).expect("key");
    wait_until("the rejection", || fixture.certs.reload_failure_count() == 1).await;
    assert_eq!(fixture.certs.reload_count(), 0);
    assert_eq!(fixture.served_leaf().await, leaf_of(&a), "old pair kept");

    // Garbage, then a missing file: still A.
    std::fs::write(&cert, "garbage").expect("cert");
    wait_until("the second rejection", || fixture.certs.reload_failure_count() == 2).await;
    std::fs::remove_file(&cert).expect("rm");
    tokio::time::sleep(POLL * 3).await;
    assert_eq!(fixture.served_leaf().await, leaf_of(&a), "old pair kept");

    // Fixed: B is loaded.
    std::fs::write(&cert, &b.cert).expect("cert");
    wait_until("the reload", || fixture.certs.reload_count() == 1).await;
    assert_eq!(fixture.served_leaf().await, leaf_of(&b));
    assert_eq!(fixture.certs.reload_failure_count(), 2);
}

#[tokio::test]
async fn reloader_stops_on_the_shutdown_signal() {
    let ca = TestCa::new("serving-ca");
    let volume = SecretVolume::new(&ca.serving(&[SNI]));
    let Fixture { stop, reloader, .. } = serve(&CertSource::Dir(volume.path().to_owned()), ca).await;
    stop.send(true).expect("send");
    tokio::time::timeout(PATIENCE, reloader).await.expect("reloader ended").expect("no panic");
}

#[tokio::test]
async fn self_signed_serving_cert_is_renewed_before_expiry() {
    let certs =
        ServingCerts::load(&CertSource::SelfSigned { service: SVC.into(), namespace: NS.into() }).expect("load");
    let ca_pem = certs.ca_pem().expect("CA");
    let server = TestServer::start(server_config(Arc::clone(&certs), ClientCaStore::new(), false).expect("cfg")).await;
    let first = connect(server.addr, tls13_client(&ca_pem, None), SNI).await.expect("handshake").leaf;
    let ca = certs.self_signed_ca().expect("self-signed");
    let not_after = certs.not_after_unix();

    certs.renew_if_expiring(ca, not_after - 60 * 24 * 3600);
    assert_eq!(certs.reload_count(), 0, "60 days left: nothing to do");
    certs.renew_if_expiring(ca, not_after - 24 * 3600);
    assert_eq!(certs.reload_count(), 1, "one day left: renewed");

    let renewed = connect(server.addr, tls13_client(&ca_pem, None), SNI).await.expect("same CA verifies");
    assert_ne!(renewed.leaf, first);
    assert!(certs.not_after_unix() >= not_after);
}
