//! Builtins: linalg family.

use super::BuiltinDef;

pub const TABLE: &[BuiltinDef] = &[];
