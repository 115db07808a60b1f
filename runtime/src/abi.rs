//! The single list of runtime entry points callable from compiled code.
//!
//! Each entry names an `extern "C"` function and its signature in ABI word types. From
//! the list the macro below generates:
//! - [`Entry`], one variant per entry point, which the code generator names instead of
//!   a string, so a misspelt entry point is a Rust compile error;
//! - [`ENTRY_POINTS`], a static slice indexed by `Entry`, that feeds the code
//!   generator's imported-function signatures and JIT symbol registration;
//! - module `exports`, one `#[no_mangle]` forwarder per entry, so the static library
//!   that AOT binaries link defines every name (the functions themselves must
//!   therefore stay mangled).
//!
//! The `as unsafe extern "C" fn(..)` cast in [`Entry::addr`] makes a signature that
//! disagrees with the function a compile error. Entry points that take value words or
//! pointers are `unsafe` functions whose `# Safety` sections state what compiled code
//! guarantees; the few that take only integers are safe.
//!
//! ABI types: `W` a borrowed value word (u64): the caller keeps its reference; `O` an
//! owned value word the callee consumes, whether it succeeds or fails; `F` an unboxed
//! f64; `I` a 64-bit integer (counts, ids, lengths, booleans as 0/1); `P` a pointer.
//! Words reached through a `P` are borrowed unless the function's doc says otherwise
//! (`ilo_builtin_owned` and `ilo_with` take a run-time ownership flag). `W` results are
//! owned. Fallible functions may return `ERROR_SENTINEL`.
//!
//! Adding a builtin to the language does *not* need an entry here: library builtins are
//! dispatched through `ilo_builtin` and the table in `builtins/mod.rs`. Entries here are
//! the operations compiled code performs directly (hot paths, control, the server).
//! The AOT binary's own entry, `ilo_aot_main`, is called by the generated C `main`
//! rather than by compiled ilo code, so it is named by [`AOT_MAIN`] below the list.

/// The word `ilo_iter_next` returns when the iterated value has no more elements.
pub use crate::ops::control::ITER_END;
/// The word `ilo_iter_next` returns when it wrote the next character into the loop
/// variable's own text.
pub use crate::ops::control::ITER_REUSED;

/// The kind of one argument or result word; the list below spells them `W`, `O`, `F`,
/// `I` and `P` (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    /// `W`: a value word the caller lends (as a result: an owned one).
    Word,
    /// `O`: a value word whose reference the callee consumes.
    OwnedWord,
    /// `F`: an unboxed f64.
    F64,
    /// `I`: a 64-bit integer.
    Int,
    /// `P`: a pointer.
    Ptr,
}

macro_rules! abi_kind {
    (W) => {
        AbiType::Word
    };
    (O) => {
        AbiType::OwnedWord
    };
    (F) => {
        AbiType::F64
    };
    (I) => {
        AbiType::Int
    };
    (P) => {
        AbiType::Ptr
    };
}

/// One entry point's name and signature.
#[derive(Clone, Copy, Debug)]
pub struct EntryPoint {
    pub entry: Entry,
    pub name: &'static str,
    pub params: &'static [AbiType],
    pub ret: Option<AbiType>,
}

macro_rules! abi_ty {
    (W) => { u64 };
    (O) => { u64 };
    (F) => { f64 };
    (I) => { i64 };
    (P) => { *mut u8 };
}

