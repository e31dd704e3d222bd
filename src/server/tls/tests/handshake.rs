//! Handshakes in self-signed mode, protocol versions, ALPN, and bad input on the socket.

use std::sync::Arc;
use std::time::Duration;

use rustls::ProtocolVersion;
use rustls::version::{TLS12, TLS13};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::{NS, PATIENCE, SNI, SVC, TestServer, client_config, common_name, connect, dns_sans, tls13_client};
use crate::server::tls::{CertSource, ClientCaStore, ServingCerts, TlsError, server_config};

fn self_signed() -> Arc<ServingCerts> {
    ServingCerts::load(&CertSource::SelfSigned { service: SVC.into(), namespace: NS.into() }).expect("self-signed")
}

async fn self_signed_server(allow_legacy_tls: bool) -> (TestServer, String) {
    let certs = self_signed();
    let ca = certs.ca_pem().expect("self-signed mode has a CA");
    let config = server_config(certs, ClientCaStore::new(), allow_legacy_tls).expect("config");
    (TestServer::start(config).await, ca)
}

#[tokio::test]
async fn self_signed_serves_the_four_service_names() {
    let (server, ca) = self_signed_server(false).await;
    let seen = connect(server.addr, tls13_client(&ca, None), SNI).await.expect("handshake");
    let mut expected = vec![
        "autoscaling".to_owned(),
        "autoscaling.datadog".to_owned(),
        "autoscaling.datadog.svc".to_owned(),
        "autoscaling.datadog.svc.cluster.local".to_owned(),
    ];
    expected.sort();
    assert_eq!(dns_sans(&seen.leaf), expected);
    assert_eq!(common_name(&seen.leaf).as_deref(), Some(SNI));
    assert_eq!(seen.version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
    for name in &expected {
        connect(server.addr, tls13_client(&ca, None), name).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn self_signed_cert_is_not_for_localhost() {
    let (server, ca) = self_signed_server(false).await;
    let error = connect(server.addr, tls13_client(&ca, None), "localhost").await.expect_err("not valid for localhost");
    assert!(error.to_string().contains("not valid for name \"localhost\""), "{error}");
}

#[tokio::test]
async fn http11_only_client_gets_http11() {
    let (server, ca) = self_signed_server(false).await;
    let mut config = Arc::unwrap_or_clone(tls13_client(&ca, None));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let seen = connect(server.addr, Arc::new(config), SNI).await.expect("handshake");
    assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn tls12_client_rejected_by_default() {
    let (mut server, ca) = self_signed_server(false).await;
    let error = connect(server.addr, client_config(&ca, &[&TLS12], None), SNI).await.expect_err("TLS 1.2 refused");
    assert!(error.to_string().contains("ProtocolVersion"), "{error}");
    let accepted = server.next_accepted().await.expect_err("server refused too");
    assert!(accepted.contains("handshake failed"), "{accepted}");
}

#[tokio::test]
async fn tls12_client_accepted_with_allow_legacy_tls() {
    let (server, ca) = self_signed_server(true).await;
    let seen = connect(server.addr, client_config(&ca, &[&TLS12], None), SNI).await.expect("TLS 1.2 allowed");
    assert_eq!(seen.version, Some(ProtocolVersion::TLSv1_2));
    let seen = connect(server.addr, client_config(&ca, &[&TLS13, &TLS12], None), SNI).await.expect("handshake");
    assert_eq!(seen.version, Some(ProtocolVersion::TLSv1_3), "1.3 still preferred");
}

/// Reads until the server closes; `Ok` or a reset both mean closed, a timeout means it hung.
async fn read_until_closed(tcp: &mut TcpStream) {
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "server kept the connection open");
}

#[tokio::test]
async fn garbage_bytes_close_the_connection() {
    let (mut server, ca) = self_signed_server(false).await;
    for garbage in
        [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0][..], &[0u8; 4096]]
    {
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        tcp.write_all(garbage).await.expect("write");
        read_until_closed(&mut tcp).await;
        let accepted = server.next_accepted().await.expect_err("garbage is no handshake");
        assert!(accepted.contains("handshake failed"), "{accepted}");
    }
    connect(server.addr, tls13_client(&ca, None), SNI).await.expect("server still serves");
}

#[tokio::test]
async fn silent_client_is_closed_after_the_handshake_timeout() {
    let certs = self_signed();
    let config = server_config(certs, ClientCaStore::new(), false).expect("config");
    let mut server = TestServer::start_with_timeout(config, Duration::from_millis(100)).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    read_until_closed(&mut tcp).await;
    let accepted = server.next_accepted().await.expect_err("timed out");
    assert!(accepted.contains("not finished within 100ms"), "{accepted}");
}

#[test]
fn invalid_service_or_namespace_is_refused() {
    for (service, namespace, bad) in
        [("", NS, "service name"), ("Bad_Name", NS, "service name"), (SVC, "a.b", "namespace")]
    {
        let source = CertSource::SelfSigned { service: service.into(), namespace: namespace.into() };
        let error = ServingCerts::load(&source).expect_err("invalid name");
        assert!(matches!(error, TlsError::InvalidName { what, .. } if what == bad), "{error}");
    }
}

#[test]
fn files_mode_has_no_ca_to_publish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = crate::server::tls::generate_files(dir.path(), SVC, NS).expect("generate");
    assert_eq!(written.len(), 4);
    let certs = ServingCerts::load(&CertSource::Dir(dir.path().to_owned())).expect("load");
    assert_eq!(certs.ca_pem(), None);
    assert!(self_signed().ca_pem().is_some_and(|ca| ca.starts_with("-----BEGIN CERTIFICATE-----")));
}
