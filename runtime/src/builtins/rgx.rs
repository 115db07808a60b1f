//! Builtins: rgx family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
