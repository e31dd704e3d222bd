//! Label and field selectors with kube-apiserver's grammar, validation and error texts.
//!
//! The label grammar, lexer quirks and messages mirror apimachinery's `labels/selector.go`
//! (`labels.Parse`, `NewRequirement`) and `metav1.LabelSelectorAsSelector`; field selectors
//! mirror `fields.ParseSelector`. Error `Display` texts are what the apiserver puts in the
//! `message` of its 400 Status.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

mod parser;
mod validation;

use validation::{aggregate, go_quote, go_string_slice, invalid, validate_label_key, validate_label_value};

/// Why a label or field selector was rejected; `Display` is the apiserver's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A requirement failed to parse or validate (`labels.Parse` wraps these).
    #[error("unable to parse requirement: {0}")]
    Requirement(String),
    /// A token out of place between requirements.
    #[error("{0}")]
    Syntax(String),
    /// `NewRequirement` validation failure outside the string parser (`from_json`).
    #[error("{0}")]
    Invalid(String),
    /// A `matchExpressions[].operator` that is not In/NotIn/Exists/DoesNotExist.
    #[error("{} is not a valid label selector operator", go_quote(.0))]
    BadOperator(String),
    /// The JSON value does not have the shape of a metav1.LabelSelector.
    #[error("{0}")]
    Decode(String),
    /// A field selector term without `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm { selector: String, term: String },
    /// A backslash escape other than `\\`, `\,`, `\=` in a field selector value.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    FieldEscape(String),
    /// An unescaped `,` or `=` in a field selector value (Go prints the rune as a number).
    #[error("invalid field selector: unescaped character in value: {0}")]
    FieldUnescaped(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// `labels.NewRequirement`: validates key, value count and values (errors use the
    /// root field paths `key` / `values[i][key]`, as for metav1.LabelSelector conversion).
    fn new(key: String, operator: Operator, values: Vec<String>) -> Result<Self, String> {
        let mut errors = Vec::new();
        if let Some(detail) = validate_label_key(&key) {
            errors.push(invalid("key", &go_quote(&key), &detail));
        }
        let shown = go_string_slice(&values);
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                errors.push(invalid("values", &shown, "for 'in', 'notin' operators, values set can't be empty"))
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
                errors.push(invalid("values", &shown, "exact-match compatibility requires one single value"))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errors.push(invalid("values", &shown, "values set must be empty for exists and does not exist"))
            }
            Operator::GreaterThan | Operator::LessThan => errors.extend(integer_value_errors(&values, &shown)),
            _ => {}
        }
        for (index, value) in values.iter().enumerate() {
            if let Some(detail) = validate_label_value(value) {
                let path = format!("values[{index}][{key}]");
                errors.push(invalid(&path, &go_quote(value), &detail));
            }
        }
        match aggregate(&errors) {
            Some(message) => Err(message),
            None => Ok(Requirement { key, operator, values }),
        }
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let actual = labels.get(&self.key);
        let has_value = |v: &String| self.values.iter().any(|want| want == v);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => actual.is_some_and(has_value),
            Operator::NotIn | Operator::NotEquals => !actual.is_some_and(has_value),
            Operator::Exists => actual.is_some(),
            Operator::DoesNotExist => actual.is_none(),
            Operator::GreaterThan | Operator::LessThan => self.compares(actual),
        }
    }

    /// Gt/Lt: both sides must parse as i64, otherwise no match (as apimachinery).
    fn compares(&self, actual: Option<&String>) -> bool {
        let Some(actual) = actual.and_then(|v| v.parse::<i64>().ok()) else {
            return false;
        };
        let [wanted] = self.values.as_slice() else {
            return false;
        };
        let Ok(wanted) = wanted.parse::<i64>() else {
            return false;
        };
        match self.operator {
            Operator::GreaterThan => actual > wanted,
            _ => actual < wanted,
        }
    }
}

fn integer_value_errors(values: &[String], shown: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if values.len() != 1 {
        let detail = "for 'Gt', 'Lt' operators, exactly one value is required";
        errors.push(invalid("values", shown, detail));
    }
    for (index, value) in values.iter().enumerate() {
        if value.parse::<i64>().is_err() {
            let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
            errors.push(invalid(&format!("values[{index}]"), &go_quote(value), detail));
        }
    }
    errors
}

impl fmt::Display for Requirement {
    /// `Requirement.String()`: the canonical selector text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let joined = self.values.join(",");
        match self.operator {
            Operator::Exists | Operator::DoesNotExist => Ok(()),
            Operator::Equals => write!(f, "={joined}"),
            Operator::DoubleEquals => write!(f, "=={joined}"),
            Operator::NotEquals => write!(f, "!={joined}"),
            Operator::GreaterThan => write!(f, ">{joined}"),
            Operator::LessThan => write!(f, "<{joined}"),
            Operator::In => write!(f, " in ({joined})"),
            Operator::NotIn => write!(f, " notin ({joined})"),
        }
    }
}

