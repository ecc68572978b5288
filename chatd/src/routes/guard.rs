//! Who may talk to chatd. Every web page the user opens can send requests to a daemon on
//! localhost, so before a request reaches a handler:
//!
//! - On a loopback bind, the `Host` header must name a loopback address, `localhost` or a
//!   configured name. A page on `evil.example` that rebinds its DNS name to 127.0.0.1
//!   still sends `Host: evil.example`, so this is what stops DNS rebinding (the attack of
//!   Ollama's CVE-2024-28224).
//! - A request carrying an `Origin` must come from an allowed origin (by default pages
//!   served from localhost); preflights from those are answered, others are refused.
//!   Credentials are never allowed, so the allow-list never meets a wildcard.
//! - On a non-loopback bind, every request needs `Authorization: Bearer <token>`,
//!   compared in constant time.

use subtle::ConstantTimeEq;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;

/// The origins allowed when none are configured: pages served from this machine.
pub const DEFAULT_CORS_ORIGINS: &[&str] =
    &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// An allowed origin: `scheme://host[:port]`, where the port may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    /// `None` matches any port (and no port).
    port: Option<String>,
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("CORS origin {text:?} needs a scheme, e.g. http://localhost:*")
        })?;
        let (host, port) = split_host_port(rest);
        if host.is_empty() || rest.contains('/') {
            return Err(format!("CORS origin {text:?} is not scheme://host[:port]"));
        }
        let port = match port {
            Some("*") => None,
            Some(port) => Some(port.to_string()),
            None => Some(String::new()),
        };
        Ok(OriginPattern {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn matches(&self, origin: &str) -> bool {
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let (host, port) = split_host_port(rest);
        scheme.eq_ignore_ascii_case(&self.scheme)
            && host.eq_ignore_ascii_case(&self.host)
            && match &self.port {
                None => true,
                Some(expected) => port.unwrap_or("") == expected,
            }
    }
}

/// `host:port`, `[v6]:port`, `host` or `[v6]` → (host without brackets, port).
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    }
}

/// The access rules of one running chatd.
#[derive(Clone, Default)]
pub struct Guard {
    /// `Some` on a loopback bind: the extra host names allowed besides loopback ones.
    pub allowed_hosts: Option<Vec<String>>,
    pub cors_origins: Vec<OriginPattern>,
    /// Required on every request when set (non-loopback binds).
    pub token: Option<String>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("cors_origins", &self.cors_origins)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What the guard decided about a request.
pub enum Verdict {
    /// Go on; add these CORS headers to the response (an allowed `Origin`, if any).
    Pass { allowed_origin: Option<HeaderValue> },
    /// Answer with this instead.
    Answer(Response),
}

impl Guard {
    /// Checks a request; `route_allow` lists the methods of the route its path matched,
    /// `None` for an unknown path (which gets no preflight answer, so it ends in a 404).
    pub fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        route_allow: Option<&str>,
    ) -> Verdict {
        if let Err(error) = self.check_host(headers) {
            return Verdict::Answer(error.into_response());
        }
        let origin = headers.get(header::ORIGIN);
        let allowed_origin = match origin {
            None => None,
            Some(value) => {
                let allowed = value
                    .to_str()
                    .is_ok_and(|text| self.cors_origins.iter().any(|p| p.matches(text)));
                if !allowed {
                    return Verdict::Answer(
                        ApiError::detail(StatusCode::FORBIDDEN, "Origin not allowed")
                            .into_response(),
                    );
                }
                Some(value.clone())
            }
        };
        if let Some(origin) = &allowed_origin
            && let Some(route_allow) = route_allow
            && method == Method::OPTIONS
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Verdict::Answer(preflight(origin, route_allow));
        }
        if let Some(expected) = &self.token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            let same: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
            if !same {
                let mut response =
                    ApiError::detail(StatusCode::UNAUTHORIZED, "Not authenticated").into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                if let Some(origin) = &allowed_origin {
                    add_cors_headers(&mut response, origin);
                }
                return Verdict::Answer(response);
            }
        }
        Verdict::Pass { allowed_origin }
    }

    fn check_host(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(extra) = &self.allowed_hosts else {
            return Ok(());
        };
        // HTTP/1.0 clients may send no Host; browsers always send one, so a request
        // without it cannot be a rebinding page.
        let Some(value) = headers.get(header::HOST) else {
            return Ok(());
        };
        let text = value.to_str().unwrap_or("");
        let (host, _) = split_host_port(text);
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        // Names under `.localhost` count: the browser that sent them resolved them to
        // loopback itself.
        let loopback = common::loopback::loopback_host(&host).is_some();
        if loopback || extra.iter().any(|name| name.eq_ignore_ascii_case(&host)) {
            return Ok(());
        }
        Err(ApiError::detail(
            StatusCode::FORBIDDEN,
            format!(
                "Host {text:?} is not allowed: chatd answers to localhost names only \
                 (add the name with --allowed-host)"
            ),
        ))
    }
}

