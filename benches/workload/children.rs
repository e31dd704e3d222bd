//! The AdmissionReview load's helper processes, both this bench binary re-run with
//! `BENCH_WORKLOAD_CHILD`:
//!
//! - `admission-load`, the load client: the benches' minimal TLS client on a current_thread
//!   runtime, driven by [`Step`]s as JSON lines on stdin (connect a pool, a closed loop, an open
//!   loop), answering each with one JSON line on stdout ([`Answer`]: every latency, nanoseconds).
//!   Every reply is checked byte for byte against the expected body file.
//! - `bare`, the baseline: hyper + rustls answering fixed bytes (`common::bare`) after reading the
//!   request body, one listener per reply (`<name>.head` / `<name>.body`: the exact head and body
//!   our server answered), on the same multi-thread runtime the server runs; prints `listening <name> <addr>` per listener and
//!   `ready`, and exits when its stdin closes.
//!
//! Separate processes keep devcluster's tasks and the parent's runtime out of the client's and
//! the baseline's schedules; the OS still shares the machine's cores among all of them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use rustls::version::TLS13;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::super::common::bare;
use super::super::common::certs::ring;
use super::super::common::client::{Conn, Expect, Workload};
use super::super::common::load::{self, Run, Target};
use super::process::CHILD_ENV;

/// `BENCH_WORKLOAD_CHILD` value of the load client.
pub const LOAD_CHILD: &str = "admission-load";
/// `BENCH_WORKLOAD_CHILD` value of the bare baseline.
pub const BARE_CHILD: &str = "bare";
/// The directory both children read their files from.
const DIR_ENV: &str = "BENCH_WORKLOAD_DIR";
/// The bare child's reply names, comma-separated.
const REPLIES_ENV: &str = "BENCH_WORKLOAD_REPLIES";
/// The CA both the server's and the bare baseline's serving certificates chain to.
pub const CA_FILE: &str = "ca.crt";
/// Longest wait for a child's answer beyond the time its step asks for.
const ANSWER_SLACK: Duration = Duration::from_secs(300);

/// One step of the load client.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Replace the pool by `connections` fresh keep-alive connections to `addr`, each checked
    /// with one request; later steps send `<work>.request` and expect `<work>.body` exactly.
    Connect { addr: SocketAddr, work: String, connections: usize },
    /// `requests` requests as fast as the pool answers ([`load::closed_loop`]).
    Closed { requests: usize },
    /// `rate` requests per second for `secs` seconds ([`load::open_loop`]).
    Open { rate: u64, secs: u64 },
}

impl Step {
    fn expected_time(&self) -> Duration {
        match self {
            Step::Open { secs, .. } => Duration::from_secs(*secs),
            _ => Duration::ZERO,
        }
    }
}

/// A step's latencies (nanoseconds; `corrected` and `sent`, each request's send time after the
/// start, only for an open loop) and wall time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    pub wall_ns: u64,
    pub service: Vec<u64>,
    pub corrected: Vec<u64>,
    pub sent: Vec<u64>,
}

impl Timings {
    pub fn wall(&self) -> Duration {
        Duration::from_nanos(self.wall_ns)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok(Timings),
    Error(String),
}

/// The load client process, as the parent drives it.
pub struct LoadClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl LoadClient {
    /// Starts the client; `dir` holds [`CA_FILE`] and the request/body files of each work.
    pub async fn spawn(dir: &Path) -> anyhow::Result<LoadClient> {
        let (child, stdin, lines) = spawn_child(LOAD_CHILD, dir, &[])?;
        Ok(LoadClient { child, stdin, lines })
    }

