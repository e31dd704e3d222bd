//! What a [`super::DatadogClient`] is built from, and how the DCA settings map onto it (spec §8.1,
//! §8.2, §13): keys `external_metrics_provider.api_key`/`app_key` else `api_key`/`app_key`; base URL
//! `external_metrics_provider.endpoint` > `DATADOG_HOST` > `https://api.<site>`; redundant endpoints
//! each with their own keys (an entry without `url` uses `https://api.<its site or the main site>`).

use std::time::Duration;

use super::chunk::DEFAULT_CHUNK_SIZE;
use super::endpoint::RetryBounds;
use super::error::ClientError;
use crate::config::Settings;

/// One endpoint: base URL (`http://` allowed, for the simulated API) and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The setting this endpoint comes from, named in errors.
    pub key: String,
    pub url: String,
    pub api_key: String,
    pub app_key: String,
}

/// Client settings; [`ClientConfig::from_settings`] reads them from the DCA keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The primary first, then the failover endpoints in order.
    pub endpoints: Vec<EndpointConfig>,
    /// Queries per call (35).
    pub chunk_size: usize,
    /// Calls in flight (10; the settings accessor already maps ≤ 0 or > 300 to 300).
    pub max_parallel_queries: usize,
    /// Whole-call timeout per endpoint.
    pub request_timeout: Duration,
    /// Failover retry interval bounds (30 s .. 30 min).
    pub retry: RetryBounds,
    /// Largest reply body read; larger replies are an error (and the batch is split).
    pub max_body_bytes: usize,
    /// Window of `rate_limit_queries_remaining_min` (2 × refresh period).
    pub remaining_min_window: Duration,
}

impl ClientConfig {
    /// One endpoint with default limits (tests and `dev` mode against the simulated API).
    pub fn single(url: &str, api_key: &str, app_key: &str) -> Self {
        let endpoint = EndpointConfig {
            key: "external_metrics_provider.endpoint".into(),
            url: url.into(),
            api_key: api_key.into(),
            app_key: app_key.into(),
        };
        ClientConfig {
            endpoints: vec![endpoint],
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_parallel_queries: 10,
            request_timeout: Duration::from_secs(10),
            retry: RetryBounds::default(),
            max_body_bytes: 16 * 1024 * 1024,
            remaining_min_window: Duration::from_secs(60),
        }
    }

    /// Adds a failover endpoint after the existing ones.
    pub fn with_failover(mut self, url: &str, api_key: &str, app_key: &str) -> Self {
        let key = format!("external_metrics_provider.endpoints[{}]", self.endpoints.len() - 1);
        self.endpoints.push(EndpointConfig { key, url: url.into(), api_key: api_key.into(), app_key: app_key.into() });
        self
    }

    /// From the DCA settings; missing keys are an error naming them.
    pub fn from_settings(s: &Settings) -> Result<Self, ClientError> {
        let (Some(api_key), Some(app_key)) = (s.external_metrics_api_key(), s.external_metrics_app_key()) else {
            return Err(ClientError::MissingKeys {
                keys:
                    "api_key and app_key (or external_metrics_provider.api_key and external_metrics_provider.app_key)"
                        .into(),
            });
        };
        let mut config = ClientConfig::single(&s.endpoint(), api_key, app_key);
        for (i, e) in s.endpoints().iter().enumerate() {
            let key = format!("external_metrics_provider.endpoints[{i}]");
            if e.api_key.trim().is_empty() || e.app_key.trim().is_empty() {
                return Err(ClientError::MissingKeys { keys: format!("{key}.api_key and {key}.app_key") });
            }
            let site = if e.site.trim().is_empty() { s.site() } else { e.site.trim() };
            let url = if e.url.trim().is_empty() { format!("https://api.{site}") } else { e.url.trim().to_string() };
            config.endpoints.push(EndpointConfig { key, url, api_key: e.api_key.clone(), app_key: e.app_key.clone() });
        }
        config.chunk_size = usize::try_from(s.chunk_size()).ok().filter(|&n| n > 0).unwrap_or(DEFAULT_CHUNK_SIZE);
        config.max_parallel_queries = usize::try_from(s.max_parallel_queries()).unwrap_or(300);
        config.remaining_min_window = s.external_metrics_provider_refresh_period() * 2;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        crate::config::load(None, env, &[]).unwrap().0
    }

    #[test]
    fn keys_and_base_url_precedence() {
        let s = settings(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_SITE", "datadoghq.eu")]);
        let c = ClientConfig::from_settings(&s).unwrap();
        assert_eq!(c.endpoints[0].url, "https://api.datadoghq.eu");
        assert_eq!((c.endpoints[0].api_key.as_str(), c.endpoints[0].app_key.as_str()), ("a", "b"));

        let s = settings(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DATADOG_HOST", "http://127.0.0.1:9")]);
        assert_eq!(ClientConfig::from_settings(&s).unwrap().endpoints[0].url, "http://127.0.0.1:9");

        let s = settings(&[
            ("DD_API_KEY", "a"),
            ("DD_APP_KEY", "b"),
            ("DD_EXTERNAL_METRICS_PROVIDER_API_KEY", "x"),
            ("DATADOG_HOST", "http://127.0.0.1:9"),
            ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "http://127.0.0.1:8"),
        ]);
        let c = ClientConfig::from_settings(&s).unwrap();
        assert_eq!(c.endpoints[0].url, "http://127.0.0.1:8");
        assert_eq!(c.endpoints[0].api_key, "x");
    }

    #[test]
    fn missing_keys_are_named() {
        let err = ClientConfig::from_settings(&settings(&[("DD_API_KEY", "a")])).unwrap_err();
        assert!(err.to_string().starts_with("missing the api/app key pair to query Datadog"), "{err}");
    }

    #[test]
    fn redundant_endpoints_follow_the_primary() {
        let endpoints = r#"[{"url":"http://127.0.0.1:7","api_key":"k","app_key":"p"},{"site":"us3.datadoghq.com","api_key":"k","app_key":"p"}]"#;
        let s = settings(&[
            ("DD_API_KEY", "a"),
            ("DD_APP_KEY", "b"),
            ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", endpoints),
        ]);
        let c = ClientConfig::from_settings(&s).unwrap();
        let urls: Vec<&str> = c.endpoints.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["https://api.datadoghq.com", "http://127.0.0.1:7", "https://api.us3.datadoghq.com"]);
        let bad = r#"[{"url":"http://127.0.0.1:7","api_key":"k"}]"#;
        let s = settings(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", bad)]);
        let err = ClientConfig::from_settings(&s).unwrap_err().to_string();
        assert!(err.contains("external_metrics_provider.endpoints[0].app_key"), "{err}");
    }
}
