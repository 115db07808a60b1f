//! Builtins: hof family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
