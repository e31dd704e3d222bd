//! Strategic merge patch, following apimachinery's `strategicpatch.StrategicMergeMapPatch`
//! with the apiserver's options (`MergeParallelList`, `IgnoreUnmatchedNulls`).

use serde_json::{Map, Value};

use super::gofmt::{go_map, go_value, json_type_name};
use super::order::{merge_key_value, no_merge_key, normalize_element_order, partition_by_presence, values_equal};
use super::{ListStrategy, PatchError, list_strategy};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// The object kind plus the field path being merged, for patch-strategy lookups.
struct Field<'a> {
    kind: &'a str,
    path: Vec<String>,
}

impl Field<'_> {
    fn child(&self, name: &str) -> Field<'_> {
        let mut path = self.path.clone();
        path.push(name.to_owned());
        Field { kind: self.kind, path }
    }

    fn strategy(&self) -> ListStrategy {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        list_strategy(self.kind, &path)
    }

    fn merge_key(&self) -> &'static str {
        match self.strategy() {
            ListStrategy::MergeByKey(key) => key,
            _ => "",
        }
    }
}

pub(super) fn apply(kind: &str, target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_type_name(patch)
        )));
    };
    let original = target.as_object().cloned().unwrap_or_default();
    let root = Field { kind, path: Vec::new() };
    merge_map(&root, original, patch.clone()).map(Value::Object)
}

/// `mergeMap`: recursive merge of one map level.
fn merge_map(
    field: &Field<'_>,
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(without_directives(field, patch)?)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_orders(field, &mut original, &mut patch)?;
    for (key, patch_value) in patch {
        if let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            delete_from_primitive_list(&field.child(list), &mut original, list, patch_value)?;
            continue;
        }
        // Other directives were consumed above; unknown `$` keys are not fields.
        if key.starts_with('$') {
            continue;
        }
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let child = field.child(&key);
        let merged = match original.remove(&key) {
            Some(Value::Object(live)) if patch_value.is_object() => {
                Value::Object(merge_map(&child, live, into_map(patch_value))?)
            }
            Some(Value::Array(live)) if patch_value.is_array() => {
                Value::Array(merge_list_field(&child, live, into_list(patch_value), false)?)
            }
            _ => fresh_value(&child, patch_value)?,
        };
        original.insert(key, merged);
    }
    Ok(original)
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        _ => Vec::new(),
    }
}

/// A patch value with nothing to merge into: directives are resolved against emptiness and
/// nulls dropped (the apiserver drops them when decoding into the typed object).
fn fresh_value(field: &Field<'_>, value: Value) -> Result<Value, PatchError> {
    match value {
        Value::Object(map) => Ok(Value::Object(merge_map(field, Map::new(), map)?)),
        Value::Array(items) => Ok(Value::Array(fresh_list(field, items)?)),
        other => Ok(other),
    }
}

/// List elements carrying `$patch` are markers, not content (`removeDirectives`).
fn fresh_list(field: &Field<'_>, items: Vec<Value>) -> Result<Vec<Value>, PatchError> {
    items.into_iter().filter(|item| item.get(DIRECTIVE).is_none()).map(|item| fresh_value(field, item)).collect()
}

fn without_directives(field: &Field<'_>, map: Map<String, Value>) -> Result<Map<String, Value>, PatchError> {
    let mut result = Map::new();
    for (key, value) in map {
        if key.starts_with('$') || value.is_null() {
            continue;
        }
        let value = fresh_value(&field.child(&key), value)?;
        result.insert(key, value);
    }
    Ok(result)
}

/// `mergepatch.ErrBadPatchType`.
fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    PatchError::Internal(format!("unknown patch type: {} in map: {}", go_value(directive), go_map(map)))
}

/// `$retainKeys`: drop live keys not listed; every non-null patch key must be listed.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::BadRequest("invalid patch format of retainKeys".to_owned()));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    let unlisted = patch.iter().any(|(key, value)| {
        !value.is_null()
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !retained(key)
    });
    if unlisted {
        return Err(PatchError::Unprocessable("patch content doesn't match retainKeys list".to_owned()));
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// `$deleteFromPrimitiveList/<list>`: remove the given values from a live list.
fn delete_from_primitive_list(
    field: &Field<'_>,
    original: &mut Map<String, Value>,
    list: &str,
    to_delete: Value,
) -> Result<(), PatchError> {
    let Value::Array(to_delete) = to_delete else {
        return Ok(());
    };
    if let Some(Value::Array(live)) = original.remove(list) {
        let merged = merge_list_field(field, live, to_delete, true)?;
        original.insert(list.to_owned(), Value::Array(merged));
    }
    Ok(())
}

/// `mergeSliceHandler`: merge or replace a list according to its patch strategy.
fn merge_list_field(
    field: &Field<'_>,
    original: Vec<Value>,
    patch: Vec<Value>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if field.strategy() == ListStrategy::Replace && !is_delete_list {
        return fresh_list(field, patch);
    }
    merge_slice(field, original, patch, is_delete_list)
}

/// What the elements of the lists being merged are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementKind {
    Scalar,
    Map,
}

