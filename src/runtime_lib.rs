//! The runtime's static library, carried inside the `ilo` binary (the build script
//! builds it; see build.rs) and written to a cache the first time `ilo build` needs a
//! file to give the linker. An `ilo` installed with `cargo install` therefore links
//! programs with nothing beside it and nothing to set.
//!
//! The cache is `$XDG_CACHE_HOME/ilo`, else `~/.cache/ilo`, else a directory in the
//! system's temporary directory. The file name carries a hash of the library, so
//! different `ilo` versions never share a stale copy, and it is written under a
//! temporary name and renamed into place, so concurrent builds never see half of it.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

static EMBEDDED: &[u8] = include_bytes!(env!("ILO_EMBEDDED_RUNTIME"));
const ID: &str = env!("ILO_EMBEDDED_RUNTIME_ID");

/// The path of the embedded library as a file, writing it first if needed.
pub fn extracted() -> Result<PathBuf, String> {
    let dir = cache_dir();
    let path = dir.join(format!("libilo_runtime-{ID}.a"));
    let complete = fs::metadata(&path).is_ok_and(|m| m.len() == EMBEDDED.len() as u64);
    if complete {
        return Ok(path);
    }
    fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the cache directory '{}': {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| {
        format!(
            "cannot write to the cache directory '{}': {e}",
            dir.display()
        )
    })?;
    tmp.write_all(EMBEDDED).map_err(|e| {
        format!(
            "cannot write the runtime library to '{}': {e}",
            dir.display()
        )
    })?;
    tmp.persist(&path).map_err(|e| {
        format!(
            "cannot place the runtime library at '{}': {e}",
            path.display()
        )
    })?;
    Ok(path)
}

fn cache_dir() -> PathBuf {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = from_env("XDG_CACHE_HOME") {
        return xdg.join("ilo");
    }
    if let Some(home) = from_env("HOME") {
        return home.join(".cache").join("ilo");
    }
    std::env::temp_dir().join("ilo-cache")
}
