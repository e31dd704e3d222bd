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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
