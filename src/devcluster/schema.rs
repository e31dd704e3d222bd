//! CustomResource structural-schema handling, mirroring kube-apiserver's
//! apiextensions-apiserver: pruning of unknown fields, defaulting, and OpenAPI v3
//! validation with the `details.causes` kube-apiserver reports in a 422 `Invalid` Status.
//!
//! kube-apiserver order on write: [`StructuralSchema::prune`] → [`StructuralSchema::apply_defaults`]
//! → [`StructuralSchema::validate`].
//!
//! `x-kubernetes-validations` (CEL rules) are not evaluated: they are ignored on purpose, as
//! devcluster carries no CEL interpreter.

mod default;
mod formats;
use super::gofmt;
mod listtype;
mod node;

pub use node::OBJECT_META_FIELDS;
mod prune;
mod translate;
mod validate;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// Why a CRD schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `openAPIV3Schema` was not a JSON object.
    #[error("openAPIV3Schema must be an object")]
    NotAnObject,
    /// The translated JSON Schema was rejected by the `jsonschema` compiler.
    #[error("invalid openAPIV3Schema: {0}")]
    Invalid(String),
}

/// One entry of a Status' `details.causes`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Self {
        Cause { reason: reason.to_string(), message: message.into(), field: field.into() }
    }
}

/// One CRD version's `schema.openAPIV3Schema` compiled once.
pub struct StructuralSchema {
    /// The schema as written in the CRD (drives pruning, defaulting and list-type checks).
    raw: Value,
    /// The same schema translated to a JSON Schema document (drives keyword validation).
    translated: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for StructuralSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructuralSchema").field("raw", &self.raw).finish_non_exhaustive()
    }
}

impl StructuralSchema {
    /// Compile one version's `openAPIV3Schema`.
    pub fn new(openapi_v3_schema: &Value) -> Result<Self, SchemaError> {
        if !openapi_v3_schema.is_object() {
            return Err(SchemaError::NotAnObject);
        }
        let translated = translate::to_json_schema(openapi_v3_schema);
        let validator = validate::compile(&translated)?;
        Ok(StructuralSchema { raw: openapi_v3_schema.clone(), translated, validator })
    }

    /// Drop fields not in the schema (honouring `x-kubernetes-preserve-unknown-fields`,
    /// `additionalProperties` and `x-kubernetes-embedded-resource`). At the root `apiVersion`,
    /// `kind` and `metadata` are always kept; `metadata` is pruned to ObjectMeta's fields
    /// unless the schema describes its properties.
    ///
    /// Returns the pruned paths with a leading dot, e.g. `.spec.foo` or `.spec.list[0].foo`;
    /// fieldValidation=Strict/Warn report them as `unknown field "spec.foo"`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        prune::prune_root(obj, &self.raw)
    }

    /// Apply `default`s as the apiserver does: defaults for absent (or non-nullable null)
    /// properties of objects that exist, never creating absent parents; non-nullable nulls
    /// without a default are dropped.
    pub fn apply_defaults(&self, obj: &mut Value) {
        default::apply(obj, &self.raw);
    }

    /// Validate; an empty Vec means valid.
    pub fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = validate::keyword_causes(&self.validator, &self.translated, obj);
        causes.extend(listtype::structural_causes(obj, &self.raw));
        causes
    }
}

/// The Status message kube-apiserver builds from causes:
/// `<Kind>.<group> "<name>" is invalid: [cause1, cause2]` (a single cause has no brackets),
/// each cause rendered `<field>: <message>` and duplicates dropped (as `ErrorList.ToAggregate`).
pub fn invalid_message(kind: &str, group: &str, name: &str, causes: &[Cause]) -> String {
    let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    let head = format!("{qualified} {} is invalid", gofmt::quote(name));
    let mut rendered: Vec<String> = Vec::new();
    for cause in causes {
        let line = format!("{}: {}", cause.field, cause.message);
        if !rendered.contains(&line) {
            rendered.push(line);
        }
    }
    match rendered.as_slice() {
        [] => head,
        [one] => format!("{head}: {one}"),
        many => format!("{head}: [{}]", many.join(", ")),
    }
}
