//! Walking objects without a full schema: list element identity, the field
//! set of an applied configuration (`ToFieldSet`) and the comparison of two
//! versions of an object (`Compare`), as structured-merge-diff does them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, OrdValue, PathElement, display_path};
use super::{ListKind, ListKinds};

/// Where a walk is: the schema path (field names only, for [`ListKinds`]) and
/// the field path (with list element keys).
pub(super) struct Cursor<'a> {
    pub lists: &'a dyn ListKinds,
    names: Vec<String>,
    path: Vec<PathElement>,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(lists: &'a dyn ListKinds) -> Self {
        Cursor { lists, names: Vec::new(), path: Vec::new() }
    }

    pub(super) fn path(&self) -> &[PathElement] {
        &self.path
    }

    pub(super) fn push_field(&mut self, name: &str) {
        self.names.push(name.to_string());
        self.path.push(PathElement::Field(name.to_string()));
    }

    pub(super) fn push_element(&mut self, pe: PathElement) {
        self.path.push(pe);
    }

    pub(super) fn pop_field(&mut self) {
        self.names.pop();
        self.path.pop();
    }

    pub(super) fn pop_element(&mut self) {
        self.path.pop();
    }

    pub(super) fn list_kind(&self) -> ListKind {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.lists.list_kind(&names)
    }

    fn key_default(&self, field: &str) -> Option<Value> {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.lists.key_default(&names, field)
    }

    /// The path element naming `elem` in a list of `kind` at this cursor.
    pub(super) fn element_key(&self, elem: &Value, kind: &ListKind) -> Result<PathElement, String> {
        match kind {
            ListKind::Map(keys) => self.map_element_key(elem, keys),
            _ if elem.is_object() || elem.is_array() => {
                Err("associative list without keys has an element that's a map type".to_string())
            }
            _ => Ok(PathElement::Value(OrdValue(elem.clone()))),
        }
    }

    fn map_element_key(&self, elem: &Value, keys: &[String]) -> Result<PathElement, String> {
        let Value::Object(obj) = elem else {
            return Err(format!("expected map, got {}", type_name(elem)));
        };
        let mut fields = Vec::with_capacity(keys.len());
        for key in keys {
            let value = obj.get(key).cloned().or_else(|| self.key_default(key)).ok_or_else(|| {
                format!(
                    "associative list with keys has an element that omits key field {key:?} (and doesn't have default value)"
                )
            })?;
            fields.push((key.clone(), value));
        }
        Ok(PathElement::key(fields))
    }

    /// Keys every element, rejecting bad elements and duplicates (the rules
    /// for an applied configuration).
    pub(super) fn index_strict<'v>(
        &self,
        items: &'v [Value],
        kind: &ListKind,
    ) -> Result<Vec<(PathElement, &'v Value)>, String> {
        let mut out: Vec<(PathElement, &'v Value)> = Vec::with_capacity(items.len());
        let mut seen = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let pe = self.element_key(item, kind).map_err(|e| format!("element {i}: {e}"))?;
            if !seen.insert(pe.clone()) {
                return Err(format!("duplicate entries for key {}", pe.display()));
            }
            out.push((pe, item));
        }
        Ok(out)
    }

    /// Keys every element of a stored list; `None` when that is impossible
    /// (bad element or duplicate keys), in which case the list is handled
    /// as a whole.
    pub(super) fn index_lenient<'v>(
        &self,
        items: &'v [Value],
        kind: &ListKind,
    ) -> Option<Vec<(PathElement, &'v Value)>> {
        self.index_strict(items, kind).ok()
    }

    fn error_at(&self, message: &str) -> String {
        if self.path.is_empty() { message.to_string() } else { format!("{}: {message}", display_path(&self.path)) }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The set of fields an applied configuration specifies: scalars, nulls,
/// empty maps and lists, atomic lists, and every element of an associative
/// list (plus the fields inside map-list elements).
pub(super) fn field_set(config: &Map<String, Value>, lists: &dyn ListKinds) -> Result<FieldSet, String> {
    let mut set = FieldSet::default();
    let mut cursor = Cursor::new(lists);
    collect_map(config, &mut cursor, &mut set)?;
    Ok(set)
}

fn collect_map(map: &Map<String, Value>, cursor: &mut Cursor, set: &mut FieldSet) -> Result<(), String> {
    for (key, value) in map {
        cursor.push_field(key);
        let result = collect_value(value, cursor, set);
        cursor.pop_field();
        result?;
    }
    Ok(())
}

fn collect_value(value: &Value, cursor: &mut Cursor, set: &mut FieldSet) -> Result<(), String> {
    match value {
        Value::Object(map) if !map.is_empty() => collect_map(map, cursor, set),
        Value::Array(items) if !items.is_empty() => collect_list(items, cursor, set),
        _ => {
            set.insert(cursor.path());
            Ok(())
        }
    }
}

fn collect_list(items: &[Value], cursor: &mut Cursor, set: &mut FieldSet) -> Result<(), String> {
    let kind = cursor.list_kind();
    if matches!(kind, ListKind::Atomic) {
        set.insert(cursor.path());
        return Ok(());
    }
    let keyed = cursor.index_strict(items, &kind).map_err(|e| cursor.error_at(&e))?;
    for (pe, item) in keyed {
        cursor.push_element(pe);
        set.insert(cursor.path());
        let result = match item {
            Value::Object(map) => collect_map(map, cursor, set),
            _ => Ok(()),
        };
        cursor.pop_element();
        result?;
    }
    Ok(())
}

/// Fields added, modified and removed between two versions of an object.
#[derive(Debug, Default)]
pub(super) struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    /// Fields whose value is new or different.
    pub(super) fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }

    fn leaf(&mut self, old: Option<&Value>, new: Option<&Value>, path: &[PathElement]) {
        match (old, new) {
            (None, _) => self.added.insert(path),
            (_, None) => self.removed.insert(path),
            (Some(a), Some(b)) if a != b => self.modified.insert(path),
            _ => {}
        }
    }

    /// A map or list node that appeared or disappeared is itself a change.
    fn node(&mut self, old: Option<&Value>, new: Option<&Value>, path: &[PathElement]) {
        match (old, new) {
            (None, _) => self.added.insert(path),
            (_, None) => self.removed.insert(path),
            _ => {}
        }
    }
}

