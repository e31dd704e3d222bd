//! Merging an applied configuration into the live object, and removing
//! fields (pruning) — structured-merge-diff's `Merge` and `RemoveItems`.

use serde_json::{Map, Value};

use super::ListKind;
use super::fieldset::{FieldSet, PathElement};
use super::walk::Cursor;

/// Merges `config` into `live`: maps recursively, atomic lists replaced,
/// set and map lists merged by element identity (map-list elements merged
/// field by field). A `null` in the configuration removes the field.
pub(super) fn merge(live: &Map<String, Value>, config: &Map<String, Value>, cursor: &mut Cursor) -> Map<String, Value> {
    let mut out = live.clone();
    for (key, value) in config {
        if value.is_null() {
            out.shift_remove(key);
            continue;
        }
        cursor.push_field(key);
        let merged = match out.get(key) {
            Some(existing) => merge_value(existing, value, cursor),
            None => without_nulls(value),
        };
        cursor.pop_field();
        out.insert(key.clone(), merged);
    }
    out
}

fn merge_value(live: &Value, config: &Value, cursor: &mut Cursor) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => Value::Object(merge(l, c, cursor)),
        (Value::Array(l), Value::Array(c)) => merge_list(l, c, cursor),
        _ => without_nulls(config),
    }
}

fn merge_list(live: &[Value], config: &[Value], cursor: &mut Cursor) -> Value {
    let kind = cursor.list_kind();
    if matches!(kind, ListKind::Atomic) {
        return without_nulls(&Value::Array(config.to_vec()));
    }
    let (Some(lhs), Some(rhs)) = (cursor.index_lenient(live, &kind), cursor.index_lenient(config, &kind)) else {
        return without_nulls(&Value::Array(config.to_vec()));
    };
    let mut out = Vec::with_capacity(lhs.len() + rhs.len());
    for (pe, l, r) in ordered_union(&lhs, &rhs) {
        let item = match (l, r) {
            (Some(l), Some(r)) => {
                cursor.push_element(pe);
                let merged = merge_value(l, r, cursor);
                cursor.pop_element();
                merged
            }
            (Some(l), None) => l.clone(),
            (None, Some(r)) => without_nulls(r),
            (None, None) => continue,
        };
        out.push(item);
    }
    Value::Array(out)
}

type Keyed<'v> = [(PathElement, &'v Value)];
type Pair<'v> = (PathElement, Option<&'v Value>, Option<&'v Value>);

fn lookup<'v>(items: &Keyed<'v>, pe: &PathElement) -> Option<&'v Value> {
    items.iter().find(|(p, _)| p == pe).map(|(_, v)| *v)
}

/// The element order structured-merge-diff produces: the configuration's
/// order for shared and new elements, live-only elements kept in place.
fn ordered_union<'v>(lhs: &Keyed<'v>, rhs: &Keyed<'v>) -> Vec<Pair<'v>> {
    let mut shared = rhs.iter().filter(|(pe, _)| lookup(lhs, pe).is_some()).map(|(pe, _)| pe);
    let mut next_shared = shared.next();
    let mut out = Vec::with_capacity(lhs.len() + rhs.len());
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let (pe, l) = &lhs[li];
            if *pe == rhs[ri].0 {
                out.push((pe.clone(), Some(*l), Some(rhs[ri].1)));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if lookup(rhs, pe).is_some() && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let (pe, l) = &lhs[li];
            if lookup(rhs, pe).is_none() {
                out.push((pe.clone(), Some(*l), None));
                li += 1;
                continue;
            }
            if ri >= rhs.len() {
                // Already emitted from the configuration side.
                li += 1;
                continue;
            }
        }
        if ri < rhs.len() {
            let (pe, r) = &rhs[ri];
            out.push((pe.clone(), lookup(lhs, pe), Some(*r)));
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

/// A copy of `value` with `null` map entries dropped, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Removes every field and list element that is a member of `set`. Maps and
/// lists emptied by the removal are removed too.
pub(super) fn remove_items(map: &mut Map<String, Value>, set: &FieldSet, cursor: &mut Cursor) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let pe = PathElement::Field(key.clone());
        if set.has_member(&pe) {
            map.shift_remove(&key);
            continue;
        }
        let (Some(child_set), Some(child)) = (set.child(&pe), map.get_mut(&key)) else {
            continue;
        };
        cursor.push_field(&key);
        let emptied = remove_in_value(child, child_set, cursor);
        cursor.pop_field();
        if emptied {
            map.shift_remove(&key);
        }
    }
}

/// Returns true when `value` was a non-empty map or list and is now empty.
fn remove_in_value(value: &mut Value, set: &FieldSet, cursor: &mut Cursor) -> bool {
    match value {
        Value::Object(map) if !map.is_empty() => {
            remove_items(map, set, cursor);
            map.is_empty()
        }
        Value::Array(items) if !items.is_empty() => {
            remove_in_list(items, set, cursor);
            items.is_empty()
        }
        _ => false,
    }
}

fn remove_in_list(items: &mut Vec<Value>, set: &FieldSet, cursor: &mut Cursor) {
    let kind = cursor.list_kind();
    if matches!(kind, ListKind::Atomic) {
        return;
    }
    let Some(keys) = cursor.index_lenient(items, &kind) else {
        return;
    };
    let keys: Vec<PathElement> = keys.into_iter().map(|(pe, _)| pe).collect();
    let mut kept = Vec::with_capacity(items.len());
    for (pe, mut item) in keys.into_iter().zip(items.drain(..)) {
        if set.has_member(&pe) {
            continue;
        }
        if let (Some(child_set), Value::Object(map)) = (set.child(&pe), &mut item) {
            cursor.push_element(pe);
            remove_items(map, child_set, cursor);
            cursor.pop_element();
        }
        kept.push(item);
    }
    *items = kept;
}
