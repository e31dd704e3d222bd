//! Element identity and ordering of merged lists, as apimachinery's strategicpatch
//! `partition*ByPresentInList`, `normalizeElementOrder` and `mergeSortedSlice`.

use serde_json::Value;

use super::PatchError;
use super::gofmt::{go_map, go_type_name};

/// `mergepatch.ErrNoMergeKey`.
pub(super) fn no_merge_key(element: &serde_json::Map<String, Value>, merge_key: &str) -> PatchError {
    PatchError::Internal(format!("map: {} does not contain declared merge key: {merge_key}", go_map(element)))
}

/// `mergepatch.ErrBadArgType`.
pub(super) fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::Internal(format!("expected a {expected}, but received a {}", go_type_name(actual)))
}

/// JSON equality with Go's decoding: all numbers are float64.
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The merge key value of a map element, or an error if it is not a map with that key.
pub(super) fn merge_key_value<'a>(element: &'a Value, merge_key: &str) -> Result<&'a Value, PatchError> {
    let Value::Object(map) = element else {
        return Err(bad_arg_type("map[string]interface {}", element));
    };
    map.get(merge_key).ok_or_else(|| no_merge_key(map, merge_key))
}

/// Whether two elements are "the same" list entry: equal scalars, or maps with equal merge keys.
fn same_entry(a: &Value, b: &Value, merge_key: &str) -> bool {
    if merge_key.is_empty() {
        return values_equal(a, b);
    }
    match (a.get(merge_key), b.get(merge_key)) {
        (Some(x), Some(y)) => values_equal(x, y),
        _ => false,
    }
}

/// Position of `item` in `list` (`index` in apimachinery).
fn position(list: &[Value], item: &Value, merge_key: &str) -> Option<usize> {
    list.iter().position(|candidate| same_entry(candidate, item, merge_key))
}

/// Split `merged` into (items present in `partition_by`, server-only items).
pub(super) fn partition_by_presence(
    merged: Vec<Value>,
    partition_by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for item in merged {
        if !merge_key.is_empty() {
            merge_key_value(&item, merge_key)?;
        }
        if position(partition_by, &item, merge_key).is_some() {
            in_patch.push(item);
        } else {
            server_only.push(item);
        }
    }
    Ok((in_patch, server_only))
}

/// Sort `to_sort` by `order`; for map lists `$patch: delete` entries go last.
fn normalize_slice_order(to_sort: Vec<Value>, order: &[Value], merge_key: &str) -> Result<Vec<Value>, PatchError> {
    let (mut kept, deleted) = if merge_key.is_empty() {
        (to_sort, Vec::new())
    } else {
        for item in to_sort.iter().chain(order) {
            merge_key_value(item, merge_key)?;
        }
        to_sort.into_iter().partition(|item| !is_delete_marker(item))
    };
    // Items absent from `order` sort first, as apimachinery's comparator tends to.
    kept.sort_by_key(|item| position(order, item, merge_key));
    kept.extend(deleted);
    Ok(kept)
}

pub(super) fn is_delete_marker(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

/// `normalizeElementOrder`: patch items in patch order, server-only items in server order,
/// interleaved by `merge_sorted`.
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key)?;
    Ok(merge_sorted(server_only, patch_items, server_order, merge_key))
}

/// `mergeSortedSlice`: a server-only item goes before a patch item only when both are in the
/// live list and it came first there; otherwise the patch item goes first. This is why new
/// elements from a patch land *before* the live elements that follow them.
fn merge_sorted(left: Vec<Value>, right: Vec<Value>, server_order: &[Value], merge_key: &str) -> Vec<Value> {
    let mut result = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => return result,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (position(server_order, l, merge_key), position(server_order, r, merge_key)) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        result.extend(next);
    }
}
