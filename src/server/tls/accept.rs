//! Server-side handshake with a deadline, so a silent or slow client cannot hold a task forever.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{PeerCertificates, TlsError};

/// Run the TLS handshake on `io` within `timeout`. On any error (garbage bytes, unknown client
/// CA, protocol mismatch, timeout) `io` is dropped, which closes the connection.
pub async fn accept<IO>(
    acceptor: &TlsAcceptor,
    io: IO,
    timeout: Duration,
) -> Result<(TlsStream<IO>, PeerCertificates), TlsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let stream = tokio::time::timeout(timeout, acceptor.accept(io))
        .await
        .map_err(|_| TlsError::HandshakeTimeout(timeout))?
        .map_err(TlsError::Handshake)?;
    let peer = PeerCertificates::from_connection(stream.get_ref().1);
    Ok((stream, peer))
}