/// `sliceElementType`: all elements of both lists must share one JSON type.
fn element_kind(lists: &[&[Value]]) -> Result<ElementKind, PatchError> {
    let mut first: Option<&Value> = None;
    for item in lists.iter().flat_map(|list| list.iter()) {
        match first {
            None if item.is_array() => {
                return Err(PatchError::Unprocessable("lists of lists are not supported".to_owned()));
            }
            None => first = Some(item),
            Some(seen) if json_type_name(seen) != json_type_name(item) => {
                let shown: Vec<String> = lists.iter().map(|l| go_value(&Value::Array(l.to_vec()))).collect();
                return Err(PatchError::Internal(format!(
                    "list element types are not identical: [{}]",
                    shown.join(" ")
                )));
            }
            Some(_) => {}
        }
    }
    match first {
        None => Err(PatchError::Internal("no elements in any of the given slices".to_owned())),
        Some(Value::Object(_)) => Ok(ElementKind::Map),
        Some(_) => Ok(ElementKind::Scalar),
    }
}

/// `mergeSlice`.
fn merge_slice(
    field: &Field<'_>,
    original: Vec<Value>,
    patch: Vec<Value>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if element_kind(&[&original, &patch])? == ElementKind::Scalar {
        return Ok(merge_scalars(original, patch, is_delete_list));
    }
    let merge_key = field.merge_key();
    if merge_key.is_empty() {
        // Only scalar-list fields lack a merge key in the strategy table, and those are
        // []string in the Go types, hence the element kind printed.
        return Err(PatchError::Internal("cannot merge lists without merge key for string".to_owned()));
    }
    let (original, patch) = apply_special_elements(original, patch, merge_key)?;
    let merged = merge_by_key(field, original.clone(), &patch, merge_key)?;
    let (patch_items, server_only) = partition_by_presence(merged, &patch, merge_key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, merge_key)
}

/// Scalar lists: delete-list subtraction, or a deduplicated union ordered like apimachinery.
fn merge_scalars(original: Vec<Value>, patch: Vec<Value>, is_delete_list: bool) -> Vec<Value> {
    if is_delete_list {
        return original.into_iter().filter(|item| !patch.iter().any(|p| values_equal(p, item))).collect();
    }
    let mut merged: Vec<Value> = Vec::new();
    for item in original.iter().chain(&patch) {
        if !merged.iter().any(|seen| values_equal(seen, item)) {
            merged.push(item.clone());
        }
    }
    let split = partition_by_presence(merged, &patch, "");
    // Scalars never fail partitioning or ordering (no merge key involved).
    split
        .and_then(|(in_patch, server_only)| normalize_element_order(in_patch, server_only, &patch, &original, ""))
        .unwrap_or_default()
}

/// `mergeSliceWithSpecialElements`: apply `$patch: delete` / `$patch: replace` elements.
/// Returns the (possibly replaced) live list and the patch without marker elements.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        let map = item.as_object().cloned().unwrap_or_default();
        match directive.as_str() {
            Some("delete") => {
                let key_value = map.get(merge_key).ok_or_else(|| no_merge_key(&map, merge_key))?;
                original.retain(|live| !live.get(merge_key).is_some_and(|v| values_equal(v, key_value)));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(PatchError::Internal("merging lists cannot yet be specified in the patch".to_owned()));
            }
            _ => return Err(bad_patch_type(directive, &map)),
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// `mergeSliceWithoutSpecialElements`: merge patch elements into live ones with the same
/// key, append the others.
fn merge_by_key(
    field: &Field<'_>,
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let key_value = merge_key_value(item, merge_key)?;
        let live_index = find_by_key(&original, merge_key, key_value)?;
        let patch_map = item.as_object().cloned().unwrap_or_default();
        match live_index.and_then(|i| original.get_mut(i)) {
            Some(live) => {
                let live_map = into_map(std::mem::take(live));
                *live = Value::Object(merge_map(field, live_map, patch_map)?);
            }
            None => original.push(Value::Object(merge_map(field, Map::new(), patch_map)?)),
        }
    }
    Ok(original)
}

/// `findMapInSliceBasedOnKeyValue`: live elements must be maps.
fn find_by_key(list: &[Value], merge_key: &str, key_value: &Value) -> Result<Option<usize>, PatchError> {
    for (index, item) in list.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(PatchError::Internal(format!("value for key {index} is not a map.")));
        };
        if map.get(merge_key).is_some_and(|v| values_equal(v, key_value)) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

mod set_order;

use set_order::merge_set_element_orders;
