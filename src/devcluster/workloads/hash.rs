//! Template hashes: `pod-template-hash` of Deployments' ReplicaSets and the `controller-revision-hash`
//! of StatefulSets, as kube-controller-manager builds them: an FNV-32a hash (plus the collision
//! count as 8 little-endian bytes), its decimal digits mapped onto the safe alphabet.
//!
//! kube hashes a dump of its Go structs, which cannot be reproduced here: we hash the template's
//! canonical JSON (keys sorted) instead, so names have the same shape and stability (same template,
//! same hash) but not kube's exact values.

use serde_json::Value;

/// `k8s.io/apimachinery/pkg/util/rand`'s alphabet: no vowels, no confusable characters.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv32a(hash: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(FNV_PRIME))
}

/// `rand.SafeEncodeString`: each byte replaced by an alphabet character.
fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char).collect()
}

/// The hash of a pod template (collision count appended when set).
pub fn template_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut text = String::new();
    canonical(template, &mut text);
    let mut h = fnv32a(FNV_OFFSET, text.as_bytes());
    if let Some(c) = collision_count {
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h = fnv32a(h, &buf);
    }
    safe_encode(&h.to_string())
}

/// JSON with object keys sorted, so the hash does not depend on field order.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn safe_encoding_maps_digits_like_kube() {
        // Decimal digits only: '0' is byte 48, 48 % 27 = 21 → '4'; '9' is 57 → 3 → 'f' (hence hashes like 7d9f8b6c5d).
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn hashes_ignore_key_order_but_not_values_or_collisions() {
        let a = json!({"metadata": {"labels": {"app": "web", "tier": "x"}}, "spec": {"containers": [{"name": "a"}]}});
        let b = json!({"spec": {"containers": [{"name": "a"}]}, "metadata": {"labels": {"tier": "x", "app": "web"}}});
        let c = json!({"spec": {"containers": [{"name": "b"}]}, "metadata": {"labels": {"tier": "x", "app": "web"}}});
        assert_eq!(template_hash(&a, None), template_hash(&b, None));
        assert_ne!(template_hash(&a, None), template_hash(&c, None));
        assert_ne!(template_hash(&a, None), template_hash(&a, Some(1)));
        let h = template_hash(&a, None);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{h}");
    }
}
