//! The parts of an `http://` or `https://` URL a client needs, and resolving a
//! redirect's `Location` against it.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    /// Host name or address; IPv6 addresses keep their brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, always starting with `/`; no fragment.
    pub target: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let invalid = || format!("invalid URL: {text}");
        let (scheme, rest) = text.split_once("://").ok_or_else(invalid)?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => return Err(format!("unsupported URL scheme '{other}' in {text}")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        // Credentials in the URL are not supported; ignore them rather than send them.
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = split_host_port(authority).ok_or_else(invalid)?;
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(invalid());
        }
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        if target.contains(char::is_whitespace) {
            return Err(invalid());
        }
        Ok(Url {
            tls,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if tls { 443 } else { 80 }),
            target,
        })
    }

    /// `host` or `host:port` when the port is not the scheme's default: the `Host`
    /// header, and what capability checks compare.
    pub fn authority(&self) -> String {
        if self.port == if self.tls { 443 } else { 80 } {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host as the resolver and TLS want it: IPv6 without brackets.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The URL a redirect's `Location` names, relative to this one.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        if location.contains("://") {
            return Url::parse(location);
        }
        let scheme = if self.tls { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let target = if location.starts_with('/') {
            location.to_string()
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Url::parse(&format!("{scheme}://{}{target}", self.authority()))
    }
}

/// `host[:port]` with `[v6]` brackets kept on the host.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            r => (host, Some(r.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse().ok()?),
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_parts() {
        let u = Url::parse("HTTP://Example.org:8080/a/b?q=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
                tls: false,
                host: "example.org".into(),
                port: 8080,
                target: "/a/b?q=1".into()
            }
        );
        assert_eq!(u.authority(), "example.org:8080");
        let u = Url::parse("https://[::1]?x").unwrap();
        assert_eq!(
            (u.bare_host(), u.port, u.target.as_str()),
            ("::1", 443, "/?x")
        );
        assert_eq!(u.authority(), "[::1]");
    }

    #[test]
    fn rejects_what_it_cannot_fetch() {
        assert!(Url::parse("ftp://x/")
            .unwrap_err()
            .contains("unsupported URL scheme"));
        assert!(Url::parse("example.org").is_err());
        assert!(Url::parse("http://:80/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
    }

    #[test]
    fn joins_redirect_locations() {
        let base = Url::parse("http://h:81/a/b?x").unwrap();
        assert_eq!(base.join("/c").unwrap().target, "/c");
        assert_eq!(base.join("c?y").unwrap().target, "/a/c?y");
        assert_eq!(base.join("c").unwrap().port, 81);
        assert_eq!(base.join("//other/z").unwrap().host, "other");
        assert!(base.join("https://s/").unwrap().tls);
    }
}
