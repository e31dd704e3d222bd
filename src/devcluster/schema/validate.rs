//! Keyword validation through the `jsonschema` crate, with each error rewritten into the
//! cause kube-apiserver reports (apiextensions-apiserver's `kubeOpenAPIErrorToFieldError` over
//! kube-openapi's `validate/errors` messages).
//!
//! `jsonschema` does the keyword checks on the translated document; its structured error kinds
//! (limit, pattern, expected type, property name…) carry what is needed to rebuild the exact
//! Go texts, which is why no hand-written keyword validator exists here.

use jsonschema::error::{TypeKind, ValidationError, ValidationErrorKind};
use serde_json::Value;

use super::formats::{self, KUBE_FORMATS, UNCHECKED_FORMATS};
use super::gofmt;
use super::node;
use super::{Cause, SchemaError};

pub const REASON_TYPE: &str = "FieldValueTypeInvalid";
pub const REASON_REQUIRED: &str = "FieldValueRequired";
pub const REASON_NOT_SUPPORTED: &str = "FieldValueNotSupported";
pub const REASON_INVALID: &str = "FieldValueInvalid";
pub const REASON_TOO_LONG: &str = "FieldValueTooLong";
pub const REASON_TOO_MANY: &str = "FieldValueTooMany";
pub const REASON_DUPLICATE: &str = "FieldValueDuplicate";

/// Field of causes kube-apiserver cannot attach to a path (`anyOf`/`oneOf`/`not` failures are
/// plain errors reported against the nil root `field.Path`).
const NIL_FIELD: &str = "<nil>";

pub fn compile(translated: &Value) -> Result<jsonschema::Validator, SchemaError> {
    // Draft 4 is the JSON Schema dialect OpenAPI v3.0 builds on (boolean exclusiveMinimum…);
    // the `regex` engine gives RE2-like semantics, as Go's `regexp` used by kube-apiserver.
    let mut options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex());
    for (name, check) in KUBE_FORMATS {
        options = options.with_format(*name, *check);
    }
    for name in UNCHECKED_FORMATS {
        options = options.with_format(*name, formats::always);
    }
    options.build(translated).map_err(|e| SchemaError::Invalid(e.to_string()))
}

pub fn keyword_causes(validator: &jsonschema::Validator, translated: &Value, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut all_of = AllOfFailures::default();
    for error in validator.iter_errors(obj) {
        all_of.note(&error, obj);
        push_causes(&error, translated, obj, &mut causes);
    }
    causes.extend(all_of.into_causes(translated));
    causes
}

/// `jsonschema` reports the failures inside an `allOf` without a summary; kube-openapi adds
/// `"<path>" must validate all the schemas (allOf)` after them. Tracks failing branches per
/// `allOf` (innermost one of each error) to add that summary.
#[derive(Default)]
struct AllOfFailures {
    /// (schema pointer of the allOf owner, field path of its instance, failing branch indices)
    groups: Vec<(String, String, Vec<usize>)>,
}

impl AllOfFailures {
    fn note(&mut self, error: &ValidationError<'_>, root: &Value) {
        let schema_path = error.schema_path().as_str();
        let Some(at) = schema_path.rfind("/allOf/") else {
            return;
        };
        let owner = &schema_path[..at];
        let mut rest = schema_path[at + "/allOf/".len()..].split('/');
        let Some(branch) = rest.next().and_then(|b| b.parse::<usize>().ok()) else {
            return;
        };
        let consumed = instance_segments_consumed(rest);
        let pointer = error.instance_path().as_str();
        let mut segments: Vec<&str> = pointer.split('/').skip(1).collect();
        segments.truncate(segments.len().saturating_sub(consumed));
        let owner_pointer: String = segments.iter().map(|s| format!("/{s}")).collect();
        let field = field_path(root, &owner_pointer);
        match self.groups.iter_mut().find(|(o, f, _)| o == owner && *f == field) {
            Some((_, _, branches)) if !branches.contains(&branch) => branches.push(branch),
            Some(_) => {}
            None => self.groups.push((owner.to_string(), field, vec![branch])),
        }
    }

    fn into_causes(self, translated: &Value) -> Vec<Cause> {
        self.groups
            .into_iter()
            .map(|(owner, field, failing)| {
                let total = translated.pointer(&format!("{owner}/allOf")).and_then(Value::as_array).map_or(0, Vec::len);
                let none = if failing.len() >= total { ". None validated" } else { "" };
                composite(&field, &format!("must validate all the schemas (allOf){none}"))
            })
            .collect()
    }
}

