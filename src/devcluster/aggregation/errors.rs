//! Transport failures worded as Go's `net/http` and `crypto/tls` word them, since kube-aggregator puts
//! those texts in APIService conditions and in the bodies of its 503 answers.

use std::error::Error as StdError;
use std::io;

/// Why a request to `dialled` (`host:port`) failed, e.g. `dial tcp 127.0.0.1:1: connect: connection
/// refused` or `context deadline exceeded (Client.Timeout exceeded while awaiting headers)`.
pub fn cause(err: &reqwest::Error, dialled: &str) -> String {
    if err.is_timeout() {
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into();
    }
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_text(tls);
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return tls_text(tls);
            }
            return io_text(io, dialled);
        }
        source = e.source();
    }
    chain(err)
}

fn io_text(e: &io::Error, dialled: &str) -> String {
    let why = match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "read: connection reset by peer".to_string(),
        io::ErrorKind::TimedOut => "i/o timeout".to_string(),
        io::ErrorKind::UnexpectedEof => return "EOF".into(),
        _ => e.to_string(),
    };
    format!("dial tcp {dialled}: {why}")
}

fn tls_text(e: &rustls::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority".into()
        }
        Error::InvalidCertificate(CertificateError::NotValidForName)
        | Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate is not valid for the requested name".into()
        }
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid".into()
        }
        Error::AlertReceived(AlertDescription::BadCertificate) => "remote error: tls: bad certificate".into(),
        Error::AlertReceived(AlertDescription::CertificateRequired) => "remote error: tls: certificate required".into(),
        other => format!("tls: {other}"),
    }
}

/// The error and its causes joined with `: ` (reqwest's own display names only the top layer).
fn chain(err: &dyn StdError) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// `host:port` as Go prints a dialled address (IPv6 bracketed).
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_like_go_dial_errors() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_text(&refused, "127.0.0.1:1"), "dial tcp 127.0.0.1:1: connect: connection refused");
        assert_eq!(host_port("::1", 8443), "[::1]:8443");
    }

    #[test]
    fn tls_errors_read_like_go_x509_errors() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(
            tls_text(&unknown),
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
        );
        let bad = rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate);
        assert_eq!(tls_text(&bad), "remote error: tls: bad certificate");
    }

    #[tokio::test]
    async fn refused_connection_is_named_with_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let tls = crate::devcluster::backends::client_tls(&[], true, None).unwrap();
        let client = reqwest::Client::builder().use_preconfigured_tls(tls).no_proxy().build().unwrap();
        let err = client.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        let dialled = host_port("127.0.0.1", port);
        assert_eq!(cause(&err, &dialled), format!("dial tcp {dialled}: connect: connection refused"));
    }
}
