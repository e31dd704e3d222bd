//! Query template variables (spec §7.2): `%%tag_kube_cluster_name%%` becomes the cluster name,
//! `%%env_NAME%%` the environment variable NAME; anything else is an error, reported on the
//! DatadogMetric as "Cannot resolve query: <why>". Variables are `%%…%%` (shortest match), the
//! part before the first `_` is the kind and the rest the key, whitespace ignored, as the DCA's
//! `tmplvar` parses them.

use std::sync::LazyLock;

use regex::Regex;

static VARIABLE: LazyLock<Regex> = LazyLock::new(|| Regex::new("%%.+?%%").expect("valid regex"));

/// Reads an environment variable (the process environment, or a fixed map in tests).
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What templates resolve against.
pub struct TemplateContext {
    pub cluster_name: Option<String>,
    pub env: EnvLookup,
}

impl TemplateContext {
    /// The process environment and the configured cluster name.
    pub fn from_process(cluster_name: Option<&str>) -> Self {
        TemplateContext {
            cluster_name: cluster_name.map(str::to_owned),
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// `query` with every variable replaced; the error text is the DCA's.
    pub fn resolve(&self, query: &str) -> Result<String, String> {
        let mut resolved = query.to_owned();
        for found in VARIABLE.find_iter(query) {
            let raw = found.as_str();
            let stripped: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '%').collect();
            let (kind, key) = stripped.split_once('_').unwrap_or((stripped.as_str(), ""));
            let value = match kind {
                "tag" => self.tag(key)?,
                "env" => (self.env)(key).ok_or_else(|| format!("failed to retrieve env var {key:?}"))?,
                other => return Err(format!("template variable {other:?} is unknown")),
            };
            resolved = resolved.replace(raw, &value);
        }
        Ok(resolved)
    }

    fn tag(&self, key: &str) -> Result<String, String> {
        if key != "kube_cluster_name" {
            return Err(format!("cannot resolve tag template {key:?}: tag is not supported"));
        }
        self.cluster_name.clone().ok_or_else(|| {
            format!("cannot resolve tag template {key:?}: no cluster name configured (set cluster_name)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> TemplateContext {
        TemplateContext {
            cluster_name: Some("prod-eu".into()),
            env: Box::new(|name| (name == "SERVICE").then(|| "web".to_owned())),
        }
    }

    #[test]
    fn variables_resolve() {
        let query = "avg:rps{kube_cluster_name:%%tag_kube_cluster_name%%,service:%%env_SERVICE%%}";
        assert_eq!(context().resolve(query), Ok("avg:rps{kube_cluster_name:prod-eu,service:web}".into()));
        assert_eq!(context().resolve("avg:rps{*}"), Ok("avg:rps{*}".into()));
    }

    #[test]
    fn unresolvable_variables_are_errors_with_the_dca_text() {
        assert_eq!(context().resolve("a{x:%%env_MISSING%%}"), Err("failed to retrieve env var \"MISSING\"".into()));
        assert_eq!(
            context().resolve("a{x:%%tag_host%%}"),
            Err("cannot resolve tag template \"host\": tag is not supported".into())
        );
        assert_eq!(context().resolve("a{x:%%host%%}"), Err("template variable \"host\" is unknown".into()));
        let nameless = TemplateContext { cluster_name: None, env: Box::new(|_| None) };
        assert!(nameless.resolve("%%tag_kube_cluster_name%%").unwrap_err().contains("set cluster_name"));
    }
}