/// How many instance-path segments a schema-path tail descends (`properties/x`, `items`, …).
fn instance_segments_consumed<'a>(mut tail: impl Iterator<Item = &'a str>) -> usize {
    let mut consumed = 0;
    while let Some(token) = tail.next() {
        match token {
            "properties" | "patternProperties" => {
                tail.next();
                consumed += 1;
            }
            "items" | "additionalProperties" => consumed += 1,
            _ => {}
        }
    }
    consumed
}

fn push_causes(error: &ValidationError<'_>, translated: &Value, root: &Value, out: &mut Vec<Cause>) {
    let field = field_path(root, error.instance_path().as_str());
    let value = error.instance().as_ref();
    match error.kind() {
        ValidationErrorKind::AnyOf { context } => {
            out.push(composite(&field, "must validate at least one schema (anyOf)"));
            push_best_alternative(context, translated, root, out);
        }
        ValidationErrorKind::OneOfNotValid { context } => {
            let msg = "must validate one and only one schema (oneOf). Found none valid";
            out.push(composite(&field, msg));
            push_best_alternative(context, translated, root, out);
        }
        ValidationErrorKind::OneOfMultipleValid { context } => {
            let valid = context.iter().filter(|errors| errors.is_empty()).count().max(2);
            let msg = format!("must validate one and only one schema (oneOf). Found {valid} valid alternatives");
            out.push(composite(&field, &msg));
        }
        ValidationErrorKind::Not { .. } => out.push(composite(&field, "must not validate the schema (not)")),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            out.push(Cause::new(REASON_REQUIRED, "Required value", node::child_path(&field, &name)));
        }
        ValidationErrorKind::Type { kind } => {
            if let Some(cause) = type_cause(&field, value, error, kind, translated) {
                out.push(cause);
            }
        }
        kind => out.push(keyword_cause(&field, value, kind)),
    }
}

