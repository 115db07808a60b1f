//! What a binary built with `ilo build` runs.
//!
//! The compiler emits, next to the program's code, a [`ProgramDesc`] (five words: a
//! version, the serialised [`Description`](crate::program::Description) and the
//! table of entry trampolines) and a C `main` that calls [`ilo_aot_main`] with it.
//! From there on an AOT binary and `ilo FILE` / `ilo httpd FILE` share every line of
//! the program contract in [`crate::program`].

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::program::render::DiagFormat;
use crate::program::{codec, command, server, EntryFn, Program};

/// Layout version of [`ProgramDesc`]; bumped whenever the compiler's emitted bytes
/// change meaning, so a mismatched runtime library fails loudly.
pub const DESC_VERSION: u64 = 1;

/// The descriptor the compiler emits, as five 64-bit words in this order.
#[repr(C)]
pub struct ProgramDesc {
    /// [`DESC_VERSION`].
    pub version: u64,
    /// The description, encoded by [`codec::encode`] (UTF-8, not NUL-terminated).
    pub meta: *const u8,
    pub meta_len: u64,
    /// One trampoline per function of the description, in the same order.
    pub entries: *const EntryFn,
    pub entry_count: u64,
}

/// Number of 64-bit words in a [`ProgramDesc`], for the emitter.
pub const DESC_WORDS: usize = 5;

/// Exit code when the binary itself is broken (bad descriptor, panic).
const EXIT_INTERNAL: c_int = 70;

/// The entry point the generated `main` calls: run the program as a command, or as a
/// server when the descriptor names a handler. Returns the process exit code.
///
/// # Safety
///
/// Its only caller is the generated C `main`: `argv` holds `argc` NUL-terminated
/// strings, as C's `main` receives them, and `desc` points at the descriptor the
/// compiler emitted into the same binary.
#[no_mangle]
pub unsafe extern "C" fn ilo_aot_main(
    argc: c_int,
    argv: *const *const c_char,
    desc: *const ProgramDesc,
) -> c_int {
    // SAFETY: `argv` holds `argc` NUL-terminated strings, as C's `main` receives them.
    let args = unsafe { collect_args(argc, argv) };
    // SAFETY: `desc` points at the descriptor the compiler emitted into this binary.
    let program = match unsafe { load(desc) } {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("ilo: {msg}");
            return EXIT_INTERNAL;
        }
    };
    match catch_unwind(AssertUnwindSafe(|| run(program, &args))) {
        Ok(code) => c_int::from(code),
        Err(_) => EXIT_INTERNAL,
    }
}

fn run(program: Program, args: &[String]) -> u8 {
    // Rust's own `main` ignores SIGPIPE so that writing to a closed pipe is an error,
    // not death; this `main` is C's, so do the same to behave like `ilo`.
    // SAFETY: installing SIG_IGN for SIGPIPE has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let format = DiagFormat::detect();
    match program.description.handler.clone() {
        Some(name) => match program.find(&name) {
            Some(index) => server::run(Arc::new(program), index, args, format),
            None => command::usage_error(&format!("no handler function '{name}'"), format),
        },
        None => command::run(&program, args, format),
    }
}

/// The arguments after the program name, lossily decoded as UTF-8.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings (or be null with `argc` ≤ 0).
unsafe fn collect_args(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let n = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (1..n)
        .filter_map(|i| {
            // SAFETY: i < argc, so argv[i] is one of the caller's strings.
            let p = unsafe { *argv.add(i) };
            // SAFETY: C strings from the loader are NUL-terminated.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

/// Decode the descriptor into a program.
///
/// # Safety
/// `desc` must point at a [`ProgramDesc`] whose pointers cover `meta_len` bytes and
/// `entry_count` trampolines that live for the whole process.
unsafe fn load(desc: *const ProgramDesc) -> Result<Program, String> {
    // SAFETY: guaranteed by the caller.
    let d = unsafe { desc.as_ref() }.ok_or("missing program descriptor")?;
    if d.version != DESC_VERSION {
        return Err(format!(
            "program descriptor version {} does not match the runtime library's {DESC_VERSION}; rebuild the binary with the matching ilo",
            d.version
        ));
    }
    // SAFETY: guaranteed by the caller: static bytes and a static table.
    let (meta, entries) = unsafe {
        (
            std::slice::from_raw_parts(d.meta, d.meta_len as usize),
            std::slice::from_raw_parts(d.entries, d.entry_count as usize),
        )
    };
    let text = std::str::from_utf8(meta).map_err(|e| format!("bad program descriptor: {e}"))?;
    Program::new(codec::decode(text)?, entries.to_vec())
}
