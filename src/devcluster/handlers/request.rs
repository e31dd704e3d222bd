//! Request attributes as kube-apiserver's RequestInfoFactory derives them from method, path and query.

use axum::http::Method;

#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub resource_request: bool,
    pub path: String,
    pub verb: String,
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// Namespace subresources that keep `namespaces` as the resource.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

pub fn parse(method: &Method, path: &str, query: &Query) -> RequestInfo {
    let mut info = RequestInfo { path: path.to_string(), verb: method.as_str().to_lowercase(), ..Default::default() };
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let rest = match parts.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => {
            info.version = version.to_string();
            rest
        }
        ["apis", group, version, rest @ ..] if !rest.is_empty() => {
            info.group = group.to_string();
            info.version = version.to_string();
            rest
        }
        _ => return info,
    };
    info.resource_request = true;
    let mut rest = rest;
    let mut legacy_watch = false;
    if rest.first() == Some(&"watch") {
        legacy_watch = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        info.namespace = rest[1].to_string();
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    info.resource = rest.first().map(|s| s.to_string()).unwrap_or_default();
    info.name = rest.get(1).map(|s| s.to_string()).unwrap_or_default();
    info.subresource = rest.get(2).map(|s| s.to_string()).unwrap_or_default();
    info.verb = resolve_verb(method, !info.name.is_empty(), legacy_watch || query.flag("watch"));
    if matches!(info.verb.as_str(), "list" | "watch")
        && let Some(name) = query.get("fieldSelector").and_then(name_from_field_selector)
    {
        info.name = name;
    }
    info
}

fn resolve_verb(method: &Method, named: bool, watch: bool) -> String {
    let verb = match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => return method.as_str().to_lowercase(),
    };
    verb.to_string()
}

fn name_from_field_selector(s: &str) -> Option<String> {
    s.split(',').find_map(|req| {
        let (k, v) = req.split_once("==").or_else(|| req.split_once('='))?;
        (k.trim() == "metadata.name" && !k.ends_with('!')).then(|| v.trim().to_string())
    })
}

/// Decoded query parameters (the last value of a repeated key wins, except `dryRun`).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Query { pairs }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, path: &str, q: &str) -> RequestInfo {
        parse(&method, path, &Query::parse(Some(q)))
    }

    #[test]
    fn resolves_like_kube_apiserver() {
        let i = info(Method::GET, "/api/v1/namespaces/default/pods", "");
        assert_eq!((i.verb.as_str(), i.namespace.as_str(), i.resource.as_str()), ("list", "default", "pods"));
        let i = info(Method::GET, "/apis/apps/v1/namespaces/ns/deployments/web/scale", "");
        assert_eq!((i.verb.as_str(), i.name.as_str(), i.subresource.as_str()), ("get", "web", "scale"));
        let i = info(Method::GET, "/api/v1/namespaces/foo", "");
        assert_eq!((i.resource.as_str(), i.name.as_str(), i.namespace.as_str()), ("namespaces", "foo", "foo"));
        let i = info(Method::PUT, "/api/v1/namespaces/foo/finalize", "");
        assert_eq!((i.resource.as_str(), i.subresource.as_str()), ("namespaces", "finalize"));
        let i = info(Method::GET, "/api/v1/pods", "watch=true&fieldSelector=metadata.name%3Dp");
        assert_eq!((i.verb.as_str(), i.name.as_str()), ("watch", "p"));
        let i = info(Method::DELETE, "/api/v1/namespaces/a/configmaps", "");
        assert_eq!(i.verb, "deletecollection");
        assert!(!info(Method::GET, "/apis/apps/v1", "").resource_request);
        assert!(!info(Method::GET, "/healthz", "").resource_request);
    }
}
