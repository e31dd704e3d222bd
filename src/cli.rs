//! Command line: `devcluster` (the embedded control plane) for now.

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
    /// Run the embedded, in-memory Kubernetes control plane on 127.0.0.1.
    Devcluster(DevclusterArgs),
    /// Inspect the effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
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
        Command::Devcluster(args) => runtime.block_on(devcluster(args)),
        Command::Config { command: ConfigCommand::Check(args) } => config_check(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
