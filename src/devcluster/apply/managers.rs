//! `metadata.managedFields`: decoding, encoding and ownership bookkeeping, as
//! kube-apiserver's fieldmanager and structured-merge-diff's `Updater` do it.

use serde_json::{Map, Value};

use super::Conflict;
use super::fieldset::{FieldSet, display_path};
use super::walk::Comparison;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }

    fn parse(s: &str) -> Option<Operation> {
        match s {
            "Apply" => Some(Operation::Apply),
            "Update" => Some(Operation::Update),
            _ => None,
        }
    }
}

/// Who a managedFields entry belongs to. Apply entries are one per manager
/// (and subresource) whatever the apiVersion; Update entries are also keyed
/// by apiVersion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ManagerId {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
}

impl ManagerId {
    fn same_as(&self, other: &ManagerId) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// How conflict messages name a manager (kube's `printManager`).
    fn display(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub id: ManagerId,
    pub time: Option<String>,
    pub set: FieldSet,
}

impl Entry {
    fn from_json(value: &Value) -> Option<Entry> {
        let obj = value.as_object()?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        if obj.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1") {
            return None;
        }
        let id = ManagerId {
            manager: text("manager").unwrap_or_default(),
            operation: Operation::parse(obj.get("operation")?.as_str()?)?,
            api_version: text("apiVersion").unwrap_or_default(),
            subresource: text("subresource").filter(|s| !s.is_empty()),
        };
        let set = FieldSet::from_fields_v1(obj.get("fieldsV1")?);
        Some(Entry { id, time: text("time"), set })
    }

    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("manager".into(), Value::String(self.id.manager.clone()));
        obj.insert("operation".into(), Value::String(self.id.operation.as_str().into()));
        obj.insert("apiVersion".into(), Value::String(self.id.api_version.clone()));
        if let Some(time) = &self.time {
            obj.insert("time".into(), Value::String(time.clone()));
        }
        obj.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        obj.insert("fieldsV1".into(), self.set.to_fields_v1());
        if let Some(sub) = &self.id.subresource {
            obj.insert("subresource".into(), Value::String(sub.clone()));
        }
        Value::Object(obj)
    }
}

/// All managedFields entries of one object.
#[derive(Clone, Debug, Default)]
pub(super) struct Managers {
    entries: Vec<Entry>,
}

fn managed_fields(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?.get("managedFields")
}

impl Managers {
    /// Decodes `metadata.managedFields`; malformed entries are dropped.
    pub(super) fn decode(obj: &Value) -> Managers {
        let entries = managed_fields(obj)
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Entry::from_json).collect())
            .unwrap_or_default();
        Managers { entries }
    }

    /// kube's `decodeLiveOrNew`: managedFields sent with a write replace the
    /// stored ones; `[]` or `[{}]` resets them; absent or undecodable ones
    /// keep the live object's.
    pub(super) fn decode_live_or_new(live: &Value, new: &Value) -> Managers {
        match managed_fields(new).and_then(Value::as_array) {
            Some(list) if is_reset(list) => Managers::default(),
            Some(_) => {
                let sent = Managers::decode(new);
                if sent.entries.is_empty() { Managers::decode(live) } else { sent }
            }
            None => Managers::decode(live),
        }
    }

    /// Writes the entries into `obj.metadata.managedFields` in kube's order
    /// (Apply before Update, then time, manager, apiVersion, subresource),
    /// dropping the field when there are none.
    pub(super) fn encode_into(mut self, obj: &mut Map<String, Value>) {
        self.entries.retain(|e| !e.set.is_empty());
        self.entries.sort_by(|a, b| {
            (a.id.operation, &a.time, &a.id.manager, &a.id.api_version, &a.id.subresource).cmp(&(
                b.id.operation,
                &b.time,
                &b.id.manager,
                &b.id.api_version,
                &b.id.subresource,
            ))
        });
        let Some(Value::Object(meta)) = obj.get_mut("metadata") else {
            return;
        };
        if self.entries.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            let list = self.entries.iter().map(Entry::to_json).collect();
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }

    fn position(&self, id: &ManagerId) -> Option<usize> {
        self.entries.iter().position(|e| e.id.same_as(id))
    }

    /// Replaces `id`'s entry (keeping its place); returns the previous set.
    pub(super) fn replace(&mut self, id: ManagerId, time: &str, set: FieldSet) -> Option<FieldSet> {
        let entry = Entry { id, time: Some(time.to_string()), set };
        match self.position(&entry.id) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i], entry).set),
            None => {
                self.entries.push(entry);
                None
            }
        }
    }

    /// The union of every manager's fields.
    pub(super) fn owned(&self) -> FieldSet {
        self.entries.iter().fold(FieldSet::default(), |acc, e| acc.union(&e.set))
    }

    /// structured-merge-diff's `update`: every manager but `writer` that
    /// owns a changed field conflicts; unless `force`, that is an error.
    /// Otherwise changed fields leave the other managers' sets, and removed
    /// fields leave every other set.
    pub(super) fn transfer(&mut self, cmp: &Comparison, writer: &ManagerId, force: bool) -> Result<(), Vec<Conflict>> {
        let changed = cmp.changed();
        let others = || self.entries.iter().enumerate().filter(|(_, e)| !e.id.same_as(writer));
        let lost: Vec<(usize, FieldSet)> =
            others().map(|(i, e)| (i, e.set.intersection(&changed))).filter(|(_, s)| !s.is_empty()).collect();
        if !force && !lost.is_empty() {
            return Err(self.conflicts(&lost));
        }
        for (i, set) in &lost {
            self.entries[*i].set = self.entries[*i].set.difference(set);
        }
        for entry in self.entries.iter_mut().filter(|e| !e.id.same_as(writer)) {
            entry.set = entry.set.difference(&cmp.removed);
        }
        self.entries.retain(|e| !e.set.is_empty());
        Ok(())
    }

    fn conflicts(&self, lost: &[(usize, FieldSet)]) -> Vec<Conflict> {
        let mut out = Vec::new();
        for (i, set) in lost {
            let id = &self.entries[*i].id;
            for path in set.paths() {
                out.push(Conflict {
                    manager: id.manager.clone(),
                    field: display_path(&path),
                    message: format!("conflict with {}", id.display()),
                });
            }
        }
        out.sort_by(|a, b| (&a.manager, &a.message).cmp(&(&b.manager, &b.message)));
        out
    }

    /// An Update by `id`: changed fields join its set (merged with its
    /// previous Update entry), removed fields leave it. The time moves only
    /// when it took fields, as kube's managedFieldsUpdater does.
    pub(super) fn record_update(&mut self, cmp: &Comparison, id: ManagerId, time: &str) {
        let changed = cmp.changed();
        // Updates never conflict: transfer with force cannot fail.
        let _ = self.transfer(cmp, &id, true);
        let position = self.position(&id);
        let previous = position.map(|i| self.entries[i].set.difference(&cmp.removed)).unwrap_or_default();
        let set = previous.union(&changed);
        let time = match position {
            Some(i) if changed.is_empty() => self.entries[i].time.clone(),
            _ => Some(time.to_string()),
        };
        let entry = Entry { id, time, set };
        match position {
            Some(i) => self.entries[i] = entry,
            None => self.entries.push(entry),
        }
        self.entries.retain(|e| !e.set.is_empty());
    }
}

