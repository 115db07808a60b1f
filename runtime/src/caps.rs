//! Capabilities: which hosts network sources may reach and which paths file sources
//! may read.
//!
//! Both are process-global and allow everything until the command line restricts them
//! (`--allow-net=HOST,…`, `--allow-read=PATH,…`). A check runs before any socket or file
//! is opened, so a denied source never touches the outside world; its error names the
//! flag that would allow it.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// `None`: everything allowed. `Some(list)`: only what the list names.
static ALLOW_NET: RwLock<Option<Vec<String>>> = RwLock::new(None);
static ALLOW_READ: RwLock<Option<Vec<PathBuf>>> = RwLock::new(None);

/// Split a flag value such as `--allow-net=a,b:8080` into its entries.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Restrict network sources to these hosts (`HOST` or `HOST:PORT` entries); `None`
/// lifts the restriction.
pub fn set_allow_net(hosts: Option<Vec<String>>) {
    let hosts = hosts.map(|hs| {
        hs.iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    });
    *ALLOW_NET.write().unwrap_or_else(|p| p.into_inner()) = hosts;
}

/// Restrict file sources to these paths and everything below them; `None` lifts the
/// restriction.
pub fn set_allow_read(paths: Option<Vec<String>>) {
    let paths = paths.map(|ps| {
        ps.iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| normalise(Path::new(p.trim())))
            .collect()
    });
    *ALLOW_READ.write().unwrap_or_else(|p| p.into_inner()) = paths;
}

/// May a network source connect to `host` (optionally `host:port`)?
///
/// An allow-list entry without a port allows every port of that host; one with a port
/// allows only that port.
pub fn check_net(host: &str) -> Result<(), String> {
    let guard = ALLOW_NET.read().unwrap_or_else(|p| p.into_inner());
    let Some(allowed) = guard.as_ref() else {
        return Ok(());
    };
    let wanted = host.to_ascii_lowercase();
    let bare = strip_port(&wanted);
    if allowed.iter().any(|a| *a == wanted || *a == bare) {
        Ok(())
    } else {
        Err(format!(
            "network access to '{bare}' denied: not allowed by --allow-net"
        ))
    }
}

/// May a file source read `path`?
pub fn check_read(path: &str) -> Result<(), String> {
    let guard = ALLOW_READ.read().unwrap_or_else(|p| p.into_inner());
    let Some(allowed) = guard.as_ref() else {
        return Ok(());
    };
    let wanted = normalise(Path::new(path));
    if allowed.iter().any(|a| wanted.starts_with(a)) {
        Ok(())
    } else {
        Err(format!(
            "read access to '{path}' denied: not allowed by --allow-read"
        ))
    }
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`; anything else unchanged.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        // Exactly one colon: a port. More colons: a bare IPv6 address.
        Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// An absolute path with `.` and `..` resolved lexically, so `allowed/../secret` cannot
/// slip past a prefix check. Symlinks are not followed: the allow-list is about names.
fn normalise(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_only_where_unambiguous() {
        assert_eq!(strip_port("example.org:8080"), "example.org");
        assert_eq!(strip_port("example.org"), "example.org");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
    }

    #[test]
    fn parent_components_cannot_escape_an_allowed_directory() {
        let base = normalise(Path::new("/srv/data"));
        assert!(normalise(Path::new("/srv/data/x/../y.txt")).starts_with(&base));
        assert!(!normalise(Path::new("/srv/data/../secret")).starts_with(&base));
    }
}
