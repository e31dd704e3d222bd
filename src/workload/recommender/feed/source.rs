//! Reading the feed's source: a directory of config files, an index file, or an index document
//! over HTTP(S) (layouts in the parent module). Sizes are bounded; a file that cannot be read or
//! is not a config envelope becomes a config whose payload is the error, so it shows in `/status`
//! as `error` while the rest is applied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{FeedError, SETTINGS_PRODUCT, VALUES_PRODUCT};

/// Largest config file read from a directory.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// Largest index document (file or HTTP body).
pub const MAX_INDEX_BYTES: u64 = 32 << 20;
/// Most config files read per product directory.
const MAX_FILES: usize = 10_000;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the feed is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedSource {
    /// A directory (`settings/`, `values/`) or an index file.
    Path(PathBuf),
    /// An index document at an `http://` or `https://` URL.
    Http(String),
}

impl std::fmt::Display for FeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedSource::Path(p) => write!(f, "{}", p.display()),
            FeedSource::Http(url) => f.write_str(url),
        }
    }
}

/// One config as read, before its payload is interpreted.
#[derive(Clone, Debug, PartialEq)]
pub struct RawConfig {
    /// The file (directory layout) or the config path (index).
    pub path: String,
    pub product: String,
    pub id: String,
    pub version: u64,
    /// The payload, or why the config could not be read.
    pub payload: Result<Value, String>,
}

impl FeedSource {
    /// The source a key value names; `Ok(None)` for an empty value.
    pub fn parse(text: &str) -> Result<Option<Self>, FeedError> {
        let text = text.trim();
        let bad = |problem: &str| FeedError { value: text.to_string(), problem: problem.to_string() };
        if text.is_empty() {
            return Ok(None);
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("not a valid URL: {e}")))?;
            return Ok(Some(FeedSource::Http(url.to_string())));
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad("a file:// URL needs an absolute path (file:///dir)"));
            }
            return Ok(Some(FeedSource::Path(PathBuf::from(path))));
        }
        if text.contains("://") {
            return Err(bad("only a path, file://, http:// and https:// are supported"));
        }
        Ok(Some(FeedSource::Path(PathBuf::from(text))))
    }

    /// Every config of the source, or why the source cannot be read at all.
    pub async fn fetch(&self, http: &reqwest::Client) -> Result<Vec<RawConfig>, String> {
        match self {
            FeedSource::Http(url) => index(&fetch_http(http, url).await?),
            FeedSource::Path(path) => {
                let meta = tokio::fs::metadata(path).await.map_err(|e| format!("{}: {e}", path.display()))?;
                if meta.is_dir() {
                    let mut configs = read_product_dir(&path.join("settings"), SETTINGS_PRODUCT).await?;
                    configs.extend(read_product_dir(&path.join("values"), VALUES_PRODUCT).await?);
                    Ok(configs)
                } else {
                    index(&read_bounded(path, meta.len(), MAX_INDEX_BYTES).await?)
                        .map_err(|e| format!("{}: {e}", path.display()))
                }
            }
        }
    }
}

/// The client the feed polls with: rustls (ring) with the platform's trust store.
pub(super) fn http_client() -> Result<reqwest::Client, String> {
    let tls = crate::datadog::tls_config().map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn fetch_http(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut resp = http
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", super::super::error_chain(&e)))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: HTTP {} (expected 200)", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: reading the body: {e}"))? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_INDEX_BYTES {
            return Err(format!("GET {url}: the index is larger than {MAX_INDEX_BYTES} bytes"));
        }
    }
    Ok(body)
}

async fn read_bounded(path: &Path, len: u64, max: u64) -> Result<Vec<u8>, String> {
    if len > max {
        return Err(format!("{} is {len} bytes, more than the {max} allowed", path.display()));
    }
    tokio::fs::read(path).await.map_err(|e| format!("{}: {e}", path.display()))
}

/// The `*.json` files of one product's directory, by name; a missing directory has none.
async fn read_product_dir(dir: &Path, product: &str) -> Result<Vec<RawConfig>, String> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
        if files.len() > MAX_FILES {
            return Err(format!("{}: more than {MAX_FILES} config files", dir.display()));
        }
    }
    files.sort();
    let mut configs = Vec::with_capacity(files.len());
    for file in files {
        configs.push(read_config_file(&file, product).await);
    }
    Ok(configs)
}

/// A config file's envelope.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    #[serde(default)]
    id: Option<String>,
    version: u64,
    config: Value,
}

async fn read_config_file(file: &Path, product: &str) -> RawConfig {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let shown = file.parent().and_then(Path::file_name).map_or_else(
        || file.display().to_string(),
        |dir| format!("{}/{}", dir.to_string_lossy(), file.file_name().unwrap_or_default().to_string_lossy()),
    );
    let mut config =
        RawConfig { path: shown, product: product.to_string(), id: stem, version: 0, payload: Ok(Value::Null) };
    let len = match tokio::fs::metadata(file).await {
        Ok(m) => m.len(),
        Err(e) => {
            config.payload = Err(format!("cannot read {}: {e}", file.display()));
            return config;
        }
    };
    let bytes = match read_bounded(file, len, MAX_CONFIG_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            config.payload = Err(e);
            return config;
        }
    };
    match serde_json::from_slice::<Envelope>(&bytes) {
        Ok(envelope) => {
            config.id = envelope.id.unwrap_or(config.id);
            config.version = envelope.version;
            config.payload = Ok(envelope.config);
        }
        Err(e) => {
            config.payload = Err(format!("not a config envelope {{\"version\": <number>, \"config\": {{...}}}}: {e}"));
        }
    }
    config
}

/// The index document: every config with its product, id, version and payload.
#[derive(Deserialize)]
struct Index {
    configs: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexEntry {
    #[serde(default)]
    path: Option<String>,
    product: String,
    id: String,
    version: u64,
    config: Value,
}

fn index(bytes: &[u8]) -> Result<Vec<RawConfig>, String> {
    let index: Index =
        serde_json::from_slice(bytes).map_err(|e| format!("not an index document {{\"configs\": [...]}}: {e}"))?;
    Ok(index.configs.into_iter().enumerate().map(|(i, entry)| index_entry(i, entry)).collect())
}

fn index_entry(i: usize, entry: Value) -> RawConfig {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    let fallback_path = text("path").unwrap_or_else(|| format!("configs[{i}]"));
    match serde_json::from_value::<IndexEntry>(entry.clone()) {
        Ok(e) => RawConfig {
            path: e.path.unwrap_or_else(|| format!("datadog/2/{}/{}/config", e.product, e.id)),
            product: e.product,
            id: e.id,
            version: e.version,
            payload: Ok(e.config),
        },
        Err(err) => RawConfig {
            path: fallback_path,
            product: text("product").unwrap_or_default(),
            id: text("id").unwrap_or_default(),
            version: entry.get("version").and_then(Value::as_u64).unwrap_or(0),
            payload: Err(format!("not an index entry {{product, id, version, config}}: {err}")),
        },
    }
}
