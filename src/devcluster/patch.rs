//! PATCH request bodies: JSON merge patch, JSON patch and strategic merge patch, with
//! kube-apiserver's semantics and error texts.
//!
//! `PatchError::status_code` says which HTTP status kube-apiserver answers with; for 422 the
//! apiserver's Status `message` is the generic "the server rejected our request due to an
//! error in our request" and the error text goes to `details.causes[0].message`
//! (see `PatchError::UNPROCESSABLE_MESSAGE`).

use serde_json::Value;

use super::gofmt;
mod order;
mod strategic;
mod strategy;

pub use strategy::list_strategy;

/// How a strategic merge patch combines a list field (the Go `patchStrategy` /
/// `patchMergeKey` struct tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// No `patchStrategy`: the patch list replaces the live list.
    Replace,
    /// `patchStrategy:"merge"` with `patchMergeKey`: elements are merged by that key.
    MergeByKey(&'static str),
    /// `patchStrategy:"merge"` on a list of scalars: union without duplicates.
    MergePrimitives,
}

/// Why a patch was rejected; `Display` is the apiserver's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed (HTTP 400 BadRequest, text is the Status message).
    #[error("{0}")]
    BadRequest(String),
    /// The patch cannot be applied to this object (HTTP 422 Invalid, text is the cause).
    #[error("{0}")]
    Unprocessable(String),
    /// An error apimachinery returns unclassified (HTTP 500, Status message
    /// "Internal error occurred: <text>"), e.g. a list element without its merge key.
    #[error("{0}")]
    Internal(String),
}

impl PatchError {
    /// The Status `message` kube-apiserver uses for 422 patch failures.
    pub const UNPROCESSABLE_MESSAGE: &'static str = "the server rejected our request due to an error in our request";

    /// The HTTP status code kube-apiserver answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable(_) => 422,
            PatchError::Internal(_) => 500,
        }
    }
}

/// RFC 7386 JSON merge patch (application/merge-patch+json): objects merge recursively,
/// `null` deletes a key, anything else (including a non-object patch) replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// RFC 6902 JSON patch (application/json-patch+json). Operations apply in order; on error
/// `target` is left unchanged. Error texts follow evanphx/json-patch as used by the apiserver.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Array(operations) = patch else {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            gofmt::json_type_name(patch)
        )));
    };
    let mut document = target.clone();
    for operation in operations {
        apply_json_patch_operation(&mut document, operation)?;
    }
    *target = document;
    Ok(())
}

fn apply_json_patch_operation(document: &mut Value, operation: &Value) -> Result<(), PatchError> {
    let Value::Object(fields) = operation else {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            gofmt::json_type_name(operation)
        )));
    };
    let kind = fields.get("op").and_then(Value::as_str).unwrap_or("unknown");
    if !matches!(kind, "add" | "remove" | "replace" | "move" | "copy" | "test") {
        return Err(PatchError::Unprocessable(format!("Unexpected kind: {kind}: unknown object type")));
    }
    let path = fields.get("path").and_then(Value::as_str);
    let Some(path) = path else {
        return Err(PatchError::Unprocessable(format!("{kind} operation failed to decode path: missing value")));
    };
    let from = fields.get("from").and_then(Value::as_str).unwrap_or_default();
    let failure = || json_patch_failure(kind, path, from);
    let parsed: json_patch::PatchOperation = serde_json::from_value(operation.clone()).map_err(|_| failure())?;
    json_patch::patch(document, std::slice::from_ref(&parsed)).map_err(|_| failure())
}

/// The evanphx/json-patch message for an operation that does not apply.
fn json_patch_failure(kind: &str, path: &str, from: &str) -> PatchError {
    let last_key = path.rsplit('/').next().unwrap_or_default();
    let message = match kind {
        "add" => {
            format!("add operation does not apply: doc is missing path: \"{path}\": missing value")
        }
        "remove" => {
            format!("error in remove for path: '{path}': unable to remove nonexistent key: {last_key}: missing value")
        }
        "replace" => {
            format!("replace operation does not apply: doc is missing key: {path}: missing value")
        }
        "move" => format!("move operation does not apply: doc is missing from path: {from}: missing value"),
        "copy" => format!("copy operation does not apply: doc is missing from path: {from}: missing value"),
        _ => format!("testing value {path} failed: test failed"),
    };
    PatchError::Unprocessable(message)
}

/// application/strategic-merge-patch+json for built-in kinds (apimachinery `strategicpatch`
/// with the apiserver's options: parallel deletion lists merged, unmatched nulls ignored).
/// Directive keys (`$patch`, `$retainKeys`, `$setElementOrder/…`,
/// `$deleteFromPrimitiveList/…`) never reach the result.
pub fn strategic_merge_patch(kind: &str, target: &Value, patch: &Value) -> Result<Value, PatchError> {
    strategic::apply(kind, target, patch)
}

#[cfg(test)]
mod tests;
