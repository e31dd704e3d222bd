//! The autoscaling/v2 HPAs, kept by a reflector on every replica (cheap; leader-only loops read
//! it): both external metrics providers find the metrics HPAs use here. Deleted HPAs are also sent
//! on a channel, so a provider can drop what they used at once (the DCA's delete handler).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// The HPAs by reflector, and the first-list flag.
#[derive(Clone)]
pub struct HpaIndex {
    store: Store<HorizontalPodAutoscaler>,
    ready: Arc<AtomicBool>,
}

impl HpaIndex {
    pub fn spawn(
        client: kube::Client,
        tasks: &mut JoinSet<()>,
        mut stop: watch::Receiver<bool>,
    ) -> (Self, mpsc::UnboundedReceiver<Arc<HorizontalPodAutoscaler>>) {
        let (store, writer) = reflector::store();
        let (deleted_tx, deleted) = mpsc::unbounded_channel();
        let api: Api<HorizontalPodAutoscaler> = Api::all(client);
        let ready = Arc::new(AtomicBool::new(false));
        let listed = ready.clone();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()).default_backoff());
        tasks.spawn(async move {
            tokio::pin!(stream);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    event = stream.next() => match event {
                        Some(Ok(watcher::Event::InitDone)) => listed.store(true, Ordering::Release),
                        Some(Ok(watcher::Event::Delete(hpa))) => {
                            let _ = deleted_tx.send(Arc::new(hpa));
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => tracing::warn!(error = %e, "HorizontalPodAutoscaler watch failed; retrying"),
                        None => return,
                    },
                }
            }
        });
        (HpaIndex { store, ready }, deleted)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn list(&self) -> Vec<Arc<HorizontalPodAutoscaler>> {
        self.store.state()
    }
}
