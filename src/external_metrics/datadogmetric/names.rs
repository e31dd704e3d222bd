//! External metric names ↔ DatadogMetric IDs (spec §7.3): `datadogmetric@<ns>:<name>` references,
//! and the autogen ID of a plain Datadog metric name, `dcaautogen-` + the first 19 bytes of the
//! SHA-256 of the query the DCA builds for it (so objects a DCA created are found and reused).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub const AUTOGEN_PREFIX: &str = "dcaautogen-";
pub const REFERENCE_PREFIX: &str = "datadogmetric@";

/// What a (lower-cased) external metric name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `datadogmetric@ns:name`.
    DatadogMetric { namespace: String, name: String },
    /// Starts with `datadogmetric@` but is not a valid reference.
    Malformed,
    /// A Datadog metric name: served by an autogen DatadogMetric.
    Plain,
}

impl Reference {
    pub fn parse(metric: &str) -> Self {
        let lower = metric.to_lowercase();
        if let Some((namespace, name)) = reference_parts(&lower) {
            return Reference::DatadogMetric { namespace: namespace.to_owned(), name: name.to_owned() };
        }
        if lower.starts_with(REFERENCE_PREFIX) { Reference::Malformed } else { Reference::Plain }
    }
}

/// Namespace and name of a lower-cased `datadogmetric@<ns>:<name>`, both DNS labels: what the
/// DCA's `^datadogmetric@([a-z0-9](?:[-a-z0-9]*[a-z0-9])?):([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)$`
/// captures (read on every metric request, so matched without a regex engine).
pub fn reference_parts(lower: &str) -> Option<(&str, &str)> {
    let rest = lower.strip_prefix(REFERENCE_PREFIX)?;
    let colon = memchr::memchr(b':', rest.as_bytes())?;
    let (namespace, name) = (&rest[..colon], &rest[colon + 1..]);
    (is_label(namespace) && is_label(name)).then_some((namespace, name))
}

/// `[a-z0-9](?:[-a-z0-9]*[a-z0-9])?`.
fn is_label(s: &str) -> bool {
    let alphanumeric = |b: u8| b.is_ascii_lowercase() | b.is_ascii_digit();
    let bytes = s.as_bytes();
    bytes.first().is_some_and(|b| alphanumeric(*b))
        && bytes.last().is_some_and(|b| alphanumeric(*b))
        // Without an early exit, so LLVM vectorises it.
        && bytes.iter().fold(true, |ok, b| ok & (alphanumeric(*b) | (*b == b'-')))
}

/// The autogen query: `<aggregator>:<metric>{<tags>}.rollup(<rollup>)`, tags `key:value` sorted
/// and joined with `,`, or `*` without labels.
pub fn autogen_query(aggregator: &str, rollup_seconds: u64, metric: &str, labels: &BTreeMap<String, String>) -> String {
    let tags = if labels.is_empty() {
        "*".to_owned()
    } else {
        let mut pairs: Vec<String> = labels.iter().map(|(key, value)| format!("{key}:{value}")).collect();
        pairs.sort();
        pairs.join(",")
    };
    format!("{aggregator}:{metric}{{{tags}}}.rollup({rollup_seconds})")
}

/// `dcaautogen-<38 hex digits>` for `query`.
pub fn autogen_name(query: &str) -> String {
    let digest = Sha256::digest(query.as_bytes());
    let hex: String = digest[..19].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{AUTOGEN_PREFIX}{hex}")
}

/// The reference string of an HPA, as listed in `status.autoscalerReferences`.
pub fn hpa_reference(namespace: &str, name: &str) -> String {
    format!("hpa:{namespace}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_lower_cased() {
        let parsed = Reference::parse("DatadogMetric@Prod:Web-RPS");
        assert_eq!(parsed, Reference::DatadogMetric { namespace: "prod".into(), name: "web-rps".into() });
        assert_eq!(Reference::parse("datadogmetric@prod:"), Reference::Malformed);
        assert_eq!(Reference::parse("datadogmetric@prod:web:x"), Reference::Malformed);
        assert_eq!(Reference::parse("datadogmetric@-prod:web"), Reference::Malformed);
        assert_eq!(Reference::parse("datadogmetric@prod/web"), Reference::Malformed);
        assert_eq!(Reference::parse("nginx.net.request_per_s"), Reference::Plain);
    }

    proptest::proptest! {
        /// The hand matcher and the DCA's regex accept the same names with the same captures.
        #[test]
        fn reference_parts_is_the_dca_regex(metric in "(datadogmetric@)?[-a-z0-9]{0,6}(:[-a-z0-9]{0,6})?[-a-z0-9:.@A-Z\u{e9}]{0,3}") {
            let regex = regex::Regex::new(
                "^datadogmetric@([a-z0-9](?:[-a-z0-9]*[a-z0-9])?):([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)$",
            )
            .expect("valid regex");
            let expected = regex.captures(&metric).map(|c| {
                let (_, [namespace, name]) = c.extract();
                (namespace, name)
            });
            proptest::prop_assert_eq!(reference_parts(&metric), expected);
        }
    }

    #[test]
    fn autogen_query_is_the_dca_string() {
        let none = BTreeMap::new();
        assert_eq!(
            autogen_query("avg", 30, "nginx.net.request_per_s", &none),
            "avg:nginx.net.request_per_s{*}.rollup(30)"
        );
        let labels = BTreeMap::from([("zone".to_owned(), "b".to_owned()), ("app".to_owned(), "web".to_owned())]);
        assert_eq!(autogen_query("max", 60, "m", &labels), "max:m{app:web,zone:b}.rollup(60)");
    }

    #[test]
    fn autogen_name_is_the_first_19_bytes_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-2).
        assert_eq!(autogen_name("abc"), "dcaautogen-ba7816bf8f01cfea414140de5dae2223b00361");
        assert_eq!(autogen_name("abc").len(), AUTOGEN_PREFIX.len() + 38);
    }
}
