//! The stable hash used for recommendation IDs and template hashes: sha256 of the value's JSON
//! (struct fields in declaration order, maps sorted — `BTreeMap`s), first 8 bytes as 16 hex digits.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hash of `value`'s JSON; equal values (as serialized) give equal hashes on every replica.
pub fn stable_hash<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_equal_hashes() {
        let a = std::collections::BTreeMap::from([("memory", "1Gi"), ("cpu", "1")]);
        let b = std::collections::BTreeMap::from([("cpu", "1"), ("memory", "1Gi")]);
        assert_eq!(stable_hash(&a), stable_hash(&b));
        assert_eq!(stable_hash(&a).len(), 16);
        assert_ne!(stable_hash(&a), stable_hash(&std::collections::BTreeMap::from([("cpu", "2")])));
    }
}
