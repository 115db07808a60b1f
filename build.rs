//! Two jobs before the `ilo` binary is compiled:
//!
//! - regenerate ai.txt (the compact specification `ilo help ai` prints) from SPEC.md
//!   whenever SPEC.md changes. The file is written into the source tree so that it is
//!   committed alongside the specification; a test fails when the committed pair
//!   differ;
//! - build the runtime's static library, which `ilo build` links programs with, so
//!   that `src/build.rs` can carry it inside the binary: an `ilo` installed with
//!   `cargo install` then needs nothing beside it. It is a separate cargo run into a
//!   directory of its own under OUT_DIR (a build script cannot use an artifact of the
//!   build it belongs to), with the same profile and no debug information, which
//!   `ilo build` strips anyway.

#[path = "src/ai_txt.rs"]
mod ai_txt;

use std::collections::hash_map::DefaultHasher;
use std::env;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    regenerate_ai_txt(root);
    let lib = build_runtime_lib(root);
    println!("cargo:rustc-env=ILO_EMBEDDED_RUNTIME={}", lib.display());
    // Names the copy `ilo build` writes to its cache, so a changed library never
    // reuses a stale copy.
    let bytes = match fs::read(&lib) {
        Ok(b) => b,
        Err(e) => panic!("cannot read {}: {e}", lib.display()),
    };
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    println!(
        "cargo:rustc-env=ILO_EMBEDDED_RUNTIME_ID={:016x}",
        hasher.finish()
    );
}

fn regenerate_ai_txt(root: &Path) {
    println!("cargo:rerun-if-changed=SPEC.md");
    println!("cargo:rerun-if-changed=src/ai_txt.rs");
    let spec = match fs::read_to_string(root.join("SPEC.md")) {
        Ok(s) => s,
        Err(e) => panic!("cannot read SPEC.md: {e}"),
    };
    let compact = ai_txt::compact(&spec);
    let target = root.join("ai.txt");
    // Write only on change, so an unchanged tree stays untouched (and rebuilds stay quiet).
    if fs::read_to_string(&target).ok().as_deref() != Some(compact.as_str()) {
        if let Err(e) = fs::write(&target, compact) {
            panic!("cannot write ai.txt: {e}");
        }
    }
}

/// `cargo build -p ilo-runtime --lib` into OUT_DIR; the path of `libilo_runtime.a`.
fn build_runtime_lib(root: &Path) -> PathBuf {
    println!("cargo:rerun-if-changed=runtime");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let target_dir = out.join("runtime-lib");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(["--lib", "-p", "ilo-runtime", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    if release {
        cmd.arg("--release");
    }
    // Share the outer build's job slots instead of starting as many jobs again.
    if let Some(flags) = env::var_os("CARGO_MAKEFLAGS") {
        cmd.env("MAKEFLAGS", flags);
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("building the runtime library for `ilo build` failed ({s})"),
        Err(e) => panic!("cannot run cargo to build the runtime library: {e}"),
    }
    let lib = target_dir
        .join(if release { "release" } else { "debug" })
        .join("libilo_runtime.a");
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}
