//! `GET /api/v1/query`: key check (403 with the recorded body), rate-limit budget (429 and
//! `X-RateLimit-*` headers), faults, then each comma-separated query evaluated against the series.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::Shared;
use super::faults::{BodyFault, BudgetView};
use super::query::{self, ParsedQuery, tag_text};
use super::series::{SeriesDef, Shape, aggregate};

/// The recorded 403 body (reference/datadog-api/v1-error-403-forbidden).
const FORBIDDEN: &str = r#"{"status":"error","code":403,"errors":["Forbidden"],"statuspage":"http://status.datadoghq.com","twitter":"http://twitter.com/datadogops","email":"support@datadoghq.com"}"#;
/// Stands for a non-finite value until the body is written (JSON has no NaN).
const NON_FINITE: &str = "__simulated_non_finite__";
/// At most this many points per series, as the real API coarsens its interval.
const MAX_POINTS: i64 = 1500;

/// Counts a call in flight for as long as it lives.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn query(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(&shared);
    let params: HashMap<String, String> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let int = |name: &str| params.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let record =
        super::CallRecord { query: params.get("query").cloned().unwrap_or_default(), from: int("from"), to: int("to") };
    shared.log.lock().push(record);
    let faults = shared.faults.lock().clone();
    if let Some(latency) = faults.latency {
        tokio::time::sleep(latency).await;
    }
    if !authorized(&shared, &headers, &params) {
        return reply(StatusCode::FORBIDDEN, None, FORBIDDEN.as_bytes().to_vec());
    }
    let budget = shared.budget.lock().take();
    let view = match budget {
        Ok(view) => view,
        Err(view) => return errors(StatusCode::TOO_MANY_REQUESTS, Some(view), "Rate limit exceeded"),
    };
    if let Some(code) = faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let view = if code == 429 { BudgetView { remaining: 0, ..view } } else { view };
        return errors(status, Some(view), status.canonical_reason().unwrap_or("Error"));
    }
    match evaluate(&shared, &params, &faults) {
        Ok(body) => reply(StatusCode::OK, Some(view), body_with_fault(body, faults.body)),
        Err((status, message)) => errors(status, Some(view), &message),
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let api = header("dd-api-key").or(params.get("api_key").map(String::as_str));
    let app = header("dd-application-key").or(params.get("application_key").map(String::as_str));
    api == Some(shared.api_key.as_str()) && app == Some(shared.app_key.as_str())
}

fn evaluate(
    shared: &Shared,
    params: &HashMap<String, String>,
    faults: &super::Faults,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let int = |name: &str| {
        params
            .get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| bad(format!("The value provided for parameter '{name}' is invalid")))
    };
    let (from, to) = (int("from")?, int("to")?);
    let batch =
        params.get("query").filter(|q| !q.trim().is_empty()).ok_or_else(|| bad("Missing query parameter".into()))?;
    let texts = query::split_top_level(batch);
    let parsed = texts
        .iter()
        .map(|q| query::parse(q).map_err(|e| bad(format!("Error parsing query: unable to parse {}: {e}", q.trim()))))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(q) = texts.iter().find(|q| faults.reject_queries.iter().any(|r| q.contains(r.as_str()))) {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, format!("Unprocessable query: {}", q.trim())));
    }
    let defs = shared.series.read().clone();
    let mut series = Vec::new();
    let mut group_by = Vec::new();
    for (i, (text, p)) in texts.iter().zip(&parsed).enumerate() {
        if faults.missing_series.iter().any(|m| text.contains(m.as_str())) {
            continue;
        }
        let index = if faults.wrong_query_index { i + texts.len() } else { i };
        group_by.extend(p.by.iter().cloned());
        let interval = interval(p, from, to, shared.default_interval_s);
        for def in &defs {
            for (scope, tag_set, shapes) in matches(def, p) {
                let padding = match faults.body {
                    Some(BodyFault::Huge { points }) => points,
                    _ => 0,
                };
                let ctx = SeriesCtx { from, to, interval, started: shared.started_unix, padding };
                series.push(render(&ctx, p, index, &scope, &tag_set, &shapes));
            }
        }
    }
    let body = json!({
        "status": "ok", "res_type": "time_series", "resp_version": 1, "query": batch,
        "from_date": from * 1000, "to_date": to * 1000, "group_by": group_by, "message": "",
        "times": [], "values": [], "series": series,
    });
    let text = body.to_string();
    Ok(text
        .replace(&format!("\"{NON_FINITE}NaN\""), "NaN")
        .replace(&format!("\"{NON_FINITE}inf\""), "Infinity")
        .replace(&format!("\"{NON_FINITE}-inf\""), "-Infinity")
        .into_bytes())
}

