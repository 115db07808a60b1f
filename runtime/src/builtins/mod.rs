//! Library builtins, dispatched by id through `ilo_builtin`.
//!
//! Each family module exports `TABLE: &[BuiltinDef]`; [`table`] is their concatenation
//! and a builtin's id is its index there. The compiler looks ids up by name at compile
//! time ([`lookup`]); the same table is linked into AOT binaries, so ids agree.
//! Builtins receive borrowed arguments and return an owned value or an [`RtError`].
//!
//! Builtins that can update an argument in place (`mset`, `lst`, `srt`, …) or hand
//! it on to a callback that may (`fld`'s initial value) also
//! appear in their family's `IN_PLACE` table with a function taking [`Args`]: when
//! compiled code hands over its reference to an argument (the variable's last use, or
//! a temporary), [`Args::take`] yields that very reference, so a value nothing else
//! holds is updated where it is instead of copied.

use std::sync::OnceLock;

mod convert;
mod datetime;
mod events;
mod files;
mod hof;
pub mod json;
mod linalg;
mod list;
mod map;
pub mod math;
mod net;
mod number_sort;
mod rgx;
mod sources;
mod stats;
mod system;
#[cfg(test)]
mod test_values;
mod text;
mod text_sort;

pub use list::set_element;
pub use map::{get as map_get, set as map_set, take as map_take};
pub use text::element_at;

use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

pub type BuiltinFn = fn(&[Value]) -> RtResult;
/// A builtin that may consume arguments the caller handed over (see [`Args`]).
pub type InPlaceFn = fn(&mut Args) -> RtResult;

/// A builtin's variant for arguments that may be owned; its borrowed-only entry in
/// `TABLE` is the same function called with [`Args::borrowed`].
pub struct InPlaceDef {
    pub name: &'static str,
    pub f: InPlaceFn,
}

/// The arguments of one builtin call: words the caller lends, some of which (the bits
/// of `owned`) it has handed over instead.
pub struct Args<'a> {
    vals: &'a [Value],
    owned: u64,
}

impl<'a> Args<'a> {
    /// Arguments that are all borrowed.
    pub fn borrowed(vals: &'a [Value]) -> Args<'a> {
        Args { vals, owned: 0 }
    }

    /// Arguments where bit `i` of `owned` says the caller handed over `vals[i]`; every
    /// such reference is released by [`Args::release_untaken`] unless taken first.
    ///
    /// # Safety
    /// For every set bit, the caller owns one reference to `vals[i]` and gives it up.
    pub unsafe fn with_owned(vals: &'a [Value], owned: u64) -> Args<'a> {
        let valid = if vals.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << vals.len()) - 1
        };
        Args {
            vals,
            owned: owned & valid,
        }
    }

    /// Every argument, borrowed for the whole call. An argument taken with
    /// [`Args::take`] must not be read through this slice once the taken value is gone.
    pub fn all(&self) -> &'a [Value] {
        self.vals
    }

    /// Argument `i` as an owned value. When the caller handed it over this is the
    /// caller's own reference, so a value nobody else holds stays unique and
    /// `make_mut` updates it in place; otherwise a new reference.
    pub fn take(&mut self, i: usize) -> Value {
        let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
        if self.owned & bit != 0 {
            self.owned &= !bit;
            // SAFETY: the caller gave up this reference (`with_owned`); clearing the bit
            // makes this the only place that takes it over.
            unsafe { Value::from_raw(self.vals[i].raw()) }
        } else {
            self.vals[i].clone()
        }
    }

    /// Whether the caller handed argument `i` over (and it was not taken yet).
    pub fn is_handed_over(&self, i: usize) -> bool {
        self.owned & 1u64.checked_shl(i as u32).unwrap_or(0) != 0
    }

    /// Release the handed-over references no builtin took.
    pub fn release_untaken(&mut self) {
        for (i, v) in self.vals.iter().enumerate().take(64) {
            if self.owned & (1u64 << i) != 0 {
                // SAFETY: handed over by the caller and not taken (bit still set).
                drop(unsafe { Value::from_raw(v.raw()) });
            }
        }
        self.owned = 0;
    }
}

impl std::ops::Deref for Args<'_> {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        self.vals
    }
}

/// `max_args` of a builtin that takes any number of trailing arguments (`fmt`).
pub const VARIADIC: u8 = u8::MAX;

/// One builtin: its canonical name, its arity range and its implementation. The
/// compiler reads names and arities from here too, so they are written once.
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
            events::TABLE,
        ];
        families.iter().flat_map(|t| t.iter()).collect()
    })
}

/// The in-place variant of each builtin, by id (`None` for most).
fn in_place_table() -> &'static [Option<InPlaceFn>] {
    static TABLE: OnceLock<Vec<Option<InPlaceFn>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let variants: Vec<&InPlaceDef> = [
            convert::IN_PLACE,
            text::IN_PLACE,
            list::IN_PLACE,
            map::IN_PLACE,
            hof::IN_PLACE,
        ]
        .iter()
        .flat_map(|t| t.iter())
        .collect();
        table()
            .iter()
            .map(|b| variants.iter().find(|v| v.name == b.name).map(|v| v.f))
            .collect()
    })
}

/// The id of the builtin called `name`.
pub fn lookup(name: &str) -> Option<usize> {
    table().iter().position(|b| b.name == name)
}

pub fn call(id: usize, args: &[Value]) -> RtResult {
    call_owning(id, &mut Args::borrowed(args))
}

/// Call builtin `id` with arguments some of which may be handed over; the caller
/// releases whatever the builtin did not take.
pub fn call_owning(id: usize, args: &mut Args) -> RtResult {
    let def = table()
        .get(id)
        .ok_or_else(|| RtError::new(codes::CALL, format!("unknown builtin id {id}")))?;
    if args.len() < def.min_args as usize || args.len() > def.max_args as usize {
        return Err(RtError::new(
            codes::CALL,
            format!("{} called with {} args", def.name, args.len()),
        ));
    }
    match in_place_table().get(id).copied().flatten() {
        Some(f) => f(args),
        None => (def.f)(args.vals),
    }
}
