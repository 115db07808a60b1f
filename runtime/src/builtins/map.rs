//! Builtins: map family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
