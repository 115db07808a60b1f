//! Builtins: convert family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
