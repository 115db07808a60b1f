//! Builtins: system family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
