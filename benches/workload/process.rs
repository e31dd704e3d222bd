//! The processes the bench measures: the release `autoscaling-apiserver serve` binary configured
//! through a datadog.yaml and a kubeconfig pointing at devcluster, and the naive kube-rs reflector
//! of full Pods (this bench binary re-run with `BENCH_WORKLOAD_CHILD=reflector`). Their RSS is read
//! from `/proc/<pid>/status` (VmRSS) once it has settled; the server's `/status` document tells
//! what its workload stack has indexed.
//!
//! `BENCH_SERVER_WRAPPER` (e.g. `heaptrack -o /tmp/serve`) runs the server under a wrapper
//! command (split on whitespace, the server's command line appended); RSS and `stop` then act on
//! the server process itself, found among the wrapper's descendants by its executable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::status::{self, StatusDocument, WorkloadStatus};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Env var that turns this bench binary into the reflector child.
pub const CHILD_ENV: &str = "BENCH_WORKLOAD_CHILD";
const KUBECONFIG_ENV: &str = "BENCH_WORKLOAD_KUBECONFIG";
/// Env var naming a command the server runs under (a profiler).
const WRAPPER_ENV: &str = "BENCH_SERVER_WRAPPER";
/// Longest wait for a process to be ready, an index to fill, RSS to settle.
const DEADLINE: Duration = Duration::from_secs(300);

/// VmRSS of `pid` in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))?;
    Ok(kb * 1024)
}

