//! The Remote recommendation feed of `dev`: the example configs in `deploy/examples/feed/`
//! (`settings/*.json`: Remote DPA specs, `values/*.json`: Datadog's recommendations, in the layout
//! `autoscaling.workload.recommendations.source` reads) copied into a directory the server polls,
//! with `${NOW}` replaced by the start time so the recommendations are fresh. Editing the copies
//! while `dev` runs is how a user plays the Datadog backend.

use std::path::{Path, PathBuf};

use k8s_openapi::jiff::Timestamp;

/// The subdirectories of a feed directory, one per Remote Configuration product.
pub const PRODUCTS: [&str; 2] = ["settings", "values"];

/// Copies the `*.json` files of `examples/<product>/` into `dir/<product>/` (created, files of the
/// same name replaced) with `${NOW}` set to `now`; returns the files written.
pub fn write(examples: &Path, dir: &Path, now: Timestamp) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for product in PRODUCTS {
        let (from, to) = (examples.join(product), dir.join(product));
        std::fs::create_dir_all(&to)
            .map_err(|e| anyhow::anyhow!("cannot create the feed directory {}: {e}", to.display()))?;
        for file in json_files(&from)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read the feed example {}: {e}", file.display()))?;
            let text = text.replace("${NOW}", &now.to_string());
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| anyhow::anyhow!("the feed example {} is not JSON: {e}", file.display()))?;
            let target = to.join(file.file_name().unwrap_or_default());
            std::fs::write(&target, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
            written.push(target);
        }
    }
    Ok(written)
}

/// The `*.json` files directly in `dir`, by name; none when `dir` does not exist.
fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => anyhow::bail!("cannot read the feed examples in {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_examples_are_copied_with_the_time_filled_in() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/feed");
        let dir = tempfile::tempdir().unwrap();
        let now: Timestamp = "2030-01-02T03:04:05Z".parse().unwrap();
        let written = write(&examples, dir.path(), now).unwrap();
        let names: Vec<String> =
            written.iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(names, ["settings/checkout.json", "values/recommendations.json"]);
        let values: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
        let checkout = &values["config"]["values"][0];
        assert_eq!(checkout["name"], "checkout");
        assert_eq!(checkout["horizontal"]["auto"]["timestamp"], "2030-01-02T03:04:05Z");
        assert_eq!(checkout["horizontal"]["auto"]["replicas"], 3);
        let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
        assert_eq!(settings["config"]["settings"][0]["specs"]["v1alpha2"]["owner"], "Remote");
        assert!(!std::fs::read_to_string(&written[1]).unwrap().contains("${"));
    }

    #[test]
    fn a_bad_example_is_named_and_a_missing_product_is_empty() {
        let examples = tempfile::tempdir().unwrap();
        std::fs::create_dir(examples.path().join("values")).unwrap();
        std::fs::write(examples.path().join("values/bad.json"), "{not json").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = write(examples.path(), dir.path(), Timestamp::now()).unwrap_err().to_string();
        assert!(err.contains("bad.json") && err.contains("not JSON"), "{err}");
        assert!(dir.path().join("settings").is_dir(), "an empty product still gets its directory");
    }
}
