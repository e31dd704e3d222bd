//! The load client in a process of its own (`BENCH_CLIENT=process`): the bench re-runs its own
//! binary with `BENCH_LOAD_CHILD` naming a job file (the two targets' addresses and workloads,
//! the client's TLS roots and front-proxy certificate, the load parameters, the server process's
//! pid), and the child runs [`compare`] against the parent's servers and writes the throughput
//! back. The servers then share the cores with another process, as a server does with
//! kube-apiserver, instead of sharing a tokio runtime (or one process) with their client. The child
//! measures the server process's CPU per request from `/proc/<pid>/task/*/schedstat`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use super::certs::Leaf;
use super::client::{Expect, Workload};
use super::load::{Comparison, LoadParams, Target, compare};
use super::setup::client_config;

/// The environment variable that makes the bench binary a load client.
pub const CHILD: &str = "BENCH_LOAD_CHILD";

#[derive(Serialize, Deserialize)]
struct Job {
    server_pid: u32,
    connections: usize,
    closed_requests: usize,
    warmup_requests: usize,
    open_rate: u64,
    open_secs: u64,
    closed_rounds: usize,
    roots_pem: Vec<String>,
    client_cert_pem: String,
    client_key_pem: String,
    targets: Vec<JobTarget>,
    /// Where the child writes its [`Outcome`].
    outcome: String,
}

#[derive(Serialize, Deserialize)]
struct JobTarget {
    name: String,
    addr: SocketAddr,
    /// HTTP/1.1 request bytes (ASCII).
    requests: Vec<String>,
    expect: Vec<JobExpect>,
}

#[derive(Serialize, Deserialize)]
enum JobExpect {
    Body(String),
    Contains(String),
}

#[derive(Serialize, Deserialize)]
struct Outcome {
    ours_rps: f64,
    bare_rps: f64,
}

/// `BENCH_CLIENT`: `same` (default: the client runs in the bench's process) or `process`.
pub fn client_in_process() -> anyhow::Result<bool> {
    match std::env::var("BENCH_CLIENT").as_deref() {
        Err(_) | Ok("same") => Ok(false),
        Ok("process") => Ok(true),
        Ok(other) => bail!("BENCH_CLIENT={other:?}: expected `same` or `process`"),
    }
}

fn text(bytes: &[u8], what: &str) -> anyhow::Result<String> {
    String::from_utf8(bytes.to_vec()).with_context(|| format!("{what} is not UTF-8"))
}

fn job_target(t: &Target) -> anyhow::Result<JobTarget> {
    let requests = t.work.requests.iter().map(|r| text(r, "a request")).collect::<anyhow::Result<_>>()?;
    let expect = t
        .work
        .expect
        .iter()
        .map(|e| {
            Ok(match e {
                Expect::Body(b) => JobExpect::Body(text(b, "an expected body")?),
                Expect::Contains(b) => JobExpect::Contains(text(b, "an expected body part")?),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(JobTarget { name: t.name.to_owned(), addr: t.addr, requests, expect })
}

/// Runs [`compare`] in a child process (this binary with [`CHILD`] set) against `ours` and `bare`,
/// which this process serves; the child trusts `roots_pem` and presents `client` (the front proxy's
/// certificate). Its output goes to this process's stdout and stderr.
pub async fn compare_in_child(
    ours: &Target,
    bare: &Target,
    roots_pem: Vec<String>,
    client: &Leaf,
    p: LoadParams,
) -> anyhow::Result<Comparison> {
    let dir = tempfile::tempdir()?;
    let outcome = dir.path().join("outcome.json");
    let job = Job {
        server_pid: std::process::id(),
        connections: p.connections,
        closed_requests: p.closed_requests,
        warmup_requests: p.warmup_requests,
        open_rate: p.open_rate,
        open_secs: p.open_secs,
        closed_rounds: p.closed_rounds,
        roots_pem,
        client_cert_pem: client.cert_pem.clone(),
        client_key_pem: client.key_pem.clone(),
        targets: vec![job_target(ours)?, job_target(bare)?],
        outcome: outcome.to_str().context("temporary path is not UTF-8")?.to_owned(),
    };
    let job_path = dir.path().join("job.json");
    std::fs::write(&job_path, serde_json::to_vec(&job)?)?;
    let exe = std::env::current_exe()?;
    println!("load client: a child process ({})", exe.display());
    let status = tokio::process::Command::new(&exe)
        .env(CHILD, &job_path)
        .kill_on_drop(true)
        .status()
        .await
        .with_context(|| format!("running the load client {}", exe.display()))?;
    if !status.success() {
        bail!("the load client process failed: {status}");
    }
    let out: Outcome = serde_json::from_slice(&std::fs::read(&outcome).context("the load client's outcome")?)?;
    Ok(Comparison { ours_rps: out.ours_rps, bare_rps: out.bare_rps })
}

/// The child's side: runs the job in `path` (called from `main` when [`CHILD`] is set).
pub async fn run(path: &Path) -> anyhow::Result<()> {
    let job: Job = serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        .context("the load job")?;
    let mut roots = rustls::RootCertStore::empty();
    for pem in &job.roots_pem {
        roots.add(CertificateDer::from_pem_slice(pem.as_bytes()).context("a root certificate")?)?;
    }
    let cert = CertificateDer::from_pem_slice(job.client_cert_pem.as_bytes()).context("the client certificate")?;
    let key =
        rustls_pki_types::PrivateKeyDer::from_pem_slice(job.client_key_pem.as_bytes()).context("the client key")?;
    let tls = client_config(roots, Some((cert, key)))?;
    let targets = job
        .targets
        .into_iter()
        .map(|t| {
            let expect = t
                .expect
                .into_iter()
                .map(|e| match e {
                    JobExpect::Body(b) => Expect::Body(Bytes::from(b)),
                    JobExpect::Contains(b) => Expect::Contains(Bytes::from(b)),
                })
                .collect();
            Target {
                // Two names for the life of the process.
                name: Box::leak(t.name.into_boxed_str()),
                addr: t.addr,
                work: Workload {
                    requests: Arc::new(t.requests.into_iter().map(String::into_bytes).collect()),
                    expect: Arc::new(expect),
                },
            }
        })
        .collect::<Vec<_>>();
    let [ours, bare] = targets.as_slice() else { bail!("the load job names {} targets, not 2", targets.len()) };
    let params = LoadParams {
        connections: job.connections,
        closed_requests: job.closed_requests,
        warmup_requests: job.warmup_requests,
        open_rate: job.open_rate,
        open_secs: job.open_secs,
        closed_rounds: job.closed_rounds,
        server_pid: Some(job.server_pid),
    };
    let c = compare(ours, bare, &tls, params).await?;
    std::fs::write(&job.outcome, serde_json::to_vec(&Outcome { ours_rps: c.ours_rps, bare_rps: c.bare_rps })?)?;
    Ok(())
}
