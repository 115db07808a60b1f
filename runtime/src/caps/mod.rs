//! Capabilities: which hosts network sources may reach, which paths file builtins and
//! sources may read or write, and which environment variables `env` may see.
//!
//! All are process-global and allow everything until the command line restricts them
//! (`--allow-net=HOST,…`, `--allow-read=PATH,…`, `--allow-write=PATH,…`,
//! `--allow-env=NAME,…`; an empty list allows nothing). A check runs before any
//! socket or file is opened, so a denied operation never touches the outside world;
//! its error names the flag that would allow it. Path rules are in [`paths`].

mod paths;

use std::sync::RwLock;

pub use paths::{open_read, open_write, resolve_read, set_allow_read, set_allow_write, OpenError};

/// `None`: everything allowed. `Some(list)`: only what the list names.
static ALLOW_NET: RwLock<Option<Vec<String>>> = RwLock::new(None);
static ALLOW_ENV: RwLock<Option<Vec<String>>> = RwLock::new(None);

/// Split a flag value such as `--allow-net=a,b:8080` into its entries.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The capability flags, each taking a comma-separated list after `=`.
pub const FLAGS: &[&str] = &[
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
];

/// Apply one `--allow-KIND=LIST` flag (`net`, `read`, `write` or `env`). Returns
/// `false` for a flag that is not a capability, so command lines can share this.
pub fn apply_flag(flag: &str, value: &str) -> bool {
    let list = Some(split_list(value));
    match flag {
        "--allow-net" => set_allow_net(list),
        "--allow-read" => set_allow_read(list),
        "--allow-write" => set_allow_write(list),
        "--allow-env" => set_allow_env(list),
        _ => return false,
    }
    true
}

/// Apply the capability flags (`--allow-read=…` form) at the front of a built
/// command's arguments and return the rest, which belong to the program.
pub fn apply_leading_flags(args: &[String]) -> &[String] {
    let taken = args
        .iter()
        .take_while(|a| {
            a.split_once('=')
                .is_some_and(|(flag, value)| apply_flag(flag, value))
        })
        .count();
    &args[taken..]
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

/// Restrict `env` to these variable names (exact, case-sensitive); `None` lifts the
/// restriction.
pub fn set_allow_env(names: Option<Vec<String>>) {
    *ALLOW_ENV.write().unwrap_or_else(|p| p.into_inner()) = names;
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

/// May `env` read variable `name`?
pub fn check_env(name: &str) -> Result<(), String> {
    let guard = ALLOW_ENV.read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(allowed) if !allowed.iter().any(|a| a == name) => Err(format!(
            "env access to '{name}' denied: not allowed by --allow-env"
        )),
        _ => Ok(()),
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
    fn only_capability_flags_are_applied() {
        assert!(!apply_flag("--port", "8080"));
        assert!(!apply_flag("--allow-everything", ""));
    }
}
