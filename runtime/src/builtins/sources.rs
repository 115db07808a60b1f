//! Builtins: sources family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
