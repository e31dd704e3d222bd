//! The `status` command's readable form: a header with the leader, the provider and workload
//! autoscaling, then one kubectl-style table for the Datadog endpoints and one for the DatadogMetrics.

use super::{EndpointView, MetricView, StatusDocument};

pub fn render(doc: &StatusDocument) -> String {
    let mut out = String::new();
    let holder = doc.leader.holder.as_deref().unwrap_or("(none observed)");
    let role = if doc.leader.is_leader { "leader" } else { "follower" };
    out.push_str(&format!("Leader:    {holder}\n"));
    out.push_str(&format!("Replica:   {} ({role})\n", doc.leader.identity));
    let synced = if doc.synced { "synced" } else { "not synced yet" };
    out.push_str(&format!("Provider:  {} ({synced})\n", doc.provider));
    out.push_str(&super::workload::render(&doc.workload));
    out.push('\n');

    let mut endpoints = vec![row(&[
        "DATADOG ENDPOINT",
        "IN USE",
        "HEALTHY",
        "REQUESTS",
        "FAILURES",
        "RETRY",
        "RATE LIMIT",
        "LAST ERROR",
    ])];
    endpoints.extend(doc.endpoints.iter().map(endpoint_row));
    out.push_str(&table(&endpoints));
    out.push('\n');

    if doc.datadog_metrics.is_empty() {
        out.push_str("No DatadogMetrics.\n");
        return out;
    }
    let mut metrics = vec![row(&["DATADOGMETRIC", "ACTIVE", "VALID", "VALUE", "AGE", "QUERY", "ERROR"])];
    metrics.extend(doc.datadog_metrics.iter().map(metric_row));
    out.push_str(&table(&metrics));
    out
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

fn endpoint_row(e: &EndpointView) -> Vec<String> {
    let rate = match &e.rate_limit {
        Some(rl) => {
            let n = |v: Option<i64>| v.map_or("?".to_owned(), |v| v.to_string());
            let reset = rl.reset_at.as_deref().map(|t| format!(", reset {t}")).unwrap_or_default();
            format!("{}/{} left{reset}", n(rl.remaining), n(rl.limit))
        }
        None => "-".to_owned(),
    };
    let rate = match &e.rate_limited_until {
        Some(until) => format!("{rate} (blocked until {until})"),
        None => rate,
    };
    vec![
        e.url.clone(),
        yes_no(e.in_use),
        yes_no(e.healthy),
        e.requests.to_string(),
        e.failures.to_string(),
        format!("{}s", e.retry_interval_s),
        rate,
        one_line(e.last_error.as_deref()),
    ]
}

fn metric_row(m: &MetricView) -> Vec<String> {
    vec![
        m.id.clone(),
        m.active.to_string(),
        m.valid.to_string(),
        m.value.map_or("-".to_owned(), |v| v.to_string()),
        m.age_s.map_or("-".to_owned(), |s| format!("{s}s")),
        m.query.clone(),
        one_line(m.error.as_deref()),
    ]
}

fn one_line(text: Option<&str>) -> String {
    text.map_or("-".to_owned(), |t| t.replace('\n', " "))
}

/// Left-aligned columns separated by three spaces; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let last = r.len().saturating_sub(1);
        for (c, cell) in r.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}   ", width = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{LeaderStatus, RateLimitView};
    use super::*;

    #[test]
    fn tables_show_leader_endpoints_and_metrics() {
        let doc = StatusDocument {
            generated_at: "2026-01-01T00:00:10Z".into(),
            provider: "datadogmetric".into(),
            synced: true,
            leader: LeaderStatus { identity: "dca-b".into(), holder: Some("dca-a".into()), is_leader: false },
            endpoints: vec![EndpointView {
                url: "http://127.0.0.1:9".into(),
                in_use: true,
                healthy: true,
                retry_interval_s: 30,
                requests: 7,
                failures: 1,
                last_success: None,
                last_failure: None,
                last_error: Some("connection refused".into()),
                rate_limited_until: None,
                rate_limit: Some(RateLimitView {
                    limit: Some(1600),
                    remaining: Some(1593),
                    period_s: Some(3600),
                    reset_at: None,
                }),
            }],
            datadog_metrics: vec![MetricView {
                id: "default/web-rps".into(),
                query: "avg:nginx.net.request_per_s{*}".into(),
                active: true,
                valid: true,
                value: Some(42.0),
                timestamp: Some("2026-01-01T00:00:07Z".into()),
                age_s: Some(3),
                updated: "2026-01-01T00:00:08Z".into(),
                error: None,
                autogen: false,
            }],
            workload: Default::default(),
        };
        let text = render(&doc);
        assert!(text.starts_with("Leader:    dca-a\nReplica:   dca-b (follower)\n"), "{text}");
        let endpoint = text.lines().find(|l| l.starts_with("http://127.0.0.1:9")).expect("endpoint row");
        let cells: Vec<&str> = endpoint.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(
            cells,
            ["http://127.0.0.1:9", "yes", "yes", "7", "1", "30s", "1593/1600 left", "connection refused"]
        );
        let metric = text.lines().find(|l| l.starts_with("default/web-rps")).expect("metric row");
        let cells: Vec<&str> = metric.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(cells, ["default/web-rps", "true", "true", "42", "3s", "avg:nginx.net.request_per_s{*}", "-"]);
    }
}