/// A parsed label selector: an AND of requirements, sorted by key like apimachinery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse the `labelSelector` query-string grammar of kube-apiserver (`labels.Parse`):
    /// `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`,
    /// comma-separated AND, whitespace between tokens tolerated.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parser = parser::Parser::new(s);
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// From a metav1.LabelSelector JSON value (`metav1.LabelSelectorAsSelector`). `{}` (and,
    /// here, `null`) yield a selector matching everything: callers wanting "null selects
    /// nothing" must check for null themselves.
    pub fn from_json(sel: &Value) -> Result<Self, SelectorError> {
        let object = match sel {
            Value::Null => return Ok(Self::everything()),
            Value::Object(object) => object,
            other => return Err(decode_error(other, "", "v1.LabelSelector")),
        };
        let mut requirements = Vec::new();
        if let Some(match_labels) = object.get("matchLabels") {
            requirements.extend(match_labels_requirements(match_labels)?);
        }
        if let Some(expressions) = object.get("matchExpressions") {
            requirements.extend(match_expressions_requirements(expressions)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// True when the selector does not restrict anything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether every requirement holds for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The `key=value` / `key==value` requirements as a map (others are left out): what an
    /// external metric's labels are when the selector names a Datadog metric's tags.
    pub fn equality_labels(&self) -> BTreeMap<String, String> {
        let equality = |r: &&Requirement| matches!(r.operator, Operator::Equals | Operator::DoubleEquals);
        let pairs = self.requirements.iter().filter(equality);
        pairs.filter_map(|r| Some((r.key.clone(), r.values.first()?.clone()))).collect()
    }

    /// Same as `matches`, reading `metadata.labels` of an object (missing = no labels;
    /// non-string label values are ignored).
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|labels| labels.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        self.matches(&labels)
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, requirement) in self.requirements.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Go's encoding/json message for a JSON value of the wrong type.
fn decode_error(found: &Value, field: &str, go_type: &str) -> SelectorError {
    let found = super::gofmt::json_type_name(found);
    let target = if field.is_empty() { "Go value".to_owned() } else { format!("Go struct field {field}") };
    SelectorError::Decode(format!("json: cannot unmarshal {found} into {target} of type {go_type}"))
}

fn match_labels_requirements(value: &Value) -> Result<Vec<Requirement>, SelectorError> {
    let field = "LabelSelector.matchLabels";
    let labels = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(labels) => labels,
        other => return Err(decode_error(other, field, "map[string]string")),
    };
    let mut requirements = Vec::new();
    for (key, value) in labels {
        let Some(value) = value.as_str() else {
            return Err(decode_error(value, field, "string"));
        };
        let requirement =
            Requirement::new(key.clone(), Operator::Equals, vec![value.to_owned()]).map_err(SelectorError::Invalid)?;
        requirements.push(requirement);
    }
    Ok(requirements)
}

fn match_expressions_requirements(value: &Value) -> Result<Vec<Requirement>, SelectorError> {
    let go_type = "[]v1.LabelSelectorRequirement";
    let expressions = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(expressions) => expressions,
        other => {
            return Err(decode_error(other, "LabelSelector.matchExpressions", go_type));
        }
    };
    expressions.iter().map(expression_requirement).collect()
}

fn expression_requirement(expression: &Value) -> Result<Requirement, SelectorError> {
    let Some(object) = expression.as_object() else {
        let go_type = "v1.LabelSelectorRequirement";
        return Err(decode_error(expression, "LabelSelector.matchExpressions", go_type));
    };
    let string_field = |name: &str| -> Result<String, SelectorError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(decode_error(other, &format!("LabelSelectorRequirement.{name}"), "string")),
        }
    };
    let key = string_field("key")?;
    let operator_text = string_field("operator")?;
    let values = expression_values(object.get("values"))?;
    let operator = match operator_text.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        _ => return Err(SelectorError::BadOperator(operator_text)),
    };
    Requirement::new(key, operator, values).map_err(SelectorError::Invalid)
}

fn expression_values(values: Option<&Value>) -> Result<Vec<String>, SelectorError> {
    let field = "LabelSelectorRequirement.values";
    match values {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(decode_error(other, field, "string")),
            })
            .collect(),
        Some(other) => Err(decode_error(other, field, "[]string")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOperator {
    Equals,
    NotEquals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    field: String,
    operator: FieldOperator,
    value: String,
}

/// A parsed field selector: an AND of `field (=|!=) value` terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// `fields.ParseSelector`: `f=v`, `f==v`, `f!=v`, comma-separated; `\,`, `\=` and `\\`
    /// escape in values. Field names are not validated here (the caller rejects unsupported
    /// field labels, see `fields`).
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut terms = split_field_terms(s);
        // apimachinery sorts the raw terms, so the first error reported follows that order.
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let Some((field, operator, raw_value)) = split_field_term(term) else {
                return Err(SelectorError::FieldTerm { selector: s.to_owned(), term: term.to_owned() });
            };
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value: unescape_field_value(raw_value)?,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// True when the selector does not restrict anything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The field labels used, so the caller can reject unsupported ones.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// Whether every term holds; `get` returns a field's value, a missing field counts as "".
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = get(&r.field).unwrap_or_default();
            match r.operator {
                FieldOperator::Equals => actual == r.value,
                FieldOperator::NotEquals => actual != r.value,
            }
        })
    }
}

/// Split on commas that are not backslash-escaped (`splitTerms`).
fn split_field_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(selector.get(start..index).unwrap_or_default());
            start = index + 1;
        }
    }
    terms.push(selector.get(start..).unwrap_or_default());
    terms
}

/// The first `!=`, `==` or `=` splits a term (`splitTerm`); `==` is tried before `=`.
fn split_field_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] =
        [("!=", FieldOperator::NotEquals), ("==", FieldOperator::Equals), ("=", FieldOperator::Equals)];
    term.char_indices().find_map(|(index, _)| {
        let (lhs, remaining) = term.split_at_checked(index)?;
        OPERATORS.iter().find_map(|(text, operator)| remaining.strip_prefix(text).map(|value| (lhs, *operator, value)))
    })
}

/// `fields.UnescapeValue`.
fn unescape_field_value(raw: &str) -> Result<String, SelectorError> {
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::FieldEscape(format!("\\{c}")));
            }
            value.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => return Err(SelectorError::FieldUnescaped(u32::from(c))),
            other => value.push(other),
        }
    }
    if escaped {
        return Err(SelectorError::FieldEscape("\\".to_owned()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
