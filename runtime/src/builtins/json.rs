//! Builtins: json family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
