//! The single list of runtime entry points callable from compiled code.
//!
//! Each entry names an `extern "C"` function and its signature in ABI word types. The
//! list feeds JIT symbol registration (name → address) and the code generator's
//! imported-function signatures; for AOT binaries the macro also generates one
//! `#[no_mangle]` forwarder per entry (module `exports`), so the static library
//! defines every name (the functions themselves must therefore stay mangled). The
//! `as extern "C" fn(..)` cast in the macro makes a signature that disagrees with the
//! function a compile error.
//!
//! ABI types: `W` a value word (u64), `F` an unboxed f64, `I` a 64-bit integer
//! (counts, ids, lengths, booleans as 0/1), `P` a pointer.
//! Ownership: `W` arguments are borrowed unless the function's doc says it consumes
//! them; `W` results are owned. Fallible functions may return `ERROR_SENTINEL`.
//!
//! Adding a builtin to the language does *not* need an entry here: library builtins are
//! dispatched through `ilo_builtin` and the table in `builtins/mod.rs`. Entries here are
//! the operations compiled code performs directly (hot paths, control, sources, server).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    W,
    F,
    I,
    P,
}

#[derive(Clone, Copy, Debug)]
pub struct EntryPoint {
    pub name: &'static str,
    pub addr: *const u8,
    pub params: &'static [AbiType],
    pub ret: Option<AbiType>,
}

macro_rules! abi_ty {
    (W) => { u64 };
    (F) => { f64 };
    (I) => { i64 };
    (P) => { *mut u8 };
}

/// `#[no_mangle] extern "C" fn $name(a0, a1, …) -> r { $path(a0, a1, …) }`, one arm
/// per arity because `macro_rules` cannot mint parameter names.
macro_rules! export_symbol {
    (@fn $path:path => $name:ident [$($a:ident : $t:ident),*] $(-> $r:ident)?) => {
        #[no_mangle]
        pub extern "C" fn $name($($a: abi_ty!($t)),*) $(-> abi_ty!($r))? {
            $path($($a),*)
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
        /// Every runtime entry point, in one list.
        pub fn entry_points() -> Vec<EntryPoint> {
            vec![$(
                EntryPoint {
                    name: stringify!($name),
                    addr: ($path as extern "C" fn($(abi_ty!($p)),*) $(-> abi_ty!($r))?) as *const u8,
                    params: &[$(AbiType::$p),*],
                    ret: entry_points!(@ret $($r)?),
                },
            )*]
        }

        /// The same list as linkable symbols: one `#[no_mangle]` forwarder per entry,
        /// named as the entry, so AOT binaries resolve compiled code's imports from the
        /// static library by name (the JIT uses the addresses above instead).
        pub mod exports {
            $( export_symbol!($path => $name ( $($p),* ) $(-> $r)?); )*
        }
    };
    (@ret) => { None };
    (@ret $r:ident) => { Some(AbiType::$r) };
}

entry_points! {
    // ── values and reference counting (ops.rs) ──
    crate::ops::ilo_retain => ilo_retain(W);
    crate::ops::ilo_release => ilo_release(W);
    crate::ops::ilo_ctx => ilo_ctx() -> P;
    crate::ops::ilo_err_span => ilo_err_span(I);
    crate::ops::ilo_stack_overflow => ilo_stack_overflow() -> W;
    crate::ops::ilo_builtin => ilo_builtin(I, P, I) -> W;
    crate::ops::ilo_builtin_owned => ilo_builtin_owned(I, P, I, I) -> W;
    // ── codegen section: operations compiled code performs directly ──
    crate::ops::arith::ilo_add => ilo_add(W, W) -> W;
    crate::ops::arith::ilo_add_move => ilo_add_move(W, W) -> W;
    crate::ops::arith::ilo_arith => ilo_arith(W, W, I) -> W;
    crate::ops::arith::ilo_neg => ilo_neg(W) -> W;
    crate::ops::arith::ilo_compare => ilo_compare(W, W, I) -> W;
    crate::ops::arith::ilo_eq => ilo_eq(W, W) -> I;
    crate::ops::arith::ilo_truthy => ilo_truthy(W) -> I;
    crate::ops::arith::ilo_expect_num => ilo_expect_num(W) -> W;
    crate::ops::construct::ilo_text_lit => ilo_text_lit(P, P, I) -> W;
    crate::ops::construct::ilo_list_new => ilo_list_new(P, I) -> W;
    crate::ops::construct::ilo_append => ilo_append(W, W) -> W;
    crate::ops::construct::ilo_list_push_move => ilo_list_push_move(W, W) -> W;
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
    crate::ops::control::ilo_unwrap_move => ilo_unwrap_move(W) -> W;
    crate::ops::control::ilo_unwrap_panic => ilo_unwrap_panic(W) -> W;
    crate::ops::control::ilo_kind => ilo_kind(W) -> I;
    crate::ops::control::ilo_iter_next => ilo_iter_next(W, I) -> W;
    // ── line sources section ──
    crate::line_source::handle::ilo_source_next_line => ilo_source_next_line(W, P, P) -> I;
    crate::line_source::handle::ilo_source_error => ilo_source_error(W) -> W;
    crate::line_source::handle::ilo_source_ready => ilo_source_ready(W) -> I;
    crate::line_source::handle::ilo_source_close => ilo_source_close(W);
    crate::line_source::handle::ilo_source_next_text => ilo_source_next_text(W) -> W;
    // ── server section ──
    // (the HTTP server adds its entries here)
}
