//! The product assembled from settings, as `serve` and `dev` run it: the Datadog client, leader
//! election, the external metrics provider and the API server in front of it, with the provider's
//! `/readyz` check, the DCA telemetry on `/metrics` and the `/status` document. One shutdown stops
//! the server, then the provider's loops, and releases the lock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::{LeaderElection, LeaderHandle, LeaseConfig};
use crate::config::Settings;
use crate::datadog::{ClientConfig, DatadogClient};
use crate::external_metrics::datadogmetric::{self, DatadogMetricProvider};
use crate::external_metrics::querier::DatadogQuerier;
use crate::external_metrics::telemetry::ProviderTelemetry;
use crate::server::{Extras, RunningServer, ServeConfig};
use crate::status::StatusSourceParts;

/// How long shutdown waits for the provider's loops (and the lock release).
const PROVIDER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server with its provider.
pub struct Stack {
    pub server: RunningServer,
    pub provider: Arc<DatadogMetricProvider>,
    pub leader: LeaderHandle,
    pub datadog: DatadogClient,
    stop: watch::Sender<bool>,
    provider_task: JoinHandle<()>,
    election_task: JoinHandle<()>,
}

impl Stack {
    /// Start-up checks made before anything runs: the Datadog keys, and the provider choice.
    pub fn check(settings: &Settings) -> anyhow::Result<()> {
        settings.require_serving()?;
        if !settings.use_datadogmetric_crd() {
            // PROVIDER CHOICE. The ConfigMap fallback provider (spec §9) plugs in here and in
            // `start` (in place of the DatadogMetric provider) once `external_metrics::configmap`
            // is merged.
            anyhow::bail!(
                "external_metrics_provider.use_datadogmetric_crd is false, which selects the ConfigMap provider \
                 (datadog-custom-metrics), not available in this build: set \
                 DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD=true (or \
                 external_metrics_provider.use_datadogmetric_crd: true in datadog.yaml) to use DatadogMetrics"
            );
        }
        Ok(())
    }

    /// Builds everything from `settings`; `client` is the server's own identity in the cluster.
    pub async fn start(settings: &Settings, client: kube::Client, serve: ServeConfig) -> anyhow::Result<Stack> {
        Self::check(settings)?;
        let datadog = DatadogClient::new(ClientConfig::from_settings(settings)?)?;
        let querier = Arc::new(DatadogQuerier::new(datadog.clone()));
        let (stop, stopped) = watch::channel(false);
        let election = LeaderElection::spawn(client.clone(), LeaseConfig::from_settings(settings), stopped.clone());
        let leader = election.handle.clone();
        let running = match datadogmetric::start_with_leader(client.clone(), settings, querier.clone(), leader, stopped)
        {
            Ok(running) => running,
            Err(e) => {
                let _ = stop.send(true);
                let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, election.task).await;
                return Err(e.into());
            }
        };
        let provider = running.provider.clone();
        let collector = ProviderTelemetry { provider: provider.clone(), leader: running.leader.clone() };
        let parts =
            StatusSourceParts { provider: provider.clone(), leader: running.leader.clone(), client: datadog.clone() };
        let (name, check) = provider.ready_check();
        let telemetry = datadog.telemetry().clone();
        let extras = Extras {
            ready_checks: vec![(name.to_owned(), check)],
            metrics: Some(Box::new(move |registry| {
                telemetry.register(registry);
                querier.register(registry);
                registry.register_collector(Box::new(collector));
            })),
            status: Some(parts.source()),
        };
        let server = match crate::server::start_with(serve, client, provider.clone(), extras).await {
            Ok(server) => server,
            Err(e) => {
                let _ = stop.send(true);
                let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, running.task).await;
                let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, election.task).await;
                return Err(e);
            }
        };
        Ok(Stack {
            server,
            provider,
            leader: running.leader,
            datadog,
            stop,
            provider_task: running.task,
            election_task: election.task,
        })
    }

    /// Stops serving, then stops the provider's loops, releasing the lock when
    /// `leader_election_release_on_shutdown` (the default) so a follower takes over at once.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
        let _ = self.stop.send(true);
        if tokio::time::timeout(PROVIDER_STOP_TIMEOUT, self.provider_task).await.is_err() {
            tracing::warn!("the DatadogMetric provider did not stop within {PROVIDER_STOP_TIMEOUT:?}");
        }
        if tokio::time::timeout(PROVIDER_STOP_TIMEOUT, self.election_task).await.is_err() {
            tracing::warn!("leader election did not stop (release the lock) within {PROVIDER_STOP_TIMEOUT:?}");
        }
    }

    /// A crash, for failover tests: the listeners close and every loop stops at once, without
    /// releasing the lock, so followers must wait for it to expire.
    pub async fn abort(self) {
        self.provider_task.abort();
        self.election_task.abort();
        self.server.shutdown().await;
    }
}
