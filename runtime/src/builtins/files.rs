//! Builtins: files family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
