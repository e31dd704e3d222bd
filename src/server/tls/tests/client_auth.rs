//! Client certificates: requested, not required, verified at the handshake against the current
//! client and requestheader CAs, and attributed to a CA afterwards by `ClientCaStore::verify`.

use std::sync::Arc;

use rustls::version::{TLS12, TLS13};

use super::support::{Identity, NS, SNI, SVC, TestCa, TestServer, client_config, connect, tls13_client};
use crate::server::tls::{
    CertSource, ClientCaStore, ClientCertTrust, PeerCertificates, ServingCerts, TlsError, server_config,
};

struct Fixture {
    server: TestServer,
    serving_ca: String,
    store: Arc<ClientCaStore>,
}

async fn fixture(allow_legacy_tls: bool) -> Fixture {
    let certs =
        ServingCerts::load(&CertSource::SelfSigned { service: SVC.into(), namespace: NS.into() }).expect("load");
    let serving_ca = certs.ca_pem().expect("CA");
    let store = ClientCaStore::new();
    let server = TestServer::start(server_config(certs, Arc::clone(&store), allow_legacy_tls).expect("cfg")).await;
    Fixture { server, serving_ca, store }
}

impl Fixture {
    /// Connect with `identity`; the chain the server accepted, or the server's handshake error.
    async fn present(&mut self, identity: Option<&Identity>) -> Result<PeerCertificates, String> {
        let client = connect(self.server.addr, tls13_client(&self.serving_ca, identity), SNI).await;
        let accepted = self.server.next_accepted().await;
        assert_eq!(client.is_ok(), accepted.is_ok(), "client {client:?} vs server {accepted:?}");
        accepted
    }
}

fn trust(client_ca: bool, requestheader_ca: bool, cn: &str, orgs: &[&str]) -> ClientCertTrust {
    ClientCertTrust {
        client_ca,
        requestheader_ca,
        common_name: Some(cn.to_owned()),
        organizations: orgs.iter().map(|o| (*o).to_owned()).collect(),
    }
}

#[tokio::test]
async fn client_ca_cert_is_accepted_and_attributed() {
    let mut fx = fixture(false).await;
    let (client_ca, front_proxy_ca) = (TestCa::new("client-ca"), TestCa::new("front-proxy-ca"));
    fx.store.set(Some(&client_ca.pem), Some(&front_proxy_ca.pem)).expect("set");

    let alice = client_ca.client("alice", &["dev", "ops"]);
    let peer = fx.present(Some(&alice)).await.expect("accepted");
    assert_eq!(peer.0.as_slice(), alice.chain.as_slice());
    assert_eq!(fx.store.verify(&peer.0), trust(true, false, "alice", &["dev", "ops"]));

    let proxy = front_proxy_ca.client("front-proxy-client", &[]);
    let peer = fx.present(Some(&proxy)).await.expect("accepted");
    assert_eq!(fx.store.verify(&peer.0), trust(false, true, "front-proxy-client", &[]));
}

#[tokio::test]
async fn one_ca_for_both_roles_matches_both() {
    let mut fx = fixture(false).await;
    let ca = TestCa::new("cluster-ca");
    fx.store.set(Some(&ca.pem), Some(&ca.pem)).expect("set");
    let peer = fx.present(Some(&ca.client("aggregator", &["system:masters"]))).await.expect("accepted");
    assert_eq!(fx.store.verify(&peer.0), trust(true, true, "aggregator", &["system:masters"]));
}

#[tokio::test]
async fn unknown_ca_cert_fails_the_handshake() {
    let mut fx = fixture(false).await;
    fx.store.set(Some(&TestCa::new("client-ca").pem), None).expect("set");
    let stranger = TestCa::new("stranger-ca").client("mallory", &["system:masters"]);
    let error = fx.present(Some(&stranger)).await.expect_err("unknown CA");
    assert!(error.contains("UnknownIssuer"), "{error}");
    // Trusted by neither CA, yet visible as a presented certificate (authentication says 401).
    assert_eq!(fx.store.verify(&stranger.chain), trust(false, false, "mallory", &["system:masters"]));
}

