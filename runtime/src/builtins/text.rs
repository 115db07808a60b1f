//! Builtins: text family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