impl Managers {
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// kube's capManagersManager: beyond `max` Update entries, the oldest
    /// are merged, per apiVersion, into an `ancient-changes` entry.
    pub(super) fn cap_updates(&mut self, max: usize) {
        let mut updaters: Vec<(Option<String>, ManagerId)> = self
            .entries
            .iter()
            .filter(|e| e.id.operation == Operation::Update)
            .map(|e| (e.time.clone(), e.id.clone()))
            .collect();
        if updaters.len() <= max {
            return;
        }
        updaters.sort_by(|a, b| (&a.0, &a.1.manager).cmp(&(&b.0, &b.1.manager)));
        let mut length = updaters.len();
        let mut first_by_version: Vec<(String, ManagerId)> = Vec::new();
        for (_, id) in updaters {
            if length <= max {
                break;
            }
            match first_by_version.iter().find(|(v, _)| *v == id.api_version) {
                Some((_, first)) => {
                    self.merge_into_bucket(first.clone(), &id);
                    length -= 1;
                }
                None => first_by_version.push((id.api_version.clone(), id)),
            }
        }
    }

    fn merge_into_bucket(&mut self, first: ManagerId, id: &ManagerId) {
        let bucket = ManagerId {
            manager: ANCIENT_CHANGES.to_string(),
            operation: Operation::Update,
            api_version: id.api_version.clone(),
            subresource: None,
        };
        // Merging the bucket into itself would drop it: merge `first` instead.
        let (first, id) = if id.same_as(&bucket) { (id.clone(), &first) } else { (first, id) };
        if self.position(&bucket).is_none()
            && let Some(i) = self.position(&first)
        {
            self.entries[i].id = bucket.clone();
        }
        let Some(merged) = self.position(id).map(|i| self.entries.remove(i)) else {
            return;
        };
        if let Some(b) = self.position(&bucket) {
            self.entries[b].set = merged.set.union(&self.entries[b].set);
            self.entries[b].time = merged.time;
        }
    }
}

/// kube's DefaultMaxUpdateManagers.
pub(super) const MAX_UPDATE_MANAGERS: usize = 10;

const ANCIENT_CHANGES: &str = "ancient-changes";

fn is_reset(list: &[Value]) -> bool {
    match list {
        [] => true,
        [only] => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

/// kube's conflict message: one conflict on one line, several grouped by
/// manager as a bulleted list.
pub(super) fn conflict_message(conflicts: &[Conflict]) -> String {
    match conflicts {
        [one] => format!("Apply failed with 1 conflict: {}: {}", one.message, one.field),
        _ => {
            let mut lines: Vec<String> = Vec::new();
            let mut current: Option<&str> = None;
            for c in conflicts {
                if current != Some(c.message.as_str()) {
                    let owner = c.message.strip_prefix("conflict with ").unwrap_or(&c.message);
                    lines.push(format!("conflicts with {owner}:"));
                    current = Some(c.message.as_str());
                }
                lines.push(format!("- {}", c.field));
            }
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        }
    }
}
