//! Keeps [`AuthenticationConfig`] current from `kube-system/extension-apiserver-authentication`
//! with a watch on that one ConfigMap, as Go's `DynamicRequestHeaderController` and
//! `ConfigMapCAController` do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::{ArcSwap, Guard};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

use super::AuthenticationConfig;
use super::config::{CONFIGMAP_NAME, CONFIGMAP_NAMESPACE};

type OnChange = Box<dyn Fn(&AuthenticationConfig) + Send + Sync>;

/// The latest authentication config and whether the first list of the ConfigMap completed.
pub struct AuthConfigWatch {
    /// Read on every request: an `ArcSwap` load takes no lock and writes no shared counter (a
    /// watch channel's borrow takes its read lock and the `Arc` clone bumps the shared count,
    /// cache lines every serving thread then writes).
    current: ArcSwap<AuthenticationConfig>,
    /// The same configs, for subscribers.
    config: watch::Sender<Arc<AuthenticationConfig>>,
    synced: AtomicBool,
}

impl AuthConfigWatch {
    /// Watches the ConfigMap until `stop` turns true (or its sender is dropped). `on_change` runs
    /// on every config that differs from the previous one, e.g. to update TLS client-CA trust.
    /// A deleted ConfigMap or an unparseable version leaves the last good config in place.
    pub fn spawn(client: kube::Client, on_change: OnChange, stop: watch::Receiver<bool>) -> Arc<Self> {
        let this = Arc::new(Self::with(AuthenticationConfig::default(), false));
        tokio::spawn(run(this.clone(), client, on_change, stop));
        this
    }

    /// A config that never changes (static setups and tests); reported as synced.
    pub fn fixed(config: AuthenticationConfig) -> Arc<Self> {
        Arc::new(Self::with(config, true))
    }

    fn with(config: AuthenticationConfig, synced: bool) -> Self {
        let config = Arc::new(config);
        AuthConfigWatch {
            current: ArcSwap::new(config.clone()),
            config: watch::Sender::new(config),
            synced: AtomicBool::new(synced),
        }
    }

    /// The config now (a guard: hold it only for the request at hand).
    pub fn current(&self) -> Guard<Arc<AuthenticationConfig>> {
        self.current.load()
    }

    /// True once the ConfigMap was listed (found or not): gate /readyz on it.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Notified on every config change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<AuthenticationConfig>> {
        self.config.subscribe()
    }

    fn handle(&self, event: watcher::Event<ConfigMap>, on_change: &OnChange) {
        match event {
            watcher::Event::Apply(cm) | watcher::Event::InitApply(cm) => self.apply(&cm, on_change),
            watcher::Event::Delete(_) => {
                tracing::warn!("ConfigMap {CONFIGMAP_NAMESPACE}/{CONFIGMAP_NAME} deleted; keeping the last config")
            }
            watcher::Event::Init => {}
            watcher::Event::InitDone => self.synced.store(true, Ordering::Release),
        }
    }

    fn apply(&self, cm: &ConfigMap, on_change: &OnChange) {
        let config = match AuthenticationConfig::from_configmap(cm) {
            Ok(config) => config,
            Err(e) => return tracing::warn!(error = %e, "ignoring this version of the authentication ConfigMap"),
        };
        if **self.current() == config {
            return;
        }
        tracing::info!(
            client_ca = config.client_ca_pem.is_some(),
            requestheader_ca = config.requestheader_ca_pem.is_some(),
            allowed_names = ?config.allowed_names,
            "authentication config updated"
        );
        on_change(&config);
        let config = Arc::new(config);
        self.current.store(config.clone());
        self.config.send_replace(config);
    }
}

async fn run(this: Arc<AuthConfigWatch>, client: kube::Client, on_change: OnChange, mut stop: watch::Receiver<bool>) {
    let api: Api<ConfigMap> = Api::namespaced(client, CONFIGMAP_NAMESPACE);
    let selector = watcher::Config::default().fields(&format!("metadata.name={CONFIGMAP_NAME}"));
    let mut events = std::pin::pin!(watcher(api, selector).default_backoff());
    loop {
        let event = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            event = events.next() => event,
        };
        match event {
            Some(Ok(event)) => this.handle(event, &on_change),
            Some(Err(e)) => tracing::warn!(error = %e, "watching the authentication ConfigMap"),
            None => return,
        }
    }
}
