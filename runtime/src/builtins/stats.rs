//! Builtins: stats family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
