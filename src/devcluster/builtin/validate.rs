//! Field validation kube-apiserver runs on built-in objects beyond what decoding checks, for the
//! fields devcluster's users meet: Endpoints addresses (`ValidateEndpointIP`), which may not be
//! loopback, link-local or unspecified — why a local aggregated API server is registered through
//! an ExternalName Service `localhost` rather than Endpoints holding 127.0.0.1.

use std::net::IpAddr;

use serde_json::{Value, json};

/// `details.causes` entries (reason, message, field) for an invalid object; empty when valid.
pub fn validate(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    match (group, kind) {
        ("", "Endpoints") => endpoints(obj),
        _ => Vec::new(),
    }
}

fn endpoints(obj: &Value) -> Vec<Value> {
    let mut causes = Vec::new();
    let subsets = obj["subsets"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (i, subset) in subsets.iter().enumerate() {
        for list in ["addresses", "notReadyAddresses"] {
            let addresses = subset[list].as_array().map(Vec::as_slice).unwrap_or_default();
            for (j, address) in addresses.iter().enumerate() {
                let field = format!("subsets[{i}].{list}[{j}].ip");
                let ip = address["ip"].as_str().unwrap_or_default();
                causes.extend(endpoint_ip(ip).into_iter().map(|why| invalid(&field, ip, &why)));
            }
        }
    }
    causes
}

/// kube-apiserver's `ValidateEndpointIP` problems with one address.
fn endpoint_ip(text: &str) -> Vec<String> {
    let Ok(ip) = text.parse::<IpAddr>() else { return vec!["must be a valid IP address".into()] };
    let mut problems = Vec::new();
    if ip.is_unspecified() {
        problems.push(format!("may not be unspecified ({text})"));
    }
    if ip.is_loopback() {
        problems.push("may not be in the loopback range (127.0.0.0/8, ::1/128)".into());
    }
    let (link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => (v4.is_link_local(), v4.octets()[..3] == [224, 0, 0]),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0 == 0xfe80, v6.segments()[0] & 0xff0f == 0xff02),
    };
    if link_local {
        problems.push("may not be in the link-local range (169.254.0.0/16, fe80::/10)".into());
    }
    if link_local_multicast {
        problems.push("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)".into());
    }
    problems
}

/// `field.Invalid`: the message quotes the bad value as Go's `%q` would.
fn invalid(field: &str, value: &str, why: &str) -> Value {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    json!({"reason": "FieldValueInvalid", "message": format!("Invalid value: {quoted}: {why}"), "field": field})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(obj: Value) -> Vec<String> {
        validate("", "Endpoints", &obj)
            .iter()
            .map(|c| format!("{}: {}", c["field"].as_str().unwrap(), c["message"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn loopback_and_special_addresses_are_refused() {
        let obj = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "127.0.0.1"}],
            "notReadyAddresses": [{"ip": "::1"}, {"ip": "not-an-ip"}, {"ip": "169.254.1.1"}, {"ip": "0.0.0.0"}]}]});
        assert_eq!(
            messages(obj),
            [
                "subsets[0].addresses[1].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "subsets[0].notReadyAddresses[0].ip: Invalid value: \"::1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "subsets[0].notReadyAddresses[1].ip: Invalid value: \"not-an-ip\": must be a valid IP address",
                "subsets[0].notReadyAddresses[2].ip: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
                "subsets[0].notReadyAddresses[3].ip: Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)",
            ]
        );
    }

    #[test]
    fn ordinary_addresses_and_other_kinds_pass() {
        assert!(messages(json!({"subsets": [{"addresses": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}]}]})).is_empty());
        assert!(messages(json!({"subsets": "garbage"})).is_empty());
        assert!(validate("", "Service", &json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}]}]})).is_empty());
    }
}
