//! Builtins: datetime family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
