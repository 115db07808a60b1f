//! Builtins: list family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
