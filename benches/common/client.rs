//! A minimal HTTP/1.1 keep-alive client over tokio-rustls (no HTTP library, to keep the client's
//! share of the two cores small), the request bytes the aggregator forwards for the HPA, and what
//! a load request sends and expects ([`Workload`]).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The server name both servers are reached by (the aggregator's `<service>.<namespace>.svc`).
pub const HOST: &str = "autoscaling-apiserver.datadog.svc";
pub const HPA_USER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";

pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Bytes,
}

pub struct Conn {
    tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(config).connect(ServerName::try_from(HOST)?, tcp).await?;
        Ok(Conn { tls, buf: Vec::with_capacity(4096) })
    }

    /// Write one request, read one Content-Length-delimited response.
    pub async fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<Reply> {
        self.tls.write_all(request).await?;
        self.tls.flush().await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?.to_owned();
        let status: u16 = head.get(9..12).context("short status line")?.parse()?;
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
            })
            .context("response without Content-Length")?;
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = Bytes::copy_from_slice(&self.buf[head_end..head_end + len]);
        self.buf.drain(..head_end + len);
        Ok(Reply { status, head, body })
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.tls.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-response");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// A positive count from the environment variable `key`, else `default`.
pub fn env_count(key: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(key) {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{key}={text:?} is not a positive whole number"),
        },
        Err(_) => Ok(default),
    }
}

/// Substring search (memchr's two-way/SIMD search: a naive window-by-window comparison was ~5 %
/// of the load client's CPU, and only against our server, whose replies are checked by content).
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

pub fn request_bytes(path: &str, front_proxy_headers: bool) -> Vec<u8> {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\nUser-Agent: bench\r\n");
    if front_proxy_headers {
        r.push_str(&format!("X-Remote-User: {HPA_USER}\r\n"));
        for g in ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"] {
            r.push_str(&format!("X-Remote-Group: {g}\r\n"));
        }
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// How a reply is checked: status 200 and this body.
#[derive(Clone)]
pub enum Expect {
    /// Exactly these bytes.
    Body(Bytes),
    /// A body containing these bytes (per-metric values; the timestamp varies).
    Contains(Bytes),
}

/// What a target is sent: request `k` of connection `i` (of `C`) is `requests[(i + k * C) % len]`,
/// so the connections together rotate over every request; it is checked against
/// `expect[index % expect.len()]`.
#[derive(Clone)]
pub struct Workload {
    pub requests: Arc<Vec<Vec<u8>>>,
    pub expect: Arc<Vec<Expect>>,
}

impl Workload {
    /// One request, one exact reply.
    pub fn single(request: Vec<u8>, body: Bytes) -> Self {
        Workload { requests: Arc::new(vec![request]), expect: Arc::new(vec![Expect::Body(body)]) }
    }

    /// The request and its expectation for global request number `n`.
    pub fn item(&self, n: usize) -> (&[u8], &Expect) {
        (&self.requests[n % self.requests.len()], &self.expect[n % self.expect.len()])
    }

    /// Checks reply `r` to request number `n`; the error names the request line.
    pub fn check(&self, n: usize, r: &Reply) -> anyhow::Result<()> {
        let (request, expect) = self.item(n);
        let ok = r.status == 200
            && match expect {
                Expect::Body(body) => r.body == *body,
                Expect::Contains(part) => find(&r.body, part).is_some(),
            };
        if !ok {
            let line = request.split(|b| *b == b'\r').next().unwrap_or_default();
            bail!(
                "unexpected response {} to {}: {}",
                r.status,
                String::from_utf8_lossy(line),
                String::from_utf8_lossy(&r.body)
            );
        }
        Ok(())
    }
}
