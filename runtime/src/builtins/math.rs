//! Builtins: math family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