/// go-openapi merges the failures of the closest alternative after an anyOf/oneOf failure.
fn push_best_alternative(
    context: &[Vec<ValidationError<'static>>],
    translated: &Value,
    root: &Value,
    out: &mut Vec<Cause>,
) {
    let best = context.iter().filter(|errors| !errors.is_empty()).min_by_key(|errors| errors.len());
    for error in best.into_iter().flatten() {
        push_causes(error, translated, root, out);
    }
}

fn composite(field: &str, what: &str) -> Cause {
    let message = format!("Invalid value: \"\": {} {what}", gofmt::quote(field));
    Cause::new(REASON_INVALID, message, NIL_FIELD)
}

fn type_cause(
    field: &str,
    value: &Value,
    error: &ValidationError<'_>,
    kind: &TypeKind,
    translated: &Value,
) -> Option<Cause> {
    let expected = expected_types(error, kind, translated);
    // kube-openapi accepts a float64 without fraction where an integer is expected.
    let integral_float = value.as_f64().is_some_and(|f| f.fract() == 0.0);
    if integral_float && expected.iter().any(|t| t == "integer") {
        return None;
    }
    let actual = go_type_name(value);
    let message = format!(
        "Invalid value: {q}: {field} in body must be of type {}: {q}",
        expected.join(","),
        q = gofmt::quote(actual)
    );
    Some(Cause::new(REASON_TYPE, message, field))
}

/// The `type` of the failing schema as written (without the `null` that `nullable` adds).
fn expected_types(error: &ValidationError<'_>, kind: &TypeKind, translated: &Value) -> Vec<String> {
    let schema_path = error.schema_path().as_str();
    let parent = schema_path.strip_suffix("/type").unwrap_or(schema_path);
    let from_schema = match translated.pointer(parent).and_then(|s| s.get("type")) {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => match kind {
            TypeKind::Single(t) => vec![t.to_string()],
            TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
        },
    };
    from_schema.into_iter().filter(|t| t != "null").collect()
}

/// The JSON type name kube-openapi infers for a decoded value.
fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn keyword_cause(field: &str, value: &Value, kind: &ValidationErrorKind) -> Cause {
    let bad = gofmt::bad_value(value);
    let invalid =
        |detail: String| Cause::new(REASON_INVALID, format!("Invalid value: {bad}: {field} in body {detail}"), field);
    let too_many = |max: u64| {
        Cause::new(REASON_TOO_MANY, format!("Too many: {}: must have at most {max} items", size_of(value)), field)
    };
    match kind {
        ValidationErrorKind::Enum { options } => not_supported(field, &bad, options),
        ValidationErrorKind::Minimum { limit } => {
            invalid(format!("should be greater than or equal to {}", limit_text(limit, value)))
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            invalid(format!("should be greater than {}", limit_text(limit, value)))
        }
        ValidationErrorKind::Maximum { limit } => {
            invalid(format!("should be less than or equal to {}", limit_text(limit, value)))
        }
        // kube-openapi's ExceedsMaximumInt prints the inclusive text even when exclusive.
        ValidationErrorKind::ExclusiveMaximum { limit } if is_integer(value) => {
            invalid(format!("should be less than or equal to {}", limit_text(limit, value)))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            invalid(format!("should be less than {}", limit_text(limit, value)))
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            invalid(format!("should be a multiple of {}", factor_text(*multiple_of, value)))
        }
        ValidationErrorKind::MinLength { limit } => invalid(format!("should be at least {limit} chars long")),
        ValidationErrorKind::MaxLength { limit } => {
            Cause::new(REASON_TOO_LONG, format!("Too long: may not be longer than {limit}"), field)
        }
        ValidationErrorKind::Pattern { pattern } => invalid(format!("should match '{pattern}'")),
        ValidationErrorKind::MinItems { limit } => {
            let message =
                format!("Invalid value: {}: {field} in body should have at least {limit} items", size_of(value));
            Cause::new(REASON_INVALID, message, field)
        }
        ValidationErrorKind::MaxItems { limit } | ValidationErrorKind::MaxProperties { limit } => too_many(*limit),
        ValidationErrorKind::MinProperties { limit } => {
            let message =
                format!("Invalid value: {}: {field} in body should have at least {limit} properties", size_of(value));
            Cause::new(REASON_INVALID, message, field)
        }
        ValidationErrorKind::Format { format } => Cause::new(
            REASON_TYPE,
            format!("Invalid value: {bad}: {field} in body must be of type {format}: {bad}"),
            field,
        ),
        ValidationErrorKind::UniqueItems => Cause::new(
            REASON_INVALID,
            format!("Invalid value: \"\": {field} in body shouldn't contain duplicates"),
            field,
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let message =
                format!("Invalid value: \"\": {field}.{} in body is a forbidden property", unexpected.join(","));
            Cause::new(REASON_INVALID, message, field)
        }
        other => Cause::new(REASON_INVALID, format!("Invalid value: {bad}: {other:?}"), field),
    }
}

fn not_supported(field: &str, bad: &str, options: &Value) -> Cause {
    let supported: Vec<String> = options
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| !o.is_null())
        .map(|o| gofmt::quote(&o.as_str().map_or_else(|| o.to_string(), str::to_string)))
        .collect();
    let mut message = format!("Unsupported value: {bad}");
    if !supported.is_empty() {
        message.push_str(&format!(": supported values: {}", supported.join(", ")));
    }
    Cause::new(REASON_NOT_SUPPORTED, message, field)
}

fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

fn size_of(value: &Value) -> usize {
    match value {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    }
}

/// A numeric bound as kube-openapi prints it: truncated to int64 against integer data,
/// Go `%v` of the float64 otherwise.
fn limit_text(limit: &Value, value: &Value) -> String {
    let f = limit.as_f64().unwrap_or(0.0);
    factor_text(f, value)
}

fn factor_text(f: f64, value: &Value) -> String {
    if is_integer(value) { (f.trunc() as i64).to_string() } else { gofmt::float(f) }
}

/// JSON-pointer instance path → kube field path (`spec.objectives[0].type`); a segment is an
/// index only where the instance holds an array, so numeric map keys stay properties.
fn field_path(root: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut current = Some(root);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match current {
            Some(Value::Array(list)) => {
                let index = segment.parse::<usize>().unwrap_or(0);
                path = node::index_path(&path, index);
                current = list.get(index);
            }
            Some(Value::Object(map)) => {
                path = node::child_path(&path, &segment);
                current = map.get(&segment);
            }
            _ => {
                path = node::child_path(&path, &segment);
                current = None;
            }
        }
    }
    path
}
