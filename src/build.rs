//! `ilo build FILE -o OUT [--httpd] [--fn NAME]`: compile a program ahead of time
//! into a standalone executable.
//!
//! The front end is the one `ilo check` runs; the code comes from the JIT's code
//! generator writing into an object file (`ilo_compiler::codegen::aot`); the system C
//! compiler links that object with the runtime's static library. A file with a
//! `handler` function (or `--httpd`, or `--fn NAME`) becomes a server that takes the
//! flags of `ilo httpd`; any other program becomes a command that takes the
//! arguments of `ilo FILE`.
//!
//! Nothing is written to OUT unless every step succeeded: the executable is linked in
//! a scratch directory and moved into place at the end.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use ilo_compiler::codegen::aot;
use ilo_runtime::program::{server, Description};

use crate::check::{front_end, ProgramSource};
use crate::report::{Reporter, EXIT_COMPILE_ERROR, EXIT_PROGRAM_ERROR};

/// Environment variable that points at the static library explicitly.
const RUNTIME_LIB_ENV: &str = "ILO_RUNTIME_LIB";

pub struct BuildRequest<'a> {
    pub file: &'a str,
    pub out: &'a Path,
    /// Build a server even without a function named `handler`.
    pub httpd: bool,
    /// The function to serve (implies a server).
    pub func: Option<&'a str>,
}

pub fn build(req: &BuildRequest<'_>, reporter: &Reporter) -> ExitCode {
    let path = Path::new(req.file);
    if !path.is_file() {
        return reporter.usage_error(&format!("no such file: '{}'", req.file));
    }
    let (checked, sources) = match front_end(ProgramSource::File(path), reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let functions = Description {
        functions: aot::function_infos(&checked),
        ..Description::default()
    };
    let handler = if req.httpd || req.func.is_some() || server::has_named_handler(&functions) {
        match server::pick_handler(&functions, req.func) {
            Ok(i) => Some(functions.functions[i].name.clone()),
            Err(msg) => return reporter.usage_error(&msg),
        }
    } else {
        None
    };
    let runtime_lib = match find_runtime_lib() {
        Ok(p) => p,
        Err(msg) => return failure(&msg),
    };
    let object = match aot::compile_object(&checked, &sources, handler.as_deref()) {
        Ok(o) => o,
        Err(diags) => {
            reporter.diagnostics(&diags, &sources);
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    if let Err(msg) = link(&object, &runtime_lib, req.out) {
        return failure(&msg);
    }
    let size = fs::metadata(req.out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built {} ({:.1} MiB{})",
        req.out.display(),
        size as f64 / (1024.0 * 1024.0),
        if handler.is_some() { ", server" } else { "" }
    );
    ExitCode::SUCCESS
}

/// A build failure that is not about the program (toolchain, files): exit 1.
fn failure(message: &str) -> ExitCode {
    eprintln!("ilo build: {message}");
    ExitCode::from(EXIT_PROGRAM_ERROR)
}

/// `$ILO_RUNTIME_LIB` when set (a library built separately), else the copy carried
/// inside this binary ([`crate::runtime_lib`]).
fn find_runtime_lib() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(RUNTIME_LIB_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "{RUNTIME_LIB_ENV} names '{}', which is not a file",
                p.display()
            ))
        };
    }
    crate::runtime_lib::extracted()
}

/// Link `object` with the runtime into `out` using the system C compiler (`$CC`,
/// else `cc`), with unused sections dropped and symbols stripped.
fn link(object: &[u8], runtime_lib: &Path, out: &Path) -> Result<(), String> {
    let scratch = tempfile::Builder::new()
        .prefix("ilo-build")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let obj_path = scratch.path().join("program.o");
    fs::write(&obj_path, object).map_err(|e| format!("cannot write the object file: {e}"))?;
    let linked = scratch.path().join("program");
    let cc = std::env::var_os("CC")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| OsString::from("cc"));
    let output = Command::new(&cc)
        .arg(&obj_path)
        .arg(runtime_lib)
        .args(["-lpthread", "-ldl", "-lm", "-lrt", "-lutil"])
        .args(["-Wl,--gc-sections", "-s", "-o"])
        .arg(&linked)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "no C compiler found ('{}'); ilo build links with the system C compiler: \
                 install one (for example gcc or clang) or set CC",
                cc.to_string_lossy()
            ),
            _ => format!("cannot run the C compiler '{}': {e}", cc.to_string_lossy()),
        })?;
    if !output.status.success() {
        return Err(format!(
            "linking failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    place(&linked, out)
}

/// Move the linked executable to `out` (copying when it is on another file system).
fn place(linked: &Path, out: &Path) -> Result<(), String> {
    if fs::rename(linked, out).is_ok() {
        return Ok(());
    }
    fs::copy(linked, out)
        .map(|_| ())
        .map_err(|e| format!("cannot write '{}': {e}", out.display()))
}
