//! One HTTPS call to a webhook as kube-apiserver makes it: `POST <path>?timeout=<n>s`, User-Agent
//! `kube-apiserver-admission`, no client certificate, TLS verified with the `caBundle` against
//! `<service>.<namespace>.svc` (or the URL's host), bounded by `timeoutSeconds`.

use std::time::Duration;

use super::super::Cluster;
use super::super::backends::{self, Endpoint};
use super::config::{Client, Webhook};
use super::review::CallError;

const USER_AGENT: &str = "kube-apiserver-admission";

/// POSTs `body` and returns the response body of a 2xx answer.
pub async fn post(cluster: &Cluster, hook: &Webhook, body: Vec<u8>) -> Result<Vec<u8>, CallError> {
    let timeout = Duration::from_secs(hook.timeout_seconds);
    let (url, path, endpoint) = target(cluster, hook)?;
    let ca = backends::decode_ca_bundle(&hook.ca_bundle).map_err(|e| format!("could not get REST client: {e}"))?;
    let tls = backends::client_tls(&ca, false, None).map_err(|e| format!("could not get REST client: {e}"))?;
    let endpoint = endpoint.map_err(|e| format!("failed to call webhook: Post \"{url}\": {e}"))?;
    let (client, base) = backends::http_client(&endpoint, tls, timeout)
        .map_err(|e| format!("failed to call webhook: Post \"{url}\": {e}"))?;
    let request = client
        .post(format!("{base}{path}"))
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::ACCEPT, "application/json, */*")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body);
    let exchange = async {
        let resp = request.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes))
    };
    let (status, bytes) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => return Err(format!("failed to call webhook: Post \"{url}\": context deadline exceeded")),
        Ok(Err(e)) => return Err(format!("failed to call webhook: Post \"{url}\": {}", transport_error(&e))),
        Ok(Ok(r)) => r,
    };
    if !(200..300).contains(&status) {
        return Err(format!("failed to call webhook: {}", status_error(status, &bytes)));
    }
    Ok(bytes.to_vec())
}

/// What a call goes to: the URL as client-go builds it (for messages), the path and query sent, and
/// where to dial.
type Target = (String, String, Result<Endpoint, String>);

fn target(cluster: &Cluster, hook: &Webhook) -> Result<Target, CallError> {
    let timeout = format!("timeout={}s", hook.timeout_seconds);
    match &hook.client {
        Client::Service { namespace, name, path, port } => {
            let url = format!("https://{name}.{namespace}.svc:{port}{path}?{timeout}");
            let endpoint = backends::resolve_service(cluster, namespace, name, *port).map_err(|e| e.to_string());
            Ok((url, format!("{path}?{timeout}"), endpoint))
        }
        Client::Url(raw) => {
            let parsed = reqwest::Url::parse(raw).map_err(|e| format!("could not get REST client: {e}"))?;
            let host = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
            let port = parsed.port_or_known_default().unwrap_or(443);
            let path = format!("{}?{timeout}", parsed.path());
            Ok((format!("{raw}?{timeout}"), path, Ok(Endpoint { host: host.clone(), port, server_name: host })))
        }
    }
}

/// Go's wording for the common transport failures.
fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded".into();
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut innermost = e.to_string();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "dial tcp: connect: connection refused".into();
        }
        innermost = s.to_string();
        source = s.source();
    }
    innermost
}

/// client-go's error for a non-2xx answer: a Status body's message, else a generic text.
fn status_error(code: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && v["kind"] == "Status"
        && let Some(m) = v["message"].as_str()
    {
        return m.to_string();
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    match code {
        500..=599 if !text.is_empty() => {
            format!("an error on the server ({text:?}) has prevented the request from succeeding")
        }
        _ => format!("the server responded with the status code {code} but did not return more information"),
    }
}
