//! The allow-list of web origins (CORS) as a setting: parsing `--cors-origin` patterns
//! and matching an `Origin` header against them. The HTTP guard (`routes::guard`) applies
//! them; they live with the settings so that the configuration needs nothing from the
//! HTTP layer. Also the one checker of `host[:port]` syntax, which the guard's `Host`
//! check uses too.

use std::net::Ipv6Addr;

/// The origins allowed when none are configured: pages served from this machine.
pub const DEFAULT_CORS_ORIGINS: [&str; 3] =
    ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// An allowed origin: `scheme://host[:port]`, where the port may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    port: PortRule,
}

/// Which ports of its host an origin pattern allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortRule {
    /// `host` alone: the origin must carry no port.
    Absent,
    /// `host:*`: any port from 1 to 65535, or none.
    Any,
    /// `host:3000`: that port only.
    Exactly(u16),
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("CORS origin {text:?} needs a scheme, e.g. http://localhost:*")
        })?;
        let malformed = || format!("CORS origin {text:?} is not scheme://host[:port]");
        let (authority, any_port) = match rest.strip_suffix(":*") {
            Some(authority) => (authority, true),
            None => (rest, false),
        };
        let (host, port) = split_authority(authority).ok_or_else(malformed)?;
        if !is_scheme(scheme) || host.is_empty() {
            return Err(malformed());
        }
        let port = match (any_port, port) {
            (true, None) => PortRule::Any,
            (true, Some(_)) => return Err(malformed()),
            (false, None) => PortRule::Absent,
            (false, Some(port)) => PortRule::Exactly(origin_port(port).ok_or_else(malformed)?),
        };
        Ok(OriginPattern {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether an `Origin` header value is this pattern's. The value must be a
    /// serialised origin as browsers send it (`scheme://host[:port]`, nothing else): a
    /// value with a path, user information or a port that is not a number is refused,
    /// whatever it starts with.
    pub fn matches(&self, origin: &str) -> bool {
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let Some((host, port)) = split_authority(rest) else {
            return false;
        };
        let port = match port.map(origin_port) {
            None => None,
            Some(Some(port)) => Some(port),
            // `:`, `:0`, `:abc`, `:99999`
            Some(None) => return false,
        };
        scheme.eq_ignore_ascii_case(&self.scheme)
            && host.eq_ignore_ascii_case(&self.host)
            && match self.port {
                PortRule::Absent => port.is_none(),
                PortRule::Any => true,
                PortRule::Exactly(expected) => port == Some(expected),
            }
    }
}

/// RFC 3986's `scheme`: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A port as an origin serialises it: 1 to 65535 in plain decimal, without leading
/// zeros (a browser never sends `:03000`, so only a forged header would).
fn origin_port(text: &str) -> Option<u16> {
    let port: u16 = text.parse().ok()?;
    (port != 0 && port.to_string() == text).then_some(port)
}

/// Splits `host[:port]` as HTTP writes an authority without user information, checking
/// it: the host is a name or IPv4 address of letters, digits, `-`, `.`, `_` and `~`, or
/// an IPv6 address in brackets (returned without them); the port, when there is a
/// colon, is digits (possibly none, which RFC 3986 allows). `None` for anything else:
/// `user@host`, a path, a bare IPv6 address, spaces, `%`-escapes.
pub fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (address, tail) = rest.split_once(']')?;
        address.parse::<Ipv6Addr>().ok()?;
        let port = match tail {
            "" => None,
            tail => Some(tail.strip_prefix(':')?),
        };
        (address, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !host.bytes().all(name_byte) {
            return None;
        }
        (host, port)
    };
    port.is_none_or(|port| port.bytes().all(|b| b.is_ascii_digit()))
        .then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_origin_patterns_are_refused() {
        for bad in [
            "http://localhost:abc",
            "http://localhost:0",
            "http://localhost:70000",
            "http://localhost:*:*",
            "http://user@localhost:*",
            "http://localhost/app",
            "http://:3000",
            "://localhost",
            "1http://localhost",
            "http://[::1:*",
        ] {
            let error = OriginPattern::parse(bad).unwrap_err();
            assert!(
                error.contains("is not scheme://host[:port]"),
                "{bad}: {error}"
            );
        }
        for good in [
            "http://localhost:*",
            "http://[::1]:*",
            "https://a.example:8443/",
        ] {
            assert!(OriginPattern::parse(good).is_ok(), "{good}");
        }
        assert!(OriginPattern::parse("localhost:3000").is_err());
    }

    #[test]
    fn ports_match_by_number_and_exactly() {
        let any = OriginPattern::parse("http://localhost:*").unwrap();
        assert!(any.matches("http://localhost"));
        assert!(any.matches("http://localhost:1"));
        assert!(any.matches("http://localhost:65535"));
        for forged in [
            "http://localhost:3000.evil.example",
            "http://localhost:abc",
            "http://localhost:",
            "http://localhost:0",
            "http://localhost:65536",
            "http://localhost:03000",
        ] {
            assert!(!any.matches(forged), "{forged}");
        }
        let fixed = OriginPattern::parse("http://localhost:3000").unwrap();
        assert!(fixed.matches("http://localhost:3000"));
        assert!(!fixed.matches("http://localhost:30000"));
        assert!(!fixed.matches("http://localhost"));
        let exact = OriginPattern::parse("https://chat.example.com").unwrap();
        assert!(exact.matches("https://chat.example.com"));
        assert!(!exact.matches("https://chat.example.com:8443"));
    }

    #[test]
    fn authorities_are_split_and_checked() {
        assert_eq!(
            split_authority("localhost:8000"),
            Some(("localhost", Some("8000")))
        );
        assert_eq!(split_authority("[::1]"), Some(("::1", None)));
        assert_eq!(split_authority("a.example:"), Some(("a.example", Some(""))));
        for bad in [
            "::1",
            "user@host",
            "host/path",
            "a b",
            "[::1",
            "[zz]:80",
            "h:8x",
        ] {
            assert_eq!(split_authority(bad), None, "{bad}");
        }
    }
}
