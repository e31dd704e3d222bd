//! `/healthz`, `/livez`, `/readyz` in kube-apiserver's format: each named check, `?verbose`
//! lists them (`[+]name ok` / `[-]name failed: reason withheld`), `/readyz/<name>` runs one.
//! Checks read in-memory flags only; probes never call upstreams (DESIGN.md §6).

use std::sync::Arc;

pub type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone, Default)]
pub struct HealthChecks {
    ready: Vec<(String, Check)>,
}

pub struct HealthReport {
    pub ok: bool,
    pub body: String,
}

impl HealthChecks {
    pub fn with_ready_check(mut self, name: &str, check: Check) -> Self {
        self.ready.push((name.to_string(), check));
        self
    }

    /// `kind` is "livez", "healthz" or "readyz"; liveness only has `ping`.
    pub fn run(&self, kind: &str, only: Option<&str>, verbose: bool) -> Option<HealthReport> {
        let ping: Check = Arc::new(|| Ok(()));
        let mut checks: Vec<(String, Check)> = vec![("ping".into(), ping)];
        if kind == "readyz" {
            checks.extend(self.ready.iter().cloned());
        }
        if let Some(name) = only {
            checks.retain(|(n, _)| n == name);
            if checks.is_empty() {
                return None;
            }
        }
        let results: Vec<(String, Result<(), String>)> = checks.iter().map(|(n, c)| (n.clone(), c())).collect();
        let ok = results.iter().all(|(_, r)| r.is_ok());
        Some(HealthReport { ok, body: render(kind, &results, ok, verbose) })
    }
}

fn render(kind: &str, results: &[(String, Result<(), String>)], ok: bool, verbose: bool) -> String {
    if ok && !verbose {
        return "ok".into();
    }
    let mut out = String::new();
    for (name, r) in results {
        match r {
            Ok(()) => out.push_str(&format!("[+]{name} ok\n")),
            Err(_) => out.push_str(&format!("[-]{name} failed: reason withheld\n")),
        }
    }
    out.push_str(&format!("{kind} check {}\n", if ok { "passed" } else { "failed" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_lists_checks_and_fails_when_one_fails() {
        let checks = HealthChecks::default().with_ready_check("auth-config-synced", Arc::new(|| Err("not yet".into())));
        let r = checks.run("readyz", None, true).unwrap();
        assert!(!r.ok);
        assert_eq!(r.body, "[+]ping ok\n[-]auth-config-synced failed: reason withheld\nreadyz check failed\n");
        let live = checks.run("livez", None, false).unwrap();
        assert!(live.ok);
        assert_eq!(live.body, "ok");
        assert!(checks.run("readyz", Some("nope"), false).is_none());
    }
}
