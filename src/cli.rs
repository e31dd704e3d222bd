//! Command line: `dev`, `devcluster`, `serve`, `status`, `config check`, `certs generate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::devcluster::{Config, DevCluster, PopulateSpec};

#[derive(Parser, Debug)]
#[command(name = "autoscaling-apiserver", version, about = "Datadog autoscaling as a Kubernetes aggregated API server")]
pub struct Cli {
    /// Log level filter (tracing EnvFilter syntax), e.g. `info` or `autoscaling_apiserver=debug`.
    #[arg(long, global = true, default_value = "info", env = "DD_LOG_LEVEL")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The whole product on the embedded control plane: devcluster, deploy/ and apiservice/
    /// applied, the server running with its ServiceAccount's credentials, and a demo.
    Dev(DevArgs),
    /// Run the embedded, in-memory Kubernetes control plane on 127.0.0.1.
    Devcluster(DevclusterArgs),
    /// Run the aggregated API server (external.metrics.k8s.io/v1beta1) with delegated authentication.
    Serve(ServeArgs),
    /// Ask a running server (its metrics port) for leader, Datadog endpoints and DatadogMetrics.
    Status(StatusArgs),
    /// Inspect the effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Serving certificates for the manifests.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Kubeconfig to reach the cluster (default: in-cluster configuration, then $KUBECONFIG).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Serving certificate (PEM); reloaded when the file changes.
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// Directory with tls.crt/tls.key (or apiserver.crt/apiserver.key).
    #[arg(long, conflicts_with = "tls_cert_file")]
    pub cert_dir: Option<PathBuf>,
    /// Service name for the self-signed certificate made when no certificate is given.
    #[arg(long, default_value = "autoscaling-apiserver")]
    pub service: String,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: std::net::IpAddr,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Where the server's port is configured (`--metrics-port` wins over `--config` and DD_METRICS_PORT).
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// The server's metrics listener (default: http://127.0.0.1:<metrics_port>); `/status` is added.
    #[arg(long)]
    pub url: Option<String>,
    /// Print the status document as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Write ca.crt/ca.key and a serving tls.crt/tls.key for <service>.<namespace>.svc (and the
    /// other Service DNS names) into --out; ca.crt is the APIService/webhook caBundle.
    Generate {
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        #[arg(long, default_value = "autoscaling-apiserver")]
        service: String,
        #[arg(long, default_value = "datadog")]
        namespace: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print every setting with its value (secrets masked) and source, then every invalid or
    /// unknown key. Exits 1 when a value is invalid or the config file cannot be read.
    Check(SettingsArgs),
}

/// Where settings come from: defaults < `--config` file < `DD_*` environment < these flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// datadog.yaml with Datadog Cluster Agent keys.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// HTTPS port (default: external_metrics_provider.port, 8443).
    #[arg(long)]
    pub secure_port: Option<u16>,
    /// Prometheus metrics port (default: metrics_port, 5000).
    #[arg(long)]
    pub metrics_port: Option<u16>,
}

impl SettingsArgs {
    pub fn load(
        &self,
    ) -> Result<(crate::config::Settings, Vec<crate::config::Diagnostic>), crate::config::ConfigError> {
        let mut flags: Vec<(&str, String, &str)> = Vec::new();
        if let Some(p) = self.secure_port {
            flags.push(("external_metrics_provider.port", p.to_string(), "--secure-port"));
        }
        if let Some(p) = self.metrics_port {
            flags.push(("metrics_port", p.to_string(), "--metrics-port"));
        }
        crate::config::load(self.config.as_deref(), std::env::vars(), &flags)
    }
}

