//! One entry of the change history: what changed, at which resourceVersion, and what it replaced
//! (so a table can be rolled back to an older resourceVersion for consistent paging).

use std::sync::Arc;

use super::{Stored, Table, TableKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub table: TableKey,
    pub kind: ChangeType,
    pub object: Arc<Stored>,
    pub prev: Option<Arc<Stored>>,
}

impl Change {
    /// Reverts this change in `table`.
    pub fn undo(&self, table: &mut Table) {
        match (&self.kind, &self.prev) {
            (ChangeType::Added, _) | (_, None) => {
                table.remove(&self.object.key);
            }
            (_, Some(prev)) => {
                table.insert(prev.key.clone(), prev.clone());
            }
        }
    }
}
