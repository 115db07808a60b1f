//! Library builtins, dispatched by id through `ilo_builtin`.
//!
//! Each family module exports `TABLE: &[BuiltinDef]`; [`table`] is their concatenation
//! and a builtin's id is its index there. The compiler looks ids up by name at compile
//! time ([`lookup`]); the same table is linked into AOT binaries, so ids agree.
//! Builtins receive borrowed arguments and return an owned value or an [`RtError`].

use std::sync::OnceLock;

mod convert;
mod datetime;
mod files;
mod hof;
pub mod json;
mod linalg;
mod list;
mod map;
mod math;
mod net;
mod rgx;
mod sources;
mod stats;
mod system;
#[cfg(test)]
mod test_values;
mod text;

use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

pub type BuiltinFn = fn(&[Value]) -> RtResult;

pub struct BuiltinDef {
    pub name: &'static str,
    pub min_args: u8,
    pub max_args: u8,
    pub f: BuiltinFn,
}

/// All builtins; a builtin's id is its index.
pub fn table() -> &'static [&'static BuiltinDef] {
    static TABLE: OnceLock<Vec<&'static BuiltinDef>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let families: &[&'static [BuiltinDef]] = &[
            convert::TABLE,
            text::TABLE,
            list::TABLE,
            map::TABLE,
            hof::TABLE,
            math::TABLE,
            stats::TABLE,
            linalg::TABLE,
            rgx::TABLE,
            json::TABLE,
            files::TABLE,
            system::TABLE,
            datetime::TABLE,
            net::TABLE,
            sources::TABLE,
        ];
        families.iter().flat_map(|t| t.iter()).collect()
    })
}

/// The id of the builtin called `name`.
pub fn lookup(name: &str) -> Option<usize> {
    table().iter().position(|b| b.name == name)
}

pub fn call(id: usize, args: &[Value]) -> RtResult {
    let def = table()
        .get(id)
        .ok_or_else(|| RtError::new(codes::CALL, format!("unknown builtin id {id}")))?;
    if args.len() < def.min_args as usize || args.len() > def.max_args as usize {
        return Err(RtError::new(
            codes::CALL,
            format!("{} called with {} args", def.name, args.len()),
        ));
    }
    (def.f)(args)
}
