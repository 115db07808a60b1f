//! A count of the copies the runtime makes of existing texts, lists, maps and records,
//! and of the long walks it takes through a text to find a character by position.
//!
//! Values are immutable, so an update of a value that something else still refers to
//! must copy it; an update of a value nothing else refers to happens in place (see
//! `Value::make_mut` and the ownership notes in `value.rs`). A program that updates
//! a collection in a loop should therefore copy nothing, and one that does copy on
//! every iteration is quadratic. These counters make that visible without timing
//! anything: tests read them through `ILO_COPY_STATS`, which makes a program print
//! them on stderr when it ends.
//!
//! Finding character `i` of a text that is not all ASCII walks the characters before
//! it (see `text_shape`); such a walk per iteration makes a loop quadratic the same
//! way, so walks of [`crate::text_shape::SHORT_WALK`] characters or more are counted
//! too.
//!
//! So is checking a list's or map's elements against a declared type when it enters a
//! function called as a value (`ops::expect_type`): done on every call with the same
//! growing accumulator, it is quadratic too, so those checks are counted with the
//! elements they looked at.
//!
//! Counting is a relaxed atomic add per copy, next to the copy's own allocation.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What was copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    List,
    Map,
    Record,
}

const KINDS: [Kind; 4] = [Kind::Text, Kind::List, Kind::Map, Kind::Record];

static COPIES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// Bytes of text, or elements / entries / fields, copied.
static UNITS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

static WALKS: AtomicU64 = AtomicU64::new(0);
/// Characters stepped over by those walks.
static WALKED: AtomicU64 = AtomicU64::new(0);

static CHECKS: AtomicU64 = AtomicU64::new(0);
/// Elements those checks looked at.
static CHECKED: AtomicU64 = AtomicU64::new(0);

/// The environment variable that asks for the statistics at exit.
pub const ENV_VAR: &str = "ILO_COPY_STATS";

/// Note one copy of an existing value holding `units` bytes or elements.
pub fn record(kind: Kind, units: usize) {
    COPIES[kind as usize].fetch_add(1, Ordering::Relaxed);
    UNITS[kind as usize].fetch_add(units as u64, Ordering::Relaxed);
}

/// Note one walk over `chars` characters of a text to find a position.
pub fn record_walk(chars: usize) {
    WALKS.fetch_add(1, Ordering::Relaxed);
    WALKED.fetch_add(chars as u64, Ordering::Relaxed);
}

/// Note one check of a list's or map's `elements` against a declared type.
pub fn record_check(elements: usize) {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    CHECKED.fetch_add(elements as u64, Ordering::Relaxed);
}

/// The totals so far (for this process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub copies: [u64; 4],
    pub units: [u64; 4],
    /// Long walks through texts, and the characters they stepped over.
    pub walks: u64,
    pub walked: u64,
    /// Checks of containers' elements against a declared type, and elements looked at.
    pub checks: u64,
    pub checked: u64,
}

impl Snapshot {
    pub fn copies_of(&self, kind: Kind) -> u64 {
        self.copies[kind as usize]
    }
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        copies: COPIES.each_ref().map(|c| c.load(Ordering::Relaxed)),
        units: UNITS.each_ref().map(|c| c.load(Ordering::Relaxed)),
        walks: WALKS.load(Ordering::Relaxed),
        walked: WALKED.load(Ordering::Relaxed),
        checks: CHECKS.load(Ordering::Relaxed),
        checked: CHECKED.load(Ordering::Relaxed),
    }
}

impl fmt::Display for Snapshot {
    /// `copies: text 0 (0 bytes), list 2 (10 elements), map 0 (0 entries), record 0
    /// (0 fields), walk 0 (0 chars), check 0 (0 elements)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("copies:")?;
        for (i, kind) in KINDS.iter().enumerate() {
            let (name, unit) = match kind {
                Kind::Text => ("text", "bytes"),
                Kind::List => ("list", "elements"),
                Kind::Map => ("map", "entries"),
                Kind::Record => ("record", "fields"),
            };
            let sep = if i == 0 { " " } else { ", " };
            write!(
                f,
                "{sep}{name} {} ({} {unit})",
                self.copies[i], self.units[i]
            )?;
        }
        write!(f, ", walk {} ({} chars)", self.walks, self.walked)?;
        write!(f, ", check {} ({} elements)", self.checks, self.checked)
    }
}

/// Print the statistics on stderr when `ILO_COPY_STATS` is set (to anything).
pub fn report_if_asked() {
    if std::env::var_os(ENV_VAR).is_some() {
        eprintln!("ilo: {}", snapshot());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_accumulate_per_kind() {
        let before = snapshot();
        record(Kind::Map, 3);
        record(Kind::Map, 4);
        let after = snapshot();
        assert!(after.copies_of(Kind::Map) >= before.copies_of(Kind::Map) + 2);
        assert!(after.units[Kind::Map as usize] >= before.units[Kind::Map as usize] + 7);
        assert!(after.to_string().starts_with("copies: text "));
        record_walk(40);
        let walked = snapshot();
        assert!(walked.walks > after.walks && walked.walked >= after.walked + 40);
        assert!(walked.to_string().contains(", walk "));
    }
}