#[derive(clap::Args, Debug)]
pub struct DevArgs {
    /// Where to write the admin kubeconfig.
    #[arg(long, default_value = "dev.kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// devcluster's port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The server's HTTPS port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub secure_port: u16,
    /// The server's Prometheus metrics port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub metrics_port: u16,
    /// Directory holding deploy/ and apiservice/ (default: the current directory when it has them,
    /// else the source checkout this binary was built from).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct DevclusterArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Where to write the admin kubeconfig.
    #[arg(long, default_value = "devcluster.kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// Create this many pods (with ReplicaSet owners) at start, for benchmarks.
    #[arg(long, default_value_t = 0)]
    pub pods: usize,
    /// Spread the generated pods over this many namespaces.
    #[arg(long, default_value_t = 10)]
    pub namespaces: usize,
    /// Seconds between watch BOOKMARK events.
    #[arg(long, default_value_t = 60)]
    pub bookmark_interval: u64,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Dev(args) => runtime.block_on(dev(args)),
        Command::Devcluster(args) => runtime.block_on(devcluster(args)),
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Status(args) => runtime.block_on(status(args)),
        Command::Config { command: ConfigCommand::Check(args) } => config_check(&args),
        Command::Certs { command: CertsCommand::Generate { out, service, namespace } } => {
            certs_generate(&out, &service, &namespace)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    use crate::server::tls::CertSource;
    let (settings, diagnostics) = args.settings.load()?;
    for d in &diagnostics {
        tracing::warn!("{d}");
    }
    crate::stack::Stack::check(&settings)?;
    if !settings.external_metrics_provider_enabled() {
        tracing::warn!(
            "external_metrics_provider.enabled is false (DD_EXTERNAL_METRICS_PROVIDER_ENABLED): serving the API anyway"
        );
    }
    let certs = match (&args.tls_cert_file, &args.tls_private_key_file, &args.cert_dir) {
        (Some(cert), Some(key), _) => CertSource::Files { cert: cert.clone(), key: key.clone() },
        (_, _, Some(dir)) => CertSource::Dir(dir.clone()),
        _ => CertSource::SelfSigned {
            service: args.service.clone(),
            namespace: settings.resources_namespace().to_string(),
        },
    };
    let config = crate::server::ServeConfig {
        secure_addr: std::net::SocketAddr::new(args.bind_address, settings.external_metrics_provider_port()),
        metrics_addr: std::net::SocketAddr::new(args.bind_address, settings.metrics_port()),
        certs,
        allow_legacy_tls: settings.allow_legacy_tls(),
        cert_poll_interval: Duration::from_secs(10),
        authn: Default::default(),
        authz: Default::default(),
    };
    let kube_config = kube_config(args.kubeconfig.as_deref()).await?;
    let client = kube::Client::try_from(kube_config.clone())?;
    // The pod-index watches multiplex on HTTP/2 connections from the same kube config.
    let watch_clients = crate::cluster::http2::WatchClients::http2(&kube_config)?;
    let stack = crate::stack::Stack::start_with_watches(&settings, client, Some(watch_clients), config).await?;
    if let Some(ca) = &stack.server.ca_pem {
        tracing::info!("self-signed serving certificate; APIService caBundle CA:\n{ca}");
    }
    shutdown_signal().await;
    stack.shutdown().await;
    Ok(())
}

async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let url = match &args.url {
        Some(url) => status_url(url),
        None => {
            let (settings, _) = args.settings.load()?;
            format!("http://127.0.0.1:{}/status", settings.metrics_port())
        }
    };
    let doc = crate::status::fetch(&url, Duration::from_secs(10)).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", crate::status::render(&doc));
    }
    Ok(())
}

/// `http://host:port` (or with a trailing `/`) gets `/status`; a URL already ending in it is kept.
fn status_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/status") { url.to_owned() } else { format!("{url}/status") }
}

async fn kube_config(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Config> {
    Ok(match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer().await.map_err(|e| {
            anyhow::anyhow!("no in-cluster configuration and no usable kubeconfig ({e}); pass --kubeconfig")
        })?,
    })
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn certs_generate(out: &std::path::Path, service: &str, namespace: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    for path in crate::server::tls::generate_files(out, service, namespace)? {
        println!("wrote {}", path.display());
    }
    println!("caBundle: base64 -w0 {}", out.join("ca.crt").display());
    Ok(())
}

fn config_check(args: &SettingsArgs) -> anyhow::Result<()> {
    let (settings, diagnostics) = args.load()?;
    print!("{}", settings.check_report(&diagnostics));
    let invalid = diagnostics.iter().filter(|d| d.kind == crate::config::Problem::InvalidValue).count();
    if invalid > 0 {
        anyhow::bail!("{invalid} invalid setting(s); see above");
    }
    Ok(())
}

async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let opts = crate::dev::DevOptions {
        kubeconfig_out: args.kubeconfig_out,
        cluster_port: args.port,
        secure_port: args.secure_port,
        metrics_port: args.metrics_port,
        manifests_root: args.manifests.unwrap_or_else(crate::dev::default_manifests_root),
        ..Default::default()
    };
    let stack = crate::dev::DevStack::start(&opts).await?;
    println!("{}", stack.instructions());
    shutdown_signal().await;
    eprintln!("stopping");
    stack.shutdown().await;
    Ok(())
}

async fn devcluster(args: DevclusterArgs) -> anyhow::Result<()> {
    let config = Config {
        port: args.port,
        bookmark_interval: Duration::from_secs(args.bookmark_interval.max(1)),
        ..Config::default()
    };
    let cluster = DevCluster::start(config).await?;
    std::fs::write(&args.kubeconfig_out, cluster.kubeconfig_yaml())
        .map_err(|e| anyhow::anyhow!("cannot write kubeconfig to {}: {e}", args.kubeconfig_out.display()))?;
    if args.pods > 0 {
        let started = std::time::Instant::now();
        let n = cluster.populate(&PopulateSpec {
            pods: args.pods,
            namespaces: args.namespaces,
            ..PopulateSpec::default()
        })?;
        eprintln!("created {n} objects in {:.2?}", started.elapsed());
    }
    println!("devcluster serving at {}", cluster.url());
    println!("point kubectl at it with:\n  export KUBECONFIG={}", args.kubeconfig_out.display());
    tokio::signal::ctrl_c().await?;
    cluster.shutdown().await;
    Ok(())
}