/// `#[no_mangle] extern "C" fn $name(a0, a1, …) -> r { $path(a0, a1, …) }`, one arm
/// per arity because `macro_rules` cannot mint parameter names.
macro_rules! export_symbol {
    (@fn $path:path => $name:ident [$($a:ident : $t:ident),*] $(-> $r:ident)?) => {
        /// # Safety
        ///
        /// As for the function it forwards to.
        #[no_mangle]
        pub unsafe extern "C" fn $name($($a: abi_ty!($t)),*) $(-> abi_ty!($r))? {
            // Through an unsafe pointer, so safe and unsafe entry points forward alike.
            let target: unsafe extern "C" fn($(abi_ty!($t)),*) $(-> abi_ty!($r))? = $path;
            // SAFETY: this forwarder's caller takes on the target's contract.
            unsafe { target($($a),*) }
        }
    };
    ($path:path => $name:ident () $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [a0: $t0] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [a0: $t0, a1: $t1] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [a0: $t0, a1: $t1, a2: $t2] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident, $t3:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [a0: $t0, a1: $t1, a2: $t2, a3: $t3] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident, $t3:ident, $t4:ident)
        $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name [a0: $t0, a1: $t1, a2: $t2, a3: $t3, a4: $t4] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident, $t3:ident, $t4:ident,
        $t5:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name
            [a0: $t0, a1: $t1, a2: $t2, a3: $t3, a4: $t4, a5: $t5] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident, $t3:ident, $t4:ident,
        $t5:ident, $t6:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name
            [a0: $t0, a1: $t1, a2: $t2, a3: $t3, a4: $t4, a5: $t5, a6: $t6] $(-> $r)?);
    };
    ($path:path => $name:ident ($t0:ident, $t1:ident, $t2:ident, $t3:ident, $t4:ident,
        $t5:ident, $t6:ident, $t7:ident) $(-> $r:ident)?) => {
        export_symbol!(@fn $path => $name
            [a0: $t0, a1: $t1, a2: $t2, a3: $t3, a4: $t4, a5: $t5, a6: $t6, a7: $t7] $(-> $r)?);
    };
}

macro_rules! entry_points {
    ($( $path:path => $name:ident ( $($p:ident),* ) $(-> $r:ident)? ; )*) => {
        /// A runtime entry point, spelt as its symbol so that a search for the name
        /// finds both the function and every place code generation calls it.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Entry {
            $( $name, )*
        }

        /// Every runtime entry point, in one list; `ENTRY_POINTS[e as usize].entry == e`.
        pub static ENTRY_POINTS: &[EntryPoint] = &[$(
            EntryPoint {
                entry: Entry::$name,
                name: stringify!($name),
                params: &[$(abi_kind!($p)),*],
                ret: entry_points!(@ret $($r)?),
            },
        )*];

        impl Entry {
            /// The function's address, for JIT symbol registration.
            pub fn addr(self) -> *const u8 {
                match self {
                    $( Entry::$name =>
                        ($path as unsafe extern "C" fn($(abi_ty!($p)),*) $(-> abi_ty!($r))?)
                            as *const u8, )*
                }
            }
        }

        /// The same list as linkable symbols: one `#[no_mangle]` forwarder per entry,
        /// named as the entry, so AOT binaries resolve compiled code's imports from the
        /// static library by name (the JIT uses the addresses above instead).
        pub mod exports {
            $( export_symbol!($path => $name ( $($p),* ) $(-> $r)?); )*
        }
    };
    (@ret) => { None };
    (@ret $r:ident) => { Some(abi_kind!($r)) };
}

impl Entry {
    /// Name and signature.
    pub fn point(self) -> &'static EntryPoint {
        &ENTRY_POINTS[self as usize]
    }

    /// The symbol name.
    pub fn name(self) -> &'static str {
        self.point().name
    }
}

