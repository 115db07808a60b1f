//! The `--allow-read` / `--allow-write` gates on file paths.
//!
//! A path is judged by where it really leads, not by how it is spelled: it is made
//! absolute and every symlink and `..` in it resolved (`realpath`) before it is compared
//! with the allow-list, whose entries are resolved the same way when they are set. So
//! a symlink inside an allowed directory that points outside it is refused, and so is
//! `allowed/../secret`. The file actually opened is then checked once more by its
//! descriptor (`/proc/self/fd`), so a symlink swapped in between the check and the
//! open cannot slip through either.
//!
//! Without a restriction nothing is resolved: files open exactly as named.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::RwLock;

static ALLOW_READ: RwLock<Option<Vec<PathBuf>>> = RwLock::new(None);
static ALLOW_WRITE: RwLock<Option<Vec<PathBuf>>> = RwLock::new(None);

/// Why a file could not be opened: the gate said no, or the system did.
#[derive(Debug)]
pub enum OpenError {
    Denied(String),
    Io(io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Denied(m) => f.write_str(m),
            OpenError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Denied(_) => None,
            OpenError::Io(e) => Some(e),
        }
    }
}

#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

impl Access {
    fn list(self) -> &'static RwLock<Option<Vec<PathBuf>>> {
        match self {
            Access::Read => &ALLOW_READ,
            Access::Write => &ALLOW_WRITE,
        }
    }

    fn denied(self, path: &str) -> OpenError {
        let (what, flag) = match self {
            Access::Read => ("read", "--allow-read"),
            Access::Write => ("write", "--allow-write"),
        };
        OpenError::Denied(format!(
            "{what} access to '{path}' denied: not allowed by {flag}"
        ))
    }
}

/// Restrict file reads to these paths and everything below them; `None` lifts the
/// restriction.
pub fn set_allow_read(paths: Option<Vec<String>>) {
    set(Access::Read, paths);
}

/// Restrict file writes to these paths and everything below them; `None` lifts the
/// restriction.
pub fn set_allow_write(paths: Option<Vec<String>>) {
    set(Access::Write, paths);
}

fn set(access: Access, paths: Option<Vec<String>>) {
    let paths = paths.map(|ps| {
        ps.iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| resolve_existing(Path::new(p)))
            .collect()
    });
    *access.list().write().unwrap_or_else(|p| p.into_inner()) = paths;
}

/// Open `path` for reading, if `--allow-read` allows where it leads.
pub fn open_read(path: &str) -> Result<File, OpenError> {
    let Some(resolved) = resolve(Access::Read, path)? else {
        return File::open(path).map_err(OpenError::Io);
    };
    let file = File::open(&resolved).map_err(OpenError::Io)?;
    verify_opened(Access::Read, path, &file)?;
    Ok(file)
}

/// Where reading `path` would lead, if `--allow-read` allows it: the resolved path
/// under a restriction, the path as given without one. For sources that reopen the
/// path later (a followed file after rotation).
pub fn resolve_read(path: &str) -> Result<PathBuf, OpenError> {
    Ok(resolve(Access::Read, path)?.unwrap_or_else(|| PathBuf::from(path)))
}

/// Create or truncate `path` for writing, if `--allow-write` allows where it leads.
pub fn open_write(path: &str) -> Result<File, OpenError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let Some(resolved) = resolve(Access::Write, path)? else {
        return options.open(path).map_err(OpenError::Io);
    };
    // The final component was not a symlink when checked; refuse one made since.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let file = options.open(&resolved).map_err(OpenError::Io)?;
    verify_opened(Access::Write, path, &file)?;
    Ok(file)
}

/// `Ok(None)`: unrestricted. `Ok(Some(real))`: allowed, and `real` is where it leads.
fn resolve(access: Access, path: &str) -> Result<Option<PathBuf>, OpenError> {
    let guard = access.list().read().unwrap_or_else(|p| p.into_inner());
    let Some(allowed) = guard.as_ref() else {
        return Ok(None);
    };
    let real = match access {
        Access::Read => std::fs::canonicalize(path),
        Access::Write => resolve_for_create(Path::new(path)),
    };
    match real {
        Ok(real) if is_below(allowed, &real) => Ok(Some(real)),
        Ok(_) => Err(access.denied(path)),
        // Nothing there to resolve: report the system's error for names the list
        // would allow, and a denial for the rest (without revealing what exists).
        Err(e) if is_below(allowed, &lexical(Path::new(path))) => Err(OpenError::Io(e)),
        Err(_) => Err(access.denied(path)),
    }
}

/// A file to be written may not exist yet: resolve its directory, keep its name.
fn resolve_for_create(path: &Path) -> io::Result<PathBuf> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Ok(real);
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok(std::fs::canonicalize(parent)?.join(name))
}

/// The descriptor's own idea of its path must still be inside the list.
fn verify_opened(access: Access, path: &str, file: &File) -> Result<(), OpenError> {
    let Some(real) = descriptor_path(file) else {
        return Ok(());
    };
    let guard = access.list().read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(allowed) if !is_below(allowed, &real) => Err(access.denied(path)),
        _ => Ok(()),
    }
}

#[cfg(target_os = "linux")]
fn descriptor_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(not(target_os = "linux"))]
fn descriptor_path(_file: &File) -> Option<PathBuf> {
    None
}

fn is_below(allowed: &[PathBuf], real: &Path) -> bool {
    allowed.iter().any(|a| real.starts_with(a))
}

/// An allow-list entry: resolved if it exists, else made absolute lexically.
fn resolve_existing(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| lexical(path))
}

/// An absolute path with `.` and `..` resolved by name alone (for paths that do not
/// exist, which therefore contain no symlinks to follow).
fn lexical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_components_cannot_escape_an_allowed_directory() {
        let base = lexical(Path::new("/srv/data"));
        assert!(lexical(Path::new("/srv/data/x/../y.txt")).starts_with(&base));
        assert!(!lexical(Path::new("/srv/data/../secret")).starts_with(&base));
    }

    #[test]
    fn a_new_file_resolves_through_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = std::fs::canonicalize(dir.path()).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/tmp", &link).unwrap();
        let resolved = resolve_for_create(&link.join("new.txt")).unwrap();
        assert_eq!(
            resolved,
            std::fs::canonicalize("/tmp").unwrap().join("new.txt")
        );
        let inside = resolve_for_create(&dir.path().join("new.txt")).unwrap();
        assert_eq!(inside, real_dir.join("new.txt"));
    }
}
