//! Which host names mean "this machine's loopback": the one reading of a host that chatd's
//! `Host` check (DNS rebinding), chatctl's bearer-token lookup (the local token stays
//! local) and chatctl's autostart (where to start a daemon) each need.

use std::net::IpAddr;

/// A host that names loopback, by how it is known to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackHost {
    /// `localhost`, in any case.
    Localhost,
    /// A name under `.localhost` (`app.localhost`). RFC 6761 reserves them for loopback
    /// and browsers resolve them so themselves, but an operating system's resolver may
    /// ask DNS, whose answer could be any address: trust them for what a browser sent,
    /// not for where to send a secret.
    UnderLocalhost,
    /// A loopback IPv4 (`127.0.0.0/8`) or IPv6 (`::1`) literal.
    Address(IpAddr),
}

impl LoopbackHost {
    /// Whether connecting to this host reaches loopback whatever the resolver:
    /// everything but [`LoopbackHost::UnderLocalhost`].
    pub fn surely_local(self) -> bool {
        !matches!(self, LoopbackHost::UnderLocalhost)
    }
}

/// Reads `host` (a URL's host or a `Host` header's without its port; IPv6 in brackets or
/// bare) as a loopback host, or `None` when it names anything else. A trailing dot is the
/// caller's to remove: a client should not treat `localhost.` (a query some resolvers
/// send to DNS) as `localhost`.
pub fn loopback_host(host: &str) -> Option<LoopbackHost> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return Some(LoopbackHost::Localhost);
    }
    const SUFFIX: &str = ".localhost";
    let under_localhost = host.len() >= SUFFIX.len()
        && host
            .get(host.len() - SUFFIX.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(SUFFIX));
    if under_localhost {
        return Some(LoopbackHost::UnderLocalhost);
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Some(LoopbackHost::Address(ip)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_are_read_as_such() {
        let v4: IpAddr = "127.0.0.2".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        for (host, expected) in [
            ("localhost", LoopbackHost::Localhost),
            ("LocalHost", LoopbackHost::Localhost),
            ("app.localhost", LoopbackHost::UnderLocalhost),
            ("a.b.LOCALHOST", LoopbackHost::UnderLocalhost),
            ("127.0.0.2", LoopbackHost::Address(v4)),
            ("::1", LoopbackHost::Address(v6)),
            ("[::1]", LoopbackHost::Address(v6)),
        ] {
            assert_eq!(loopback_host(host), Some(expected), "{host}");
        }
    }

    #[test]
    fn other_hosts_are_not_loopback() {
        for host in [
            "",
            "localhost.evil.example",
            "evillocalhost",
            "localhost.",
            "10.0.0.1",
            "::2",
            "[::2]",
            "[::1",
            "0.0.0.0",
            "::",
            "example.com",
            "é.localhos",
        ] {
            assert_eq!(loopback_host(host), None, "{host}");
        }
    }

    #[test]
    fn only_names_under_localhost_depend_on_the_resolver() {
        assert!(loopback_host("localhost").is_some_and(LoopbackHost::surely_local));
        assert!(loopback_host("[::1]").is_some_and(LoopbackHost::surely_local));
        assert!(!loopback_host("app.localhost").is_some_and(LoopbackHost::surely_local));
    }
}
