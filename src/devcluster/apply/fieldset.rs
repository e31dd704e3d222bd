//! Field sets as in sigs.k8s.io/structured-merge-diff `fieldpath`: path
//! elements, their total order, the set tree, and the FieldsV1 encoding.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// A JSON value with structured-merge-diff's total order: numbers, strings,
/// booleans, lists, maps, then null.
#[derive(Clone, Debug)]
pub(super) struct OrdValue(pub Value);

fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => compare_lists(x, y),
        (Value::Object(x), Value::Object(y)) => compare_maps(x, y),
        _ => Ordering::Equal,
    }
}

fn compare_lists(x: &[Value], y: &[Value]) -> Ordering {
    for (a, b) in x.iter().zip(y) {
        let ord = compare_values(a, b);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    x.len().cmp(&y.len())
}

fn compare_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    let mut xs: Vec<_> = x.iter().collect();
    let mut ys: Vec<_> = y.iter().collect();
    xs.sort_by(|a, b| a.0.cmp(b.0));
    ys.sort_by(|a, b| a.0.cmp(b.0));
    for ((ka, va), (kb, vb)) in xs.iter().zip(&ys) {
        let ord = ka.cmp(kb).then_with(|| compare_values(va, vb));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    xs.len().cmp(&ys.len())
}

impl Ord for OrdValue {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_values(&self.0, &other.0)
    }
}

impl PartialOrd for OrdValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for OrdValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrdValue {}

/// One step of a field path. Variant order is structured-merge-diff's order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PathElement {
    /// `f:<name>`: a field of a map.
    Field(String),
    /// `k:{...}`: an element of a map list, by its key fields (sorted by name).
    Key(Vec<(String, OrdValue)>),
    /// `v:<json>`: an element of a set list.
    Value(OrdValue),
    /// `i:<n>`: an element of a list by position.
    Index(usize),
}

impl PathElement {
    /// The FieldsV1 key for this element.
    pub(super) fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => format!("k:{}", key_object(fields)),
            PathElement::Value(v) => format!("v:{}", v.0),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key; `None` for unknown or malformed keys (dropped,
    /// as structured-merge-diff does for unknown element types).
    pub(super) fn decode(key: &str) -> Option<PathElement> {
        let (kind, rest) = key.split_once(':')?;
        match kind {
            "f" => Some(PathElement::Field(rest.to_string())),
            "v" => serde_json::from_str(rest).ok().map(|v| PathElement::Value(OrdValue(v))),
            "k" => match serde_json::from_str::<Value>(rest).ok()? {
                Value::Object(map) => Some(PathElement::key(map.into_iter().collect())),
                _ => None,
            },
            "i" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }

    /// A key element with its fields sorted by name.
    pub(super) fn key(mut fields: Vec<(String, Value)>) -> PathElement {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields.into_iter().map(|(k, v)| (k, OrdValue(v))).collect())
    }

    /// Human-readable form used in conflict messages: `.name`, `[name="c"]`,
    /// `[=value]`, `[0]`.
    pub(super) fn display(&self) -> String {
        match self {
            PathElement::Field(name) => format!(".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", v.0)).collect();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={}]", v.0),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

fn key_object(fields: &[(String, OrdValue)]) -> Value {
    let map: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    Value::Object(map)
}

/// Renders a path like `.spec.template.spec.containers[name="app"].image`.
pub(super) fn display_path(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

/// A set of field paths, stored as a tree: `members` are paths ending at this
/// node's child, `children` hold deeper paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds `path`; the empty path is ignored.
    pub(super) fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub(super) fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    pub(super) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Whether any path in the set starts with `pe` (or is `pe`).
    pub(super) fn touches(&self, pe: &PathElement) -> bool {
        self.members.contains(pe) || self.children.contains_key(pe)
    }

    /// Removes the member `pe`, keeping any paths below it.
    pub(super) fn remove_member(&mut self, pe: &PathElement) {
        self.members.remove(pe);
    }

    pub(super) fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    pub(super) fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, child)| {
                let both = child.intersection(other.children.get(pe)?);
                (!both.is_empty()).then(|| (pe.clone(), both))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Members of `self` not in `other`, level by level (not recursive
    /// through members: removing `.a` keeps `.a.b`).
    pub(super) fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, child)| {
                let rest = match other.children.get(pe) {
                    Some(theirs) => child.difference(theirs),
                    None => child.clone(),
                };
                (!rest.is_empty()).then(|| (pe.clone(), rest))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Every path in the set, members of a node before its children's paths.
    pub(super) fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out: Vec<Vec<PathElement>> = self.members.iter().map(|pe| vec![pe.clone()]).collect();
        for (pe, child) in &self.children {
            for mut tail in child.paths() {
                tail.insert(0, pe.clone());
                out.push(tail);
            }
        }
        out
    }

    /// The FieldsV1 JSON encoding (keys in path-element order, `"."` last
    /// when a node is both a member and has children).
    pub(super) fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode_contents(false))
    }

    fn encode_contents(&self, include_self: bool) -> Map<String, Value> {
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(self.children.keys());
        let mut out = Map::new();
        for pe in keys {
            let value = match self.children.get(pe) {
                Some(child) => Value::Object(child.encode_contents(self.members.contains(pe))),
                None => Value::Object(Map::new()),
            };
            out.insert(pe.encode(), value);
        }
        if include_self && !out.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        out
    }

    /// Decodes FieldsV1; unknown keys are dropped.
    pub(super) fn from_fields_v1(value: &Value) -> FieldSet {
        decode_node(value).0
    }
}

/// Returns the node's children and whether the node itself is a member.
fn decode_node(value: &Value) -> (FieldSet, bool) {
    let mut set = FieldSet::default();
    let mut is_member = false;
    if let Value::Object(map) = value {
        for (key, child) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::decode(key) else {
                continue;
            };
            let (grandchildren, child_is_member) = decode_node(child);
            if child_is_member {
                set.members.insert(pe.clone());
            }
            if !grandchildren.is_empty() {
                set.children.insert(pe, grandchildren);
            }
        }
    }
    let member = is_member || set.is_empty();
    (set, member)
}
