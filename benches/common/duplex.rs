//! The in-process drivers' shared half (`benches/read_path.rs`, `benches/webhook_path.rs`): a
//! service behind hyper-util's `auto::Builder` (the secure listener's builder call) on an in-memory
//! duplex stream — no TCP, no TLS — and a keep-alive HTTP/1.1 client on the other end that writes
//! request bytes and reads Content-Length-delimited replies into a reused buffer. The client code
//! is the same whichever service is measured, so the difference between two services' instruction
//! counts is the services' own.

use anyhow::{Context, bail};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

pub use super::client::env_count;

/// One keep-alive HTTP/1.1 client on the duplex stream: writes request bytes, reads one
/// Content-Length-delimited reply at a time into a reused buffer.
pub struct Client {
    io: DuplexStream,
    buf: Vec<u8>,
    /// Bytes of `buf` the last reply used.
    used: usize,
}

impl Client {
    pub fn new(io: DuplexStream) -> Self {
        Client { io, buf: Vec::with_capacity(8192), used: 0 }
    }

    /// Status and body of the reply to `request`.
    pub async fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.buf.drain(..self.used);
        self.io.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = &self.buf[..head_end];
        let status = std::str::from_utf8(head.get(9..12).context("short status line")?)?.parse()?;
        let len = content_length(head).context("reply without Content-Length")?;
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        self.used = head_end + len;
        Ok((status, &self.buf[head_end..head_end + len]))
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.io.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-reply");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
    })
}

/// Serves one connection with `service` while a client sends `count` requests rotating over
/// `requests` (starting at `first`), all polled by the calling thread; `check(i, status, body)`
/// judges the reply to `requests[i]`.
pub async fn exchange<S, B>(
    service: S,
    requests: &[Vec<u8>],
    first: usize,
    count: usize,
    check: impl Fn(usize, u16, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(server_io), service);
    let client = async move {
        let mut client = Client::new(client_io);
        for k in first..first + count {
            let i = k % requests.len();
            let (status, body) = client.round_trip(&requests[i]).await?;
            check(i, status, body).with_context(|| {
                let line = requests[i].split(|b| *b == b'\r').next().unwrap_or_default();
                format!("reply {status} to {}", String::from_utf8_lossy(line))
            })?;
        }
        anyhow::Ok(())
    };
    let (served, sent) = tokio::join!(conn, client);
    sent?;
    served.map_err(|e| anyhow::anyhow!("serving the connection: {e}"))
}