/// Compares `old` with `new`, both objects.
pub(super) fn compare(old: &Value, new: &Value, lists: &dyn ListKinds) -> Comparison {
    let mut out = Comparison::default();
    let mut cursor = Cursor::new(lists);
    compare_value(Some(old), Some(new), &mut cursor, &mut out);
    out
}

fn compare_value(old: Option<&Value>, new: Option<&Value>, cursor: &mut Cursor, out: &mut Comparison) {
    let is_map = |v: Option<&Value>| v.is_none_or(Value::is_object);
    let is_list = |v: Option<&Value>| v.is_none_or(Value::is_array);
    if is_map(old) && is_map(new) {
        compare_maps(old, new, cursor, out);
    } else if is_list(old) && is_list(new) {
        compare_lists(old, new, cursor, out);
    } else {
        out.leaf(old, new, cursor.path());
    }
}

fn compare_maps(old: Option<&Value>, new: Option<&Value>, cursor: &mut Cursor, out: &mut Comparison) {
    let (old_map, new_map) = (non_empty_map(old), non_empty_map(new));
    if old_map.is_none() && new_map.is_none() {
        out.leaf(old, new, cursor.path());
        return;
    }
    let mut keys: Vec<&String> = old_map.into_iter().flat_map(|m| m.keys()).collect();
    for key in new_map.into_iter().flat_map(|m| m.keys()) {
        if !old_map.is_some_and(|m| m.contains_key(key)) {
            keys.push(key);
        }
    }
    for key in keys {
        cursor.push_field(key);
        let (old_child, new_child) = (old_map.and_then(|m| m.get(key)), new_map.and_then(|m| m.get(key)));
        compare_value(old_child, new_child, cursor, out);
        cursor.pop_field();
    }
    out.node(old, new, cursor.path());
}

fn compare_lists<'v>(old: Option<&'v Value>, new: Option<&'v Value>, cursor: &mut Cursor, out: &mut Comparison) {
    let (old_list, new_list) = (non_empty_list(old), non_empty_list(new));
    let kind = cursor.list_kind();
    if matches!(kind, ListKind::Atomic) || (old_list.is_none() && new_list.is_none()) {
        out.leaf(old, new, cursor.path());
        return;
    }
    let index = |l: Option<&'v Vec<Value>>| match l {
        Some(items) => cursor.index_lenient(items, &kind),
        None => Some(Vec::new()),
    };
    let (Some(old_items), Some(new_items)) = (index(old_list), index(new_list)) else {
        out.leaf(old, new, cursor.path());
        return;
    };
    for (pe, old_item, new_item) in union_items(&old_items, &new_items) {
        cursor.push_element(pe);
        compare_value(old_item, new_item, cursor, out);
        cursor.pop_element();
    }
    out.node(old, new, cursor.path());
}

fn non_empty_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object).filter(|m| !m.is_empty())
}

fn non_empty_list(v: Option<&Value>) -> Option<&Vec<Value>> {
    v.and_then(Value::as_array).filter(|l| !l.is_empty())
}

type Keyed<'v> = [(PathElement, &'v Value)];

fn union_items<'v>(old: &Keyed<'v>, new: &Keyed<'v>) -> Vec<(PathElement, Option<&'v Value>, Option<&'v Value>)> {
    let find = |items: &Keyed<'v>, pe: &PathElement| items.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    let mut out: Vec<_> = old.iter().map(|(pe, v)| (pe.clone(), Some(*v), find(new, pe))).collect();
    for (pe, v) in new {
        if find(old, pe).is_none() {
            out.push((pe.clone(), None, Some(*v)));
        }
    }
    out
}