#[tokio::test]
async fn no_client_cert_is_fine() {
    let mut fx = fixture(false).await;
    fx.store.set(Some(&TestCa::new("client-ca").pem), None).expect("set");
    let peer = fx.present(None).await.expect("no cert is allowed");
    assert!(peer.is_empty());
    assert_eq!(fx.store.verify(&peer.0), ClientCertTrust::default());
}

#[tokio::test]
async fn without_client_cas_no_cert_is_requested() {
    let mut fx = fixture(false).await;
    let anyone = TestCa::new("any-ca").client("bob", &[]);
    let peer = fx.present(Some(&anyone)).await.expect("not requested, so not checked");
    assert!(peer.is_empty(), "the client was not asked for its certificate");
}

#[tokio::test]
async fn replacing_the_ca_applies_to_the_next_handshake() {
    let mut fx = fixture(false).await;
    let (old_ca, new_ca) = (TestCa::new("old-ca"), TestCa::new("new-ca"));
    let (old_client, new_client) = (old_ca.client("old", &[]), new_ca.client("new", &[]));
    fx.store.set(Some(&old_ca.pem), None).expect("set");
    fx.present(Some(&old_client)).await.expect("old CA trusted");
    fx.present(Some(&new_client)).await.expect_err("new CA not yet trusted");

    fx.store.set(None, Some(&new_ca.pem)).expect("set");
    let peer = fx.present(Some(&new_client)).await.expect("new CA trusted");
    assert_eq!(fx.store.verify(&peer.0), trust(false, true, "new", &[]));
    fx.present(Some(&old_client)).await.expect_err("old CA dropped");
}

#[tokio::test]
async fn bad_ca_bundle_is_refused_and_the_old_one_kept() {
    let mut fx = fixture(false).await;
    let ca = TestCa::new("client-ca");
    fx.store.set(Some(&ca.pem), None).expect("set");
    let error = fx.store.set(Some(&ca.pem), Some("not a certificate")).expect_err("bad bundle");
    assert!(matches!(&error, TlsError::CaBundle { which, .. } if which.starts_with("requestheader")), "{error}");
    assert!(error.to_string().contains("no PEM CERTIFICATE"), "{error}");
    let peer = fx.present(Some(&ca.client("carol", &[]))).await.expect("old CA still trusted");
    assert!(fx.store.verify(&peer.0).client_ca);
    fx.store.set(Some("  \n"), None).expect("blank means none");
    assert!(!fx.store.verify(&peer.0).client_ca);
}

#[tokio::test]
async fn client_cert_over_tls12_with_legacy_allowed() {
    let mut fx = fixture(true).await;
    let ca = TestCa::new("client-ca");
    fx.store.set(Some(&ca.pem), None).expect("set");
    let dave = ca.client("dave", &["qa"]);
    let client = client_config(&fx.serving_ca, &[&TLS12], Some(&dave));
    connect(fx.server.addr, client, SNI).await.expect("TLS 1.2 handshake with a client cert");
    let peer = fx.server.next_accepted().await.expect("accepted");
    assert_eq!(fx.store.verify(&peer.0), trust(true, false, "dave", &["qa"]));
    let stranger = TestCa::new("stranger-ca").client("eve", &[]);
    let client = client_config(&fx.serving_ca, &[&TLS13, &TLS12], Some(&stranger));
    connect(fx.server.addr, client, SNI).await.expect_err("unknown CA over TLS 1.3 too");
}

#[test]
fn verify_of_garbage_or_empty_chains_trusts_nothing() {
    let store = ClientCaStore::new();
    store.set(Some(&TestCa::new("client-ca").pem), None).expect("set");
    assert_eq!(store.verify(&[]), ClientCertTrust::default());
    let garbage = rustls::pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert_eq!(store.verify(&[garbage]), ClientCertTrust::default());
}
