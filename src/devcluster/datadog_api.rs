//! A simulated Datadog API for tests, benchmarks and `dev` mode: plain HTTP on 127.0.0.1 serving
//! `GET /api/v1/query` with the recorded reply shape (reference/datadog-api/). It checks the keys
//! (`DD-API-KEY`/`DD-APPLICATION-KEY`), evaluates each comma-separated query against series defined
//! in code or YAML ([`SeriesDef`]: constant, step, pulse, sine, ramp, per-tag), honours `from`/`to` and
//! `.rollup(.., N)`, returns `X-RateLimit-*` headers from a configurable budget (429 when spent),
//! counts calls, and injects [`Faults`] — including going down (connection refused, open
//! connections closed) and coming back on the same port. Two instances make a primary and a
//! failover endpoint.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use autoscaling_apiserver::devcluster::datadog_api::{DatadogApi, DatadogApiConfig, SeriesDef, Shape};
//! let api = DatadogApi::start(DatadogApiConfig {
//!     series: vec![SeriesDef::new("requests", Shape::Constant { value: 42.0 })],
//!     ..Default::default()
//! })
//! .await?;
//! let base_url = api.url(); // http://127.0.0.1:PORT, keys api.api_key() / api.app_key()
//! api.set_series(vec![SeriesDef::new("requests", Shape::Constant { value: 84.0 })]);
//! api.down(); // connection refused until api.up()
//! # Ok(()) }
//! ```

mod faults;
mod query;
mod respond;
mod series;

pub use faults::{BodyFault, Faults};
pub use series::{SeriesDef, SeriesFile, Shape};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use parking_lot::{Mutex, RwLock};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::{AbortHandle, JoinSet};

use faults::Budget;

/// Settings of one simulated endpoint.
#[derive(Debug, Clone)]
pub struct DatadogApiConfig {
    /// 0 picks a free port.
    pub port: u16,
    pub api_key: String,
    pub app_key: String,
    pub series: Vec<SeriesDef>,
    /// Calls allowed per `rate_period` (recorded: 1600 per 3600 s).
    pub rate_limit: u64,
    pub rate_period: Duration,
    /// Seconds between points when the query has no `.rollup(.., N)`.
    pub default_interval_s: u64,
}

impl Default for DatadogApiConfig {
    fn default() -> Self {
        DatadogApiConfig {
            port: 0,
            api_key: "simulated-api-key".into(),
            app_key: "simulated-app-key".into(),
            series: Vec::new(),
            rate_limit: 1600,
            rate_period: Duration::from_secs(3600),
            default_interval_s: 30,
        }
    }
}

impl DatadogApiConfig {
    /// Series (and optionally keys) from a YAML file; see [`SeriesDef`] for the format.
    pub fn from_yaml_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = SeriesFile::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config = DatadogApiConfig { series: file.series, ..Default::default() };
        config.api_key = file.api_key.unwrap_or(config.api_key);
        config.app_key = file.app_key.unwrap_or(config.app_key);
        Ok(config)
    }
}

/// What one call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The `query` parameter (comma-joined queries).
    pub query: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// State shared with the request handler.
struct Shared {
    api_key: String,
    app_key: String,
    series: RwLock<Vec<SeriesDef>>,
    faults: Mutex<Faults>,
    budget: Mutex<Budget>,
    calls: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    log: Mutex<Vec<CallRecord>>,
    /// Unix seconds at start: shapes are evaluated at `t - started_unix`.
    started_unix: f64,
    default_interval_s: u64,
}

/// A running simulated endpoint; stops when dropped.
pub struct DatadogApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    serving: Mutex<Option<AbortHandle>>,
}

impl DatadogApi {
    pub async fn start(config: DatadogApiConfig) -> std::io::Result<Self> {
        let started_unix = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let shared = Arc::new(Shared {
            api_key: config.api_key,
            app_key: config.app_key,
            series: RwLock::new(config.series),
            faults: Mutex::new(Faults::default()),
            budget: Mutex::new(Budget::new(config.rate_limit, config.rate_period)),
            calls: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            started_unix,
            default_interval_s: config.default_interval_s.max(1),
        });
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], config.port)))?;
        let addr = listener.local_addr()?;
        let api = DatadogApi { shared, addr, serving: Mutex::new(None) };
        api.serve(listener);
        Ok(api)
    }

    /// `http://127.0.0.1:PORT`, the base URL to configure as an endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    pub fn app_key(&self) -> &str {
        &self.shared.app_key
    }

    /// Calls received on `/api/v1/query` (every one, refused or not).
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// The most calls ever handled at the same time.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// The `query` parameter of every call received, in order.
    pub fn queries(&self) -> Vec<String> {
        self.shared.log.lock().iter().map(|c| c.query.clone()).collect()
    }

    /// Every call received, in order.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.shared.log.lock().clone()
    }

    /// Unix seconds at start; a shape's value at point time `t` is `shape.value_at(t - started_unix)`.
    pub fn started_unix(&self) -> f64 {
        self.shared.started_unix
    }

    /// Replaces every series.
    pub fn set_series(&self, series: Vec<SeriesDef>) {
        *self.shared.series.write() = series;
    }

    /// Replaces the series with the same metric and tags, or adds it.
    pub fn upsert_series(&self, def: SeriesDef) {
        let mut series = self.shared.series.write();
        match series.iter_mut().find(|s| s.metric == def.metric && s.tags == def.tags) {
            Some(existing) => *existing = def,
            None => series.push(def),
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock() = faults;
    }

    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.faults.lock());
    }

    pub fn clear_faults(&self) {
        self.set_faults(Faults::default());
    }

    /// A fresh budget of `limit` calls per `period`, starting now.
    pub fn set_rate_limit(&self, limit: u64, period: Duration) {
        *self.shared.budget.lock() = Budget::new(limit, period);
    }

    /// Stops listening (connections are refused) and closes open connections.
    pub fn down(&self) {
        if let Some(handle) = self.serving.lock().take() {
            handle.abort();
        }
    }

    /// Listens again on the same address.
    pub fn up(&self) -> std::io::Result<()> {
        if self.serving.lock().is_some() {
            return Ok(());
        }
        let listener = bind(self.addr)?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&self, listener: TcpListener) {
        let app = Router::new()
            .route("/api/v1/query", get(respond::query))
            .fallback(|| async { (http::StatusCode::NOT_FOUND, r#"{"errors":["Not found"]}"#) })
            .with_state(self.shared.clone());
        let task = tokio::spawn(accept_loop(listener, app));
        *self.serving.lock() = Some(task.abort_handle());
    }
}

impl Drop for DatadogApi {
    fn drop(&mut self) {
        self.down();
    }
}

/// With SO_REUSEADDR so that [`DatadogApi::up`] can take the port back while closed connections linger.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves until aborted; aborting drops the listener and, with the join set, every connection.
async fn accept_loop(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "simulated Datadog API: accept failed");
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}
