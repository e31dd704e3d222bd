//! The product assembled from settings, as `serve` and `dev` run it: the Datadog client, leader
//! election, the external metrics provider and the API server in front of it, with the provider's
//! `/readyz` check, the DCA telemetry on `/metrics` and the `/status` document; with
//! `autoscaling.workload.enabled`, the workload autoscaling stack and its admission webhooks
//! ([`workload`]). One shutdown stops the server, then the provider's and the autoscaling loops,
//! and releases the lock.

pub mod workload;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::http2::WatchClients;
use crate::cluster::{LeaderElection, LeaderHandle, LeaseConfig};
use crate::config::Settings;
use crate::datadog::{ClientConfig, DatadogClient};
use crate::external_metrics::querier::DatadogQuerier;
use crate::external_metrics::telemetry::ProviderTelemetry;
use crate::external_metrics::{configmap, datadogmetric};
use crate::server::{Extras, MetricsProvider, RunningServer, ServeConfig};
use crate::status::{ActiveProvider, StatusSourceParts};

/// How long shutdown waits for the provider's loops (and the lock release).
const PROVIDER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server with its provider.
pub struct Stack {
    pub server: RunningServer,
    pub provider: ActiveProvider,
    pub leader: LeaderHandle,
    pub datadog: DatadogClient,
    /// The workload autoscaling stack (`autoscaling.workload.enabled`).
    pub workload: Option<workload::Workload>,
    stop: watch::Sender<bool>,
    provider_task: JoinHandle<()>,
    election_task: JoinHandle<()>,
}

impl Stack {
    /// Start-up checks made before anything runs: the Datadog keys, the provider choice, and the
    /// cluster name workload autoscaling needs.
    pub fn check(settings: &Settings) -> anyhow::Result<()> {
        settings.require_serving()?;
        workload::check(settings)?;
        Ok(())
    }

    /// Builds everything from `settings`; `client` is the server's own identity in the cluster
    /// (the pod-index watches run on it too).
    pub async fn start(settings: &Settings, client: kube::Client, serve: ServeConfig) -> anyhow::Result<Stack> {
        Self::start_with_watches(settings, client, None, serve).await
    }

    /// [`Self::start`] with the clients the pod-index watches run on (`serve` and `dev`: HTTP/2
    /// clients from the same kube config, [`WatchClients::http2`]).
    pub async fn start_with_watches(
        settings: &Settings,
        client: kube::Client,
        watch_clients: Option<WatchClients>,
        serve: ServeConfig,
    ) -> anyhow::Result<Stack> {
        Self::check(settings)?;
        let datadog = DatadogClient::new(ClientConfig::from_settings(settings)?)?;
        let querier = Arc::new(DatadogQuerier::new(datadog.clone()));
        let (stop, stopped) = watch::channel(false);
        let election = LeaderElection::spawn(client.clone(), LeaseConfig::from_settings(settings), stopped.clone());
        let leader = election.handle.clone();
        // PROVIDER CHOICE: DatadogMetrics (default), or the legacy `datadog-custom-metrics`
        // ConfigMap (spec §9) with `use_datadogmetric_crd: false`.
        let (provider, serving, leader, provider_task, metrics): (ActiveProvider, Arc<dyn MetricsProvider>, _, _, _) =
            if settings.use_datadogmetric_crd() {
                match datadogmetric::start_with_leader(client.clone(), settings, querier.clone(), leader, stopped) {
                    Ok(running) => {
                        let collector =
                            ProviderTelemetry { provider: running.provider.clone(), leader: running.leader.clone() };
                        let p = running.provider.clone();
                        (ActiveProvider::DatadogMetric(p.clone()), p, running.leader, running.task, Some(collector))
                    }
                    Err(e) => {
                        let _ = stop.send(true);
                        let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, election.task).await;
                        return Err(e.into());
                    }
                }
            } else {
                let running = configmap::start_with_leader(client.clone(), settings, querier.clone(), leader, stopped);
                let p = running.provider.clone();
                (ActiveProvider::ConfigMap(p.clone()), p, running.leader, running.task, None)
            };
        let autoscaling = workload::start(settings, &client, watch_clients, &leader)?;
        let parts = StatusSourceParts {
            provider: provider.clone(),
            leader: leader.clone(),
            client: datadog.clone(),
            workload: autoscaling.as_ref().map(workload::status_parts),
        };
        let (name, check) = match &provider {
            ActiveProvider::DatadogMetric(p) => p.ready_check(),
            ActiveProvider::ConfigMap(p) => p.ready_check(),
        };
        let telemetry = datadog.telemetry().clone();
        let extras = Extras {
            ready_checks: vec![(name.to_owned(), check)],
            metrics: Some(Box::new(move |registry| {
                telemetry.register(registry);
                querier.register(registry);
                if let Some(collector) = metrics {
                    registry.register_collector(Box::new(collector));
                }
            })),
            status: Some(parts.source()),
            webhooks: workload::webhooks(autoscaling.as_ref()),
        };
        let server = match crate::server::start_with(serve, client, serving, extras).await {
            Ok(server) => server,
            Err(e) => {
                let _ = stop.send(true);
                workload::shutdown(autoscaling).await;
                let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, provider_task).await;
                let _ = tokio::time::timeout(PROVIDER_STOP_TIMEOUT, election.task).await;
                return Err(e);
            }
        };
        Ok(Stack {
            server,
            provider,
            leader,
            datadog,
            workload: autoscaling,
            stop,
            provider_task,
            election_task: election.task,
        })
    }

    /// Stops serving, then stops the provider's and the autoscaling loops, releasing the lock when
    /// `leader_election_release_on_shutdown` (the default) so a follower takes over at once.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
        let _ = self.stop.send(true);
        workload::shutdown(self.workload).await;
        if tokio::time::timeout(PROVIDER_STOP_TIMEOUT, self.provider_task).await.is_err() {
            tracing::warn!("the external metrics provider did not stop within {PROVIDER_STOP_TIMEOUT:?}");
        }
        if tokio::time::timeout(PROVIDER_STOP_TIMEOUT, self.election_task).await.is_err() {
            tracing::warn!("leader election did not stop (release the lock) within {PROVIDER_STOP_TIMEOUT:?}");
        }
    }

    /// A crash, for failover tests: the listeners close and every loop stops at once, without
    /// releasing the lock, so followers must wait for it to expire.
    pub async fn abort(self) {
        drop(self.workload); // its JoinSet aborts every task
        self.provider_task.abort();
        self.election_task.abort();
        self.server.shutdown().await;
    }
}
