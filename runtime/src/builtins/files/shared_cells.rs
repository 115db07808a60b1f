//! One text value per distinct short cell of a table being read.
//!
//! Columns of delimited files repeat themselves (keys, categories, small numbers), and
//! a text value is two allocations. Handing out the value already made for an equal
//! cell costs a reference-count increment instead; values are immutable to programs
//! (an update of a shared one copies it), so sharing is invisible to them.

use std::collections::HashMap;

use crate::value::Value;

/// Cells longer than this are rarely repeated; hashing them is not worth it.
const MAX_SHARED_LEN: usize = 32;
/// Distinct cells remembered per read, so a file of all-different cells costs a
/// bounded table and then only a failed lookup per short cell.
const MAX_REMEMBERED: usize = 4096;

#[derive(Default)]
pub struct SharedCells {
    seen: HashMap<Box<str>, Value, foldhash::fast::RandomState>,
}

impl SharedCells {
    /// A text value for `cell`: the one made for an equal earlier cell, if any.
    pub fn text(&mut self, cell: &str) -> Value {
        if cell.len() > MAX_SHARED_LEN {
            return Value::text(cell);
        }
        if let Some(v) = self.seen.get(cell) {
            return v.clone();
        }
        let v = Value::text(cell);
        if self.seen.len() < MAX_REMEMBERED {
            self.seen.insert(cell.into(), v.clone());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_short_cells_share_one_value_and_long_ones_do_not() {
        let mut cells = SharedCells::default();
        let (a, b) = (cells.text("k1"), cells.text("k1"));
        assert_eq!(a.as_text(), Some("k1"));
        assert_eq!(a.raw(), b.raw());
        assert_ne!(cells.text("k2").as_text(), b.as_text());
        let long = "x".repeat(MAX_SHARED_LEN + 1);
        let (c, d) = (cells.text(&long), cells.text(&long));
        assert_eq!(c.as_text(), d.as_text());
        assert_ne!(c.raw(), d.raw());
    }
}