fn preflight(origin: &HeaderValue, route_allow: &str) -> Response {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    add_cors_headers(&mut response, origin);
    let headers = response.headers_mut();
    let methods = if route_allow == "POST" {
        "POST, OPTIONS"
    } else {
        "GET, HEAD, OPTIONS"
    };
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization, accept, last-event-id"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

/// Lets the allowed origin read the response. No `Allow-Credentials`: chatd uses no
/// cookies, and an echoed origin with credentials is what must never be offered.
pub fn add_cors_headers(response: &mut Response, origin: &HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            allowed_hosts: Some(vec!["chat.internal".into()]),
            cors_origins: DEFAULT_CORS_ORIGINS
                .iter()
                .map(|o| OriginPattern::parse(o).unwrap())
                .collect(),
            token: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn status(verdict: Verdict) -> Option<StatusCode> {
        match verdict {
            Verdict::Pass { .. } => None,
            Verdict::Answer(response) => Some(response.status()),
        }
    }

    #[test]
    fn loopback_hosts_pass_and_others_are_refused() {
        let guard = guard();
        for host in [
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "127.0.0.2",
            "app.localhost",
            "chat.internal:80",
            "LOCALHOST.",
        ] {
            assert_eq!(
                status(guard.check(&Method::GET, &headers(&[("host", host)]), Some("GET"))),
                None,
                "{host}"
            );
        }
        for host in [
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "10.0.0.1:8000",
            "[::2]:8000",
        ] {
            assert_eq!(
                status(guard.check(&Method::GET, &headers(&[("host", host)]), Some("GET"))),
                Some(StatusCode::FORBIDDEN),
                "{host}"
            );
        }
    }

    #[test]
    fn origins_are_matched_by_scheme_host_and_port() {
        let guard = guard();
        let ok = |origin: &str| {
            status(guard.check(
                &Method::GET,
                &headers(&[("host", "localhost"), ("origin", origin)]),
                Some("GET"),
            ))
            .is_none()
        };
        assert!(ok("http://localhost:3000"));
        assert!(ok("http://127.0.0.1:5173"));
        assert!(ok("http://localhost"));
        assert!(ok("http://[::1]:8080"));
        assert!(!ok("https://evil.example"));
        assert!(!ok("http://localhost.evil.example:3000"));
        assert!(!ok("null"));
        let exact = OriginPattern::parse("https://chat.example.com").unwrap();
        assert!(exact.matches("https://chat.example.com"));
        assert!(!exact.matches("https://chat.example.com:8443"));
        assert!(OriginPattern::parse("localhost:3000").is_err());
    }

    #[test]
    fn preflights_from_allowed_origins_are_answered() {
        let guard = guard();
        let request = headers(&[
            ("host", "localhost:8000"),
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
        ]);
        let Verdict::Answer(response) = guard.check(&Method::OPTIONS, &request, Some("POST"))
        else {
            panic!("a preflight is answered by the guard");
        };
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }

    #[test]
    fn the_token_is_required_when_set() {
        let mut guard = guard();
        guard.allowed_hosts = None;
        guard.token = Some("s3cret".into());
        let without = headers(&[("host", "10.0.0.5:8000")]);
        assert_eq!(
            status(guard.check(&Method::GET, &without, Some("GET"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        let wrong = headers(&[("authorization", "Bearer s3cre")]);
        assert_eq!(
            status(guard.check(&Method::GET, &wrong, Some("GET"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        let right = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(status(guard.check(&Method::GET, &right, Some("GET"))), None);
    }
}
