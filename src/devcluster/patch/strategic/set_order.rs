//! `$setElementOrder/<list>` (apimachinery `mergePatchIntoOriginal` with parallel lists):
//! merge the list, then order it as the directive says.

use serde_json::{Map, Value};

use super::super::PatchError;
use super::super::gofmt::go_value;
use super::super::order::{
    bad_arg_type, is_delete_marker, merge_key_value, normalize_element_order, partition_by_presence, values_equal,
};
use super::{DIRECTIVE, Field, SET_ELEMENT_ORDER, element_kind, fresh_list, merge_list_field};

/// Process every `$setElementOrder/` directive of this map level, removing the lists it
/// handled (and the directives) from `patch`.
pub(super) fn merge_set_element_orders(
    field: &Field<'_>,
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let directives: Vec<String> = patch.keys().filter(|key| key.starts_with(SET_ELEMENT_ORDER)).cloned().collect();
    for directive in directives {
        let order = patch.remove(&directive).unwrap_or_default();
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let list = directive.get(SET_ELEMENT_ORDER.len()..).unwrap_or_default();
        let child = field.child(list);
        let live = take_list(original, list)?;
        let patched = take_list(patch, list)?;
        if let Some(merged) = merge_and_order(&child, live, patched, &order)? {
            original.insert(list.to_owned(), Value::Array(merged));
        }
    }
    Ok(())
}

/// Remove and return `map[key]` as a list (None when absent).
fn take_list(map: &mut Map<String, Value>, key: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.remove(key) {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(bad_arg_type("[]interface {}", &other)),
    }
}

fn merge_and_order(
    field: &Field<'_>,
    live: Option<Vec<Value>>,
    patched: Option<Vec<Value>>,
    order: &[Value],
) -> Result<Option<Vec<Value>>, PatchError> {
    let merge_key = field.merge_key();
    let patch_list = patched.clone().unwrap_or_default();
    validate_order(&patch_list, order, merge_key)?;
    let live_list = live.clone().unwrap_or_default();
    let merged = match (live, patched) {
        (None, None) => return Ok(None),
        (Some(live), None) => live,
        (None, Some(patched)) => fresh_list(field, patched)?,
        (Some(live), Some(patched)) => merge_list_field(field, live, patched, false)?,
    };
    let (in_order, server_only) = partition_by_presence(merged, order, merge_key)?;
    element_kind(&[&live_list, &patch_list])?;
    normalize_element_order(in_order, server_only, order, &live_list, merge_key).map(Some)
}

/// `validatePatchWithSetOrderList`: the patch list must follow the directive's order.
fn validate_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> Result<(), PatchError> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let relevant: Vec<&Value> =
        patch_list.iter().filter(|item| merge_key.is_empty() || !is_delete_marker(item)).collect();
    let (mut patch_index, mut order_index) = (0, 0);
    while let (Some(item), Some(wanted)) = (relevant.get(patch_index), order.get(order_index)) {
        if item.get(DIRECTIVE).is_some() {
            patch_index += 1;
            continue;
        }
        if same_key(item, wanted, merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < relevant.len() {
        return Err(PatchError::Internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_value(&Value::Array(patch_list.to_vec())),
            go_value(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

/// `mergeKeyValueEqual`.
fn same_key(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(values_equal(left, right));
    }
    let left = merge_key_value(left, merge_key)?;
    let right = merge_key_value(right, merge_key)?;
    Ok(values_equal(left, right))
}
