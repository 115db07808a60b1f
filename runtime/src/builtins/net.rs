//! Builtins: net family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