    /// Runs `step` in the child and returns its timings; the child's error names what failed.
    pub async fn run(&mut self, step: &Step) -> anyhow::Result<Timings> {
        let mut line = serde_json::to_string(step)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.context("write to the load client")?;
        self.stdin.flush().await?;
        let limit = step.expected_time() + ANSWER_SLACK;
        let answer = tokio::time::timeout(limit, self.lines.next_line())
            .await
            .with_context(|| format!("the load client did not answer {step:?} within {limit:?}"))??
            .with_context(|| format!("the load client exited during {step:?}"))?;
        match serde_json::from_str(&answer).with_context(|| format!("load client answer to {step:?}"))? {
            Answer::Ok(timings) => Ok(timings),
            Answer::Error(e) => bail!("load client, {step:?}: {e}"),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn stop(self) {
        stop_child(self.child, self.stdin).await
    }
}

/// The bare baseline process: one listener per reply name.
pub struct BareServer {
    child: Child,
    stdin: ChildStdin,
    pub addrs: HashMap<String, SocketAddr>,
}

impl BareServer {
    /// Starts the baseline; `dir` holds `tls.crt`, `tls.key`, [`CA_FILE`] and, per name,
    /// `<name>.head` and `<name>.body`.
    pub async fn spawn(dir: &Path, names: &[&str]) -> anyhow::Result<BareServer> {
        let (child, stdin, mut lines) = spawn_child(BARE_CHILD, dir, &[(REPLIES_ENV, &names.join(","))])?;
        let mut addrs = HashMap::new();
        loop {
            let line = tokio::time::timeout(ANSWER_SLACK, lines.next_line())
                .await
                .context("the bare baseline did not start")??
                .context("the bare baseline exited at start")?;
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["listening", name, addr] => {
                    addrs.insert(name.to_string(), addr.parse()?);
                }
                ["ready"] => break,
                _ => bail!("the bare baseline said {line:?}"),
            }
        }
        Ok(BareServer { child, stdin, addrs })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn stop(self) {
        stop_child(self.child, self.stdin).await
    }
}

fn spawn_child(
    role: &str,
    dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<(Child, ChildStdin, Lines<BufReader<ChildStdout>>)> {
    let mut command = Command::new(std::env::current_exe()?);
    command.env_clear().env(CHILD_ENV, role).env(DIR_ENV, dir);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawn the {role} child"))?;
    let stdin = child.stdin.take().context("child stdin")?;
    let lines = BufReader::new(child.stdout.take().context("child stdout")?).lines();
    Ok((child, stdin, lines))
}

/// Closes the child's stdin (its signal to exit), waits up to 10 s, then kills it.
async fn stop_child(mut child: Child, stdin: ChildStdin) {
    drop(stdin);
    if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Writes what the children read for work `name`: the request bytes, the expected reply's head
/// and body.
pub fn write_work(dir: &Path, name: &str, request: &[u8], head: &str, body: &[u8]) -> anyhow::Result<()> {
    std::fs::write(dir.join(format!("{name}.request")), request)?;
    std::fs::write(dir.join(format!("{name}.head")), head)?;
    std::fs::write(dir.join(format!("{name}.body")), body)?;
    Ok(())
}

fn child_dir() -> anyhow::Result<PathBuf> {
    Ok(PathBuf::from(std::env::var(DIR_ENV).with_context(|| format!("{DIR_ENV} not set"))?))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("read {}", path.display()))
}

/// The load client's side (call on a current_thread runtime): steps from stdin until it closes.
pub async fn run_load_child() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = child_dir()?;
    let tls = client_tls(&read(&dir.join(CA_FILE))?)?;
    let mut steps = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut pool: Option<(Vec<Conn>, Workload)> = None;
    while let Some(line) = steps.next_line().await? {
        let answer = match run_step(&dir, &tls, &line, &mut pool).await {
            Ok(timings) => Answer::Ok(timings),
            Err(e) => Answer::Error(format!("{e:#}")),
        };
        let mut text = serde_json::to_string(&answer)?;
        text.push('\n');
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
    }
    Ok(())
}

async fn run_step(
    dir: &Path,
    tls: &Arc<ClientConfig>,
    line: &str,
    pool: &mut Option<(Vec<Conn>, Workload)>,
) -> anyhow::Result<Timings> {
    let step: Step = serde_json::from_str(line).with_context(|| format!("step {line:?}"))?;
    let run = match step {
        Step::Connect { addr, work, connections } => {
            let request = read(&dir.join(format!("{work}.request")))?;
            let body = Bytes::from(read(&dir.join(format!("{work}.body")))?);
            let work = Workload { requests: Arc::new(vec![request]), expect: Arc::new(vec![Expect::Body(body)]) };
            let conns = load::connect_all(&Target { name: "load", addr, work: work.clone() }, tls, connections)
                .await
                .with_context(|| format!("connect to {addr}"))?;
            *pool = Some((conns, work));
            return Ok(Timings::default());
        }
        Step::Closed { requests } => {
            let (conns, work) = pool.take().context("no connections: a connect step comes first")?;
            (load::closed_loop(conns, requests, &work).await?, work)
        }
        Step::Open { rate, secs } => {
            let (conns, work) = pool.take().context("no connections: a connect step comes first")?;
            (load::open_loop(conns, rate, secs, &work).await?, work)
        }
    };
    let (Run { wall, service, corrected, sent, conns }, work) = run;
    *pool = Some((conns, work));
    Ok(Timings { wall_ns: wall.as_nanos() as u64, service, corrected, sent })
}

/// TLS 1.3 trusting `ca_pem` only, no client certificate, ALPN http/1.1 (what kube-apiserver's
/// webhook client offers over HTTP/1.1).
fn client_tls(ca_pem: &[u8]) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem).context(CA_FILE)?)?;
    let mut config = ClientConfig::builder_with_provider(ring())
        .with_protocol_versions(&[&TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The bare baseline's side: one listener per reply, until stdin closes.
pub async fn run_bare_child() -> anyhow::Result<()> {
    let dir = child_dir()?;
    let chain = CertificateDer::pem_slice_iter(&read(&dir.join("tls.crt"))?).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(&read(&dir.join("tls.key"))?).context("tls.key")?;
    let mut client_roots = RootCertStore::empty();
    client_roots.add(CertificateDer::from_pem_slice(&read(&dir.join(CA_FILE))?).context(CA_FILE)?)?;
    let tls = bare::server_tls(chain, key, client_roots)?;
    let names = std::env::var(REPLIES_ENV).with_context(|| format!("{REPLIES_ENV} not set"))?;
    let mut out = String::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        let head = String::from_utf8(read(&dir.join(format!("{name}.head")))?)?;
        let body = Bytes::from(read(&dir.join(format!("{name}.body")))?);
        // TCP_NODELAY on accepted sockets, as the server sets it; the review read to its end, as
        // any webhook must read it.
        let addr = bare::start_bare(tls.clone(), bare::reply_headers(&head)?, body, true, true).await?;
        out.push_str(&format!("listening {name} {addr}\n"));
    }
    out.push_str("ready\n");
    let mut stdout = tokio::io::stdout();
    stdout.write_all(out.as_bytes()).await?;
    stdout.flush().await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while stdin.next_line().await?.is_some() {}
    Ok(())
}