entry_points! {
    // ── values and reference counting (ops.rs) ──
    crate::ops::ilo_retain => ilo_retain(W);
    crate::ops::ilo_release => ilo_release(O);
    crate::ops::ilo_err_span => ilo_err_span(I);
    crate::ops::ilo_stack_overflow => ilo_stack_overflow() -> W;
    crate::ops::ilo_builtin => ilo_builtin(I, P, I) -> W;
    crate::ops::ilo_builtin_owned => ilo_builtin_owned(I, P, I, I) -> W;
    // ── operations compiled code performs directly ──
    crate::ops::arith::ilo_add => ilo_add(W, W) -> W;
    crate::ops::arith::ilo_add_move => ilo_add_move(O, W) -> W;
    crate::ops::arith::ilo_arith => ilo_arith(W, W, I) -> W;
    crate::ops::arith::ilo_neg => ilo_neg(W) -> W;
    crate::ops::arith::ilo_mod => ilo_mod(F, F) -> W;
    crate::ops::arith::ilo_num_text => ilo_num_text(F) -> W;
    crate::ops::arith::ilo_compare => ilo_compare(W, W, I) -> W;
    crate::ops::arith::ilo_eq => ilo_eq(W, W) -> I;
    crate::ops::arith::ilo_truthy => ilo_truthy(W) -> I;
    crate::ops::arith::ilo_expect_num => ilo_expect_num(W) -> W;
    crate::ops::expect_type::ilo_expect_type => ilo_expect_type(W, P, I) -> W;
    crate::ops::expect_type::ilo_expect_acc => ilo_expect_acc(W, W, P, I) -> W;
    crate::ops::construct::ilo_text_lit => ilo_text_lit(P, P, I) -> W;
    crate::ops::construct::ilo_list_new => ilo_list_new(P, I) -> W;
    crate::ops::construct::ilo_append => ilo_append(W, W) -> W;
    crate::ops::construct::ilo_list_push_move => ilo_list_push_move(O, W) -> W;
    crate::ops::construct::ilo_lst_move => ilo_lst_move(O, O, O) -> W;
    crate::ops::construct::ilo_mset_move => ilo_mset_move(O, O, O) -> W;
    crate::ops::construct::ilo_mget => ilo_mget(W, W) -> W;
    crate::ops::construct::ilo_at => ilo_at(W, W) -> W;
    crate::ops::construct::ilo_mget_take => ilo_mget_take(W, W) -> W;
    crate::ops::construct::ilo_ok => ilo_ok(W) -> W;
    crate::ops::construct::ilo_err => ilo_err(W) -> W;
    crate::ops::construct::ilo_func_new => ilo_func_new(P, I, P, I, P, I) -> W;
    crate::ops::construct::ilo_closure_capture => ilo_closure_capture(W, I) -> W;
    crate::ops::construct::ilo_func_code => ilo_func_code(W, I) -> I;
    crate::ops::records::ilo_record_new => ilo_record_new(P, P, I, P, I) -> W;
    crate::ops::records::ilo_field => ilo_field(W, P, I, I, I) -> W;
    crate::ops::records::ilo_with => ilo_with(W, P, I, P, I, I) -> W;
    crate::ops::records::ilo_index => ilo_index(W, I) -> W;
    crate::ops::control::ilo_result_tag => ilo_result_tag(W) -> I;
    crate::ops::control::ilo_result_inner => ilo_result_inner(W) -> W;
    crate::ops::control::ilo_is_failure => ilo_is_failure(W) -> I;
    crate::ops::control::ilo_unwrap_move => ilo_unwrap_move(O) -> W;
    crate::ops::control::ilo_unwrap_panic => ilo_unwrap_panic(O) -> W;
    crate::ops::control::ilo_kind => ilo_kind(W) -> I;
    crate::ops::control::ilo_iter_next => ilo_iter_next(W, P, W) -> W;
}

/// The symbol the generated C `main` of an AOT binary calls:
/// `int ilo_aot_main(int argc, char **argv, const ProgramDesc *desc)`. It is not in
/// [`ENTRY_POINTS`] because compiled ilo code never calls it and its `int` arguments
/// are no ABI word; naming it here keeps every symbol generated code imports in this
/// file. The cast checks the signature against the function.
pub const AOT_MAIN: &str = {
    let _ = crate::aot::ilo_aot_main
        as unsafe extern "C" fn(
            std::ffi::c_int,
            *const *const std::ffi::c_char,
            *const crate::aot::ProgramDesc,
        ) -> std::ffi::c_int;
    "ilo_aot_main"
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slice_is_indexed_by_the_enum() {
        for (i, ep) in ENTRY_POINTS.iter().enumerate() {
            assert_eq!(ep.entry as usize, i, "{}", ep.name);
            assert_eq!(ep.entry.name(), ep.name);
        }
    }
}
