//! The query language subset the simulated API understands:
//! `[avg|sum|min|max:]metric{scope}[ by {tag,...}][.rollup([method][, seconds])][.as_count()|.as_rate()|.fill(..)]`,
//! several of them comma-joined. Anything else is a parse error (the real API answers 400).

/// One parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    pub aggregator: Option<String>,
    pub metric: String,
    /// `(key, value)` pairs of the scope; empty for `*`. A bare tag has an empty value.
    pub scope: Vec<(String, String)>,
    pub by: Vec<String>,
    /// `.rollup(..)` interval in seconds.
    pub rollup: Option<u64>,
}

impl ParsedQuery {
    /// `k:v,k2:v2` or `*`, as the API prints a scope.
    pub fn scope_text(&self) -> String {
        if self.scope.is_empty() {
            return "*".into();
        }
        let tags: Vec<String> = self.scope.iter().map(|(k, v)| tag_text(k, v)).collect();
        tags.join(",")
    }
}

pub fn tag_text(key: &str, value: &str) -> String {
    if value.is_empty() { key.to_string() } else { format!("{key}:{value}") }
}

const AGGREGATORS: [&str; 4] = ["avg", "sum", "min", "max"];

/// Splits a batch at commas outside brackets and quotes.
pub fn split_top_level(batch: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    let mut out = Vec::new();
    for (i, c) in batch.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '{' | '[') => depth += 1,
            (None, ')' | '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&batch[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&batch[start..]);
    out
}

pub fn parse(query: &str) -> Result<ParsedQuery, String> {
    let q = query.trim();
    let (aggregator, rest) = match q.split_once(':') {
        Some((a, rest)) if AGGREGATORS.contains(&a.trim()) => (Some(a.trim().to_string()), rest),
        _ => (None, q),
    };
    let open = rest.find('{').ok_or("expected '{' after the metric name")?;
    let metric = rest[..open].trim();
    if metric.is_empty() || !metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(format!("invalid metric name {metric:?}"));
    }
    let close = rest[open..].find('}').ok_or("unclosed scope")? + open;
    let scope = parse_scope(&rest[open + 1..close])?;
    let mut tail = rest[close + 1..].trim_start();
    let mut by = Vec::new();
    if let Some(after) = tail.strip_prefix("by") {
        let after = after.trim_start().strip_prefix('{').ok_or("expected '{' after 'by'")?;
        let end = after.find('}').ok_or("unclosed 'by' group")?;
        by = after[..end].split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
        tail = after[end + 1..].trim_start();
    }
    let mut rollup = None;
    while let Some(call) = tail.strip_prefix('.') {
        let paren = call.find('(').ok_or("expected '(' after a function name")?;
        let end = call.find(')').ok_or("unclosed function call")?;
        let (name, args) = (&call[..paren], &call[paren + 1..end]);
        match name {
            "rollup" => rollup = parse_rollup(args)?.or(rollup),
            "as_count" | "as_rate" | "fill" => {}
            other => return Err(format!("unsupported function {other:?}")),
        }
        tail = call[end + 1..].trim_start();
    }
    if !tail.is_empty() {
        return Err(format!("unexpected {tail:?}"));
    }
    Ok(ParsedQuery { aggregator, metric: metric.to_string(), scope, by, rollup })
}

fn parse_scope(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim) {
        match item {
            "*" => {}
            "" => return Err("empty tag in scope".into()),
            tag => {
                let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    Ok(out)
}

fn parse_rollup(args: &str) -> Result<Option<u64>, String> {
    let mut seconds = None;
    for arg in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        match arg.parse::<u64>() {
            Ok(0) => return Err("rollup interval must be positive".into()),
            Ok(n) => seconds = Some(n),
            Err(_) if ["avg", "sum", "min", "max", "count"].contains(&arg) => {}
            Err(_) => return Err(format!("invalid rollup argument {arg:?}")),
        }
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let p = parse("avg:nginx.net.request_per_s{kube_service:web,env:prod} by {pod}.rollup(avg, 60)").unwrap();
        assert_eq!(p.aggregator.as_deref(), Some("avg"));
        assert_eq!(p.metric, "nginx.net.request_per_s");
        assert_eq!(p.scope_text(), "kube_service:web,env:prod");
        assert_eq!(p.by, vec!["pod"]);
        assert_eq!(p.rollup, Some(60));
        let p = parse("system.cpu.idle{*}.rollup(30).as_rate()").unwrap();
        assert_eq!((p.aggregator.clone(), p.scope_text(), p.rollup), (None, "*".to_string(), Some(30)));
    }

    #[test]
    fn rejects_what_it_cannot_evaluate() {
        for q in ["avg:m", "m{a:b", "a + b{*}", "m{*}.derivative()", "m{*} garbage", "m{*}.rollup(0)", "m{,}"] {
            assert!(parse(q).is_err(), "{q}");
        }
    }

    #[test]
    fn splits_at_top_level_commas_only() {
        assert_eq!(split_top_level("a{x:1,y:2},b{*}.rollup(avg, 30)"), vec!["a{x:1,y:2}", "b{*}.rollup(avg, 30)"]);
    }
}