fn interval(p: &ParsedQuery, from: i64, to: i64, default: u64) -> i64 {
    let asked = p.rollup.unwrap_or(default).clamp(1, 86_400 * 365) as i64;
    let span = (to - from).max(0);
    asked.max((span + MAX_POINTS - 1) / MAX_POINTS)
}

/// The series `def` yields for query `p`: (scope text, tag_set, shapes aggregated per point).
fn matches<'a>(def: &'a SeriesDef, p: &ParsedQuery) -> Vec<(String, Vec<String>, Vec<&'a Shape>)> {
    if def.metric != p.metric {
        return Vec::new();
    }
    let per_tag = match &def.shape {
        Shape::PerTag { tag, values } => Some((tag.as_str(), values)),
        _ => None,
    };
    for (k, v) in &p.scope {
        let fixed = def.tags.contains(&tag_text(k, v));
        let tagged = per_tag.is_some_and(|(tag, values)| tag == k && values.contains_key(v));
        if !fixed && !tagged {
            return Vec::new();
        }
    }
    let scope = p.scope_text();
    let Some((tag, values)) = per_tag else {
        return vec![(scope, Vec::new(), vec![&def.shape])];
    };
    if let Some((_, v)) = p.scope.iter().find(|(k, _)| k == tag) {
        return values.get(v).map(|s| vec![(scope, Vec::new(), vec![s])]).unwrap_or_default();
    }
    if p.by.iter().any(|b| b == tag) {
        let base = if p.scope.is_empty() { String::new() } else { format!("{scope},") };
        return values.iter().map(|(v, s)| (format!("{base}{tag}:{v}"), vec![format!("{tag}:{v}")], vec![s])).collect();
    }
    vec![(scope, Vec::new(), values.values().collect())]
}

struct SeriesCtx {
    from: i64,
    to: i64,
    interval: i64,
    started: f64,
    padding: usize,
}

fn render(ctx: &SeriesCtx, p: &ParsedQuery, index: usize, scope: &str, tag_set: &[String], shapes: &[&Shape]) -> Value {
    let aggr = p.aggregator.as_deref().unwrap_or("avg");
    let first = ctx.from.div_euclid(ctx.interval) * ctx.interval
        + if ctx.from.rem_euclid(ctx.interval) == 0 { 0 } else { ctx.interval };
    let mut points: Vec<Value> =
        (0..ctx.padding).rev().map(|k| json!([((first - ctx.interval * (k as i64 + 1)) * 1000) as f64, 0.0])).collect();
    let mut t = first;
    while t <= ctx.to {
        let at = t as f64 - ctx.started;
        let values: Vec<f64> = shapes.iter().map(|s| s.value_at(at)).collect();
        points.push(json!([(t * 1000) as f64, number(aggregate(aggr, &values))]));
        t += ctx.interval;
    }
    let prefix = p.aggregator.as_deref().map(|a| format!("{a}:")).unwrap_or_default();
    json!({
        "metric": p.metric, "display_name": p.metric, "expression": format!("{prefix}{}{{{scope}}}", p.metric),
        "scope": scope, "tag_set": tag_set, "aggr": p.aggregator, "query_index": index,
        "interval": ctx.interval, "start": first * 1000, "end": t * 1000 - 1, "length": points.len(),
        "pointlist": points, "unit": null, "attributes": {},
    })
}

fn number(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        let name = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        Value::String(format!("{NON_FINITE}{name}"))
    }
}

fn body_with_fault(body: Vec<u8>, fault: Option<BodyFault>) -> Vec<u8> {
    match fault {
        Some(BodyFault::Truncated) => body[..body.len() / 2].to_vec(),
        Some(BodyFault::Garbage) => b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        Some(BodyFault::NonUtf8) => {
            let text = String::from_utf8_lossy(&body).replacen("\"ok\"", "\"o\u{1}\"", 1);
            text.into_bytes().into_iter().map(|b| if b == 1 { 0xff } else { b }).collect()
        }
        Some(BodyFault::Huge { .. }) | None => body,
    }
}

fn errors(status: StatusCode, view: Option<BudgetView>, message: &str) -> Response {
    reply(status, view, json!({ "errors": [message] }).to_string().into_bytes())
}

fn reply(status: StatusCode, view: Option<BudgetView>, body: Vec<u8>) -> Response {
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if let Some(v) = view {
        builder = builder
            .header("X-RateLimit-Limit", v.limit)
            .header("X-RateLimit-Period", v.period_s)
            .header("X-RateLimit-Remaining", v.remaining)
            .header("X-RateLimit-Reset", v.reset_s)
            .header("X-RateLimit-Name", "batch_query");
    }
    builder.body(Body::from(body)).unwrap_or_else(|_| Response::new(Body::empty()))
}
