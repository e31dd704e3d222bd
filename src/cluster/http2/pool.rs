//! [`WatchClients`]: hands each long-lived watch a client, packing the watches onto as few HTTP/2
//! connections as the server's stream limit allows, as Go's HTTP/2 transport does (it opens a new
//! connection when one reaches `SETTINGS_MAX_CONCURRENT_STREAMS`; hyper would queue the stream
//! instead, and a watch queued behind 100 endless ones never starts).

use std::sync::Arc;

use parking_lot::Mutex;

use super::{Fallback, build};

/// Watches per connection: kube-apiserver's default `--http2-max-streams-per-connection` (100);
/// hyper servers (devcluster) allow 200.
pub const MAX_STREAMS_PER_CONNECTION: usize = 100;

/// The clients the pod-index watches run on; cheap to clone.
#[derive(Clone)]
pub struct WatchClients(Arc<Inner>);

struct Inner {
    source: Source,
    per_connection: usize,
    connections: Mutex<Vec<Shard>>,
}

enum Source {
    /// Every watch on this client (tests; kube's HTTP/1.1 client opens a connection per watch).
    Shared(kube::Client),
    /// HTTP/2 clients built from the config on demand.
    Http2 { config: Box<kube::Config>, fallback: Arc<Fallback> },
}

/// One HTTP/2 client (one connection) and its live leases: `Arc::strong_count(&slots) - 1`.
struct Shard {
    client: kube::Client,
    slots: Arc<()>,
}

/// A watch's client; the watch's slot on the connection is freed when the lease is dropped.
pub struct WatchLease {
    client: kube::Client,
    _slot: Option<Arc<()>>,
}

impl WatchLease {
    pub fn client(&self) -> &kube::Client {
        &self.client
    }
}

impl std::fmt::Debug for WatchClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0.source {
            Source::Shared(_) => "shared",
            Source::Http2 { .. } => "http2",
        };
        f.debug_struct("WatchClients").field("kind", &kind).field("connections", &self.connections()).finish()
    }
}

impl WatchClients {
    /// Every watch on `client`.
    pub fn shared(client: kube::Client) -> Self {
        Self::with_source(Source::Shared(client), usize::MAX)
    }

    /// HTTP/2 clients from `config`, at most [`MAX_STREAMS_PER_CONNECTION`] watches each. Fails
    /// like `kube::Client::try_from` on an unusable config (TLS material, auth, headers).
    pub fn http2(config: &kube::Config) -> Result<Self, kube::Error> {
        Self::http2_with_limit(config, MAX_STREAMS_PER_CONNECTION)
    }

    /// [`Self::http2`] with `per_connection` watches per connection (at least 1).
    pub fn http2_with_limit(config: &kube::Config, per_connection: usize) -> Result<Self, kube::Error> {
        let fallback = Fallback::new(config)?;
        // Built now so that a config the HTTP/2 stack cannot use fails at start-up, not per watch.
        let first = build(config, &fallback)?;
        let clients = Self::with_source(Source::Http2 { config: Box::new(config.clone()), fallback }, per_connection);
        if !clients.fallback_active() {
            clients.0.connections.lock().push(Shard { client: first, slots: Arc::new(()) });
        }
        Ok(clients)
    }

    fn with_source(source: Source, per_connection: usize) -> Self {
        WatchClients(Arc::new(Inner { source, per_connection: per_connection.max(1), connections: Mutex::default() }))
    }

    fn fallback_active(&self) -> bool {
        matches!(&self.0.source, Source::Http2 { fallback, .. } if fallback.active())
    }

    /// A client for one more watch: the first HTTP/2 client with a free stream, a new one when
    /// all are full, kube's HTTP/1.1 client once the server refused `h2`.
    pub fn lease(&self) -> WatchLease {
        let (config, fallback) = match &self.0.source {
            Source::Shared(client) => return WatchLease { client: client.clone(), _slot: None },
            Source::Http2 { config, fallback } => (config, fallback),
        };
        if fallback.active() {
            return WatchLease { client: fallback.http1().clone(), _slot: None };
        }
        let mut connections = self.0.connections.lock();
        let free = connections.iter().find(|c| Arc::strong_count(&c.slots) <= self.0.per_connection);
        if let Some(shard) = free {
            return WatchLease { client: shard.client.clone(), _slot: Some(shard.slots.clone()) };
        }
        match build(config, fallback) {
            Ok(client) => {
                let shard = Shard { client, slots: Arc::new(()) };
                let lease = WatchLease { client: shard.client.clone(), _slot: Some(shard.slots.clone()) };
                connections.push(shard);
                lease
            }
            Err(e) => {
                // Cannot happen once `http2` built the first one from the same config; stay usable.
                tracing::warn!(server = %config.cluster_url, error = %e, "cannot build an HTTP/2 client: using HTTP/1.1");
                WatchLease { client: fallback.http1().clone(), _slot: None }
            }
        }
    }

    /// HTTP/2 clients made so far (each holds at most one connection).
    pub fn connections(&self) -> usize {
        self.0.connections.lock().len()
    }

    /// Watches leased and not yet dropped on the HTTP/2 clients.
    pub fn leased(&self) -> usize {
        self.0.connections.lock().iter().map(|c| Arc::strong_count(&c.slots) - 1).sum()
    }
}