/// Samples RSS every 500 ms until four samples in a row (2 s) lie within 256 KiB of each other,
/// at most `limit`; returns the last sample and whether it settled.
pub async fn settled_rss(pid: u32, limit: Duration) -> anyhow::Result<(u64, bool)> {
    let t0 = Instant::now();
    let mut window: Vec<u64> = Vec::new();
    loop {
        window.push(rss_bytes(pid)?);
        if window.len() > 4 {
            window.remove(0);
        }
        let spread = window.iter().max().unwrap_or(&0) - window.iter().min().unwrap_or(&0);
        if window.len() == 4 && spread <= 256 * 1024 {
            return Ok((window[3], true));
        }
        if t0.elapsed() > limit {
            return Ok((window[window.len() - 1], false));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// utime + stime of `pid` (all its threads), clock ticks (1/100 s).
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    cpu_ticks_at(&format!("/proc/{pid}/stat"))
}

pub fn cpu_ticks_at(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).with_context(|| format!("{path}: no comm"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `pid (comm)`: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    let at =
        |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).with_context(|| format!("{path}: field {i}"));
    Ok(at(14)? + at(15)?)
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Files the server reads: kubeconfig, serving certificate, the feed directory.
pub struct ServerFiles {
    pub dir: PathBuf,
    pub feed: PathBuf,
}

impl ServerFiles {
    pub fn write(dir: &Path, kubeconfig: &str, cert_pem: &str, key_pem: &str) -> anyhow::Result<Self> {
        std::fs::write(dir.join("kubeconfig"), kubeconfig)?;
        std::fs::write(dir.join("tls.crt"), cert_pem)?;
        std::fs::write(dir.join("tls.key"), key_pem)?;
        let feed = dir.join("feed");
        std::fs::create_dir_all(feed.join("settings"))?;
        std::fs::create_dir_all(feed.join("values"))?;
        Ok(ServerFiles { dir: dir.to_owned(), feed })
    }
}

/// A running `autoscaling-apiserver serve`.
pub struct Server {
    pub child: Child,
    pub pid: u32,
    pub secure: SocketAddr,
    pub metrics: SocketAddr,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// Writes `datadog-<label>.yaml` (autoscaling on or off) and starts the release binary.
    pub async fn spawn(files: &ServerFiles, autoscaling: bool) -> anyhow::Result<Server> {
        let label = if autoscaling { "enabled" } else { "disabled" };
        let config = files.dir.join(format!("datadog-{label}.yaml"));
        let yaml = format!(
            "api_key: 0123456789abcdef0123456789abcdef\n\
             app_key: 0123456789abcdef0123456789abcdef01234567\n\
             cluster_name: bench\n\
             kube_resources_namespace: datadog\n\
             external_metrics_provider:\n  endpoint: http://127.0.0.1:9\n\
             autoscaling:\n  workload:\n    enabled: {autoscaling}\n    recommendations:\n      \
             source: {}\n      poll_interval: 1\n",
            files.feed.display()
        );
        std::fs::write(&config, yaml)?;
        let (secure, metrics) = (free_port()?, free_port()?);
        let binary = env!("CARGO_BIN_EXE_autoscaling-apiserver");
        let wrapper = std::env::var(WRAPPER_ENV).unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["--log-level", "warn", "serve", "--bind-address", "127.0.0.1"])
            .arg("--config")
            .arg(&config)
            .arg("--kubeconfig")
            .arg(files.dir.join("kubeconfig"))
            .arg("--cert-dir")
            .arg(&files.dir)
            .args(["--secure-port", &secure.to_string(), "--metrics-port", &metrics.to_string()])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawn autoscaling-apiserver serve (wrapper {wrapper:?})"))?;
        let spawned = child.id().context("serve exited at once")?;
        let pid = if wrapper.trim().is_empty() { spawned } else { wrapped_pid(spawned, Path::new(binary)).await? };
        if pid != spawned {
            println!("server pid {pid} under {WRAPPER_ENV}={wrapper:?} (pid {spawned})");
        }
        Ok(Server { child, pid, secure: ([127, 0, 0, 1], secure).into(), metrics: ([127, 0, 0, 1], metrics).into() })
    }

    pub async fn status(&self) -> anyhow::Result<StatusDocument> {
        let url = format!("http://{}/status", self.metrics);
        status::fetch(&url, Duration::from_secs(10)).await.map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Polls `/status` (every `every`) until `done` holds for its workload section.
    pub async fn wait_workload(
        &mut self,
        what: &str,
        every: Duration,
        done: impl Fn(&WorkloadStatus) -> bool,
    ) -> anyhow::Result<WorkloadStatus> {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(code)) = self.child.try_wait() {
                bail!("serve exited ({code}) while waiting for {what}");
            }
            let last = match self.status().await {
                Ok(doc) if doc.synced && done(&doc.workload) => return Ok(doc.workload),
                Ok(doc) => format!("{:?}", doc.workload),
                Err(e) => e.to_string(),
            };
            if t0.elapsed() > DEADLINE {
                bail!("{what}: not within {DEADLINE:?}; last /status: {last}");
            }
            tokio::time::sleep(every).await;
        }
    }

    pub async fn stop(mut self) {
        if Some(self.pid) != self.child.id() {
            // Under a wrapper: end the server itself, the wrapper then finishes (a profiler writes
            // its data); SIGTERM so the server's own shutdown runs.
            let _ = std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
            if tokio::time::timeout(DEADLINE, self.child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The process running `binary`: `root` itself or one of its descendants (a wrapper starts it).
async fn wrapped_pid(root: u32, binary: &Path) -> anyhow::Result<u32> {
    let t0 = Instant::now();
    let binary = binary.canonicalize().with_context(|| format!("resolve {}", binary.display()))?;
    let runs_binary = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary);
    loop {
        let mut family = vec![root];
        let parents = parent_pids()?;
        while let Some(more) = parents.iter().find(|(pid, ppid)| family.contains(ppid) && !family.contains(pid)) {
            family.push(more.0);
        }
        if let Some(pid) = family.into_iter().find(|&pid| runs_binary(pid)) {
            return Ok(pid);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("{WRAPPER_ENV}: no process running {} under pid {root} after 30 s", binary.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(pid, parent pid)` of every process.
fn parent_pids() -> anyhow::Result<Vec<(u32, u32)>> {
    let mut pairs = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        pairs.extend(ppid.map(|ppid| (pid, ppid)));
    }
    Ok(pairs)
}

/// The naive reflector in a child process: after its first full list, its store size and RSS.
pub struct Reflector {
    child: Child,
    pub pid: u32,
    /// RSS before the watch started (runtime and client only), bytes.
    pub start_rss: u64,
    pub pods: usize,
    pub list_time: Duration,
}

impl Reflector {
    pub async fn spawn(kubeconfig: &Path) -> anyhow::Result<Reflector> {
        let mut child = Command::new(std::env::current_exe()?)
            .env_clear()
            .env(CHILD_ENV, "reflector")
            .env(KUBECONFIG_ENV, kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawn the reflector child")?;
        let pid = child.id().context("reflector exited at once")?;
        let mut lines = BufReader::new(child.stdout.take().context("reflector stdout")?).lines();
        let mut read = async || -> anyhow::Result<Vec<String>> {
            let line = tokio::time::timeout(DEADLINE, lines.next_line()).await??.context("reflector ended")?;
            Ok(line.split_whitespace().map(str::to_owned).collect())
        };
        let start = read().await?;
        let synced = read().await?;
        match (start.as_slice(), synced.as_slice()) {
            ([s, rss], [y, pods, ms]) if s == "started" && y == "synced" => Ok(Reflector {
                child,
                pid,
                start_rss: rss.parse()?,
                pods: pods.parse()?,
                list_time: Duration::from_millis(ms.parse()?),
            }),
            _ => bail!("reflector said {start:?} then {synced:?}"),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The child's side: a kube-rs `reflector` of `Api<Pod>::all` (full `k8s_openapi` Pods, the
/// default paged list then a watch), as an operator written the obvious way keeps pods. Prints
/// `started <rss>`, then `synced <pods> <ms>` after the first list, then runs until killed.
pub async fn run_reflector_child() -> anyhow::Result<()> {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::{WatchStreamExt, reflector, watcher};

    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = std::env::var(KUBECONFIG_ENV).context(KUBECONFIG_ENV)?;
    let kubeconfig = kube::config::Kubeconfig::read_from(&path)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let client = kube::Client::try_from(config)?;
    println!("started {}", rss_bytes(std::process::id())?);
    let t0 = Instant::now();
    let (store, writer) = reflector::store::<Pod>();
    let stream = reflector(writer, watcher(kube::Api::<Pod>::all(client), watcher::Config::default()));
    let mut stream = std::pin::pin!(stream.default_backoff());
    let mut announced = false;
    while let Some(event) = stream.next().await {
        if let Ok(watcher::Event::InitDone) = event
            && !announced
        {
            announced = true;
            println!("synced {} {}", store.len(), t0.elapsed().as_millis());
        }
    }
    Ok(())
}
