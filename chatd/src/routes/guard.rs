//! Who may talk to chatd. Every web page the user opens can send requests to a daemon on
//! localhost, so before a request reaches a handler:
//!
//! - Every request carries exactly one valid `Host` (400 otherwise). On a loopback bind
//!   it, and the authority of an absolute-form target if one is sent, must name a
//!   loopback address, `localhost` or a configured name. A page on `evil.example` that
//!   rebinds its DNS name to 127.0.0.1 still sends `Host: evil.example`, so this is what
//!   stops DNS rebinding (the attack of Ollama's CVE-2024-28224).
//! - A request carrying an `Origin` must come from an allowed origin (by default pages
//!   served from localhost); preflights from those are answered, others are refused.
//!   Credentials are never allowed, so the allow-list never meets a wildcard.
//! - On a non-loopback bind, every request needs `Authorization: Bearer <token>`,
//!   compared in constant time.

use subtle::ConstantTimeEq;
use warp::http::uri::Authority;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use crate::config::origin::{OriginPattern, split_authority};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The authority of a request's target when the client sent it in absolute form
/// (`GET http://host/path HTTP/1.1`). warp shows handlers only the path, so the server
/// puts this into the request's extensions before warp sees the request.
#[derive(Debug, Clone)]
pub struct TargetAuthority(pub Authority);

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
    /// Checks a request; `target` is the authority of an absolute-form request target,
    /// `route_allow` lists the methods of the route its path matched, `None` for an
    /// unknown path (which gets no preflight answer, so it ends in a 404).
    pub fn check(
        &self,
        method: &Method,
        target: Option<&Authority>,
        headers: &HeaderMap,
        route_allow: Option<&str>,
    ) -> Verdict {
        if let Err(error) = self.check_host(target, headers) {
            return Verdict::Answer(error.into_response());
        }
        let origin = headers.get(header::ORIGIN);
        let allowed_origin = match origin {
            None => None,
            Some(value) => {
                let allowed = value.to_str().is_ok_and(|text| {
                    self.cors_origins.iter().any(|p| p.matches(text))
                        || (self.allowed_hosts.is_some() && is_same_origin(text, headers))
                });
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

    /// Every request needs exactly one valid `Host` (RFC 9112 §3.2: a server answers 400
    /// otherwise), on any bind. On a loopback bind the host it is for must then be a
    /// loopback one or a configured name: the authority of an absolute-form target
    /// (`GET http://host/path`), which RFC 9112 §3.2.2 makes the request's host, and
    /// the `Host` header too. Only a proxy-minded client sends the absolute form, and
    /// one whose target and `Host` disagree is refused rather than trusted either way.
    fn check_host(&self, target: Option<&Authority>, headers: &HeaderMap) -> Result<(), ApiError> {
        let bad_request = |text: String| Err(ApiError::detail(StatusCode::BAD_REQUEST, text));
        let mut values = headers.get_all(header::HOST).iter();
        let value = match (values.next(), values.next()) {
            (Some(value), None) => value,
            (None, _) => {
                return bad_request(
                    "The request has no Host header; send exactly one (RFC 9112 §3.2)".into(),
                );
            }
            (Some(_), Some(_)) => {
                return bad_request(
                    "The request has more than one Host header; send exactly one (RFC 9112 §3.2)"
                        .into(),
                );
            }
        };
        let Some(host_header) = value
            .to_str()
            .ok()
            .filter(|text| split_authority(text).is_some())
        else {
            return bad_request(format!(
                "The Host header {:?} is not a valid host[:port]",
                String::from_utf8_lossy(value.as_bytes())
            ));
        };
        // `Authority` accepts `user@host`, which names no host of ours.
        if let Some(authority) = target
            && split_authority(authority.as_str()).is_none()
        {
            return bad_request(format!(
                "The request target's authority {:?} is not a valid host[:port]",
                authority.as_str()
            ));
        }
        let Some(extra) = &self.allowed_hosts else {
            return Ok(());
        };
        let judged = target
            .map(|authority| ("The request target's host", authority.as_str()))
            .into_iter()
            .chain([("Host", host_header)]);
        for (what, text) in judged {
            if !is_allowed_host(text, extra) {
                return Err(ApiError::detail(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{what} {text:?} is not allowed: chatd answers to localhost names \
                         only (add the name with --allowed-host)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether an authority (already checked by `split_authority`) names a loopback host or
/// one of the `extra` names.
fn is_allowed_host(authority: &str, extra: &[String]) -> bool {
    let Some((host, _)) = split_authority(authority) else {
        return false;
    };
    let host = host.trim_end_matches('.');
    // Names under `.localhost` count: the browser that sent them resolved them to
    // loopback itself.
    common::loopback::loopback_host(host).is_some()
        || extra.iter().any(|name| name.eq_ignore_ascii_case(host))
}

/// Whether `origin` is the origin of this very server, as the request's `Host` (already
/// checked) names it: `http://<Host>`. chatd's own page sends that `Origin` on every
/// `POST`, and a page chatd served is no stranger, even when `--cors-origin` lists only
/// other origins. Only on a loopback bind, where a page elsewhere cannot forge it: its
/// `Host` names loopback only if it really is on this address and port (a rebound name
/// fails the `Host` check first).
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

fn preflight(origin: &HeaderValue, route_allow: &str) -> Response {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    add_cors_headers(&mut response, origin);
    let headers = response.headers_mut();
    // The route's `Allow` list is ASCII method names, always a valid header value.
    if let Ok(methods) = HeaderValue::from_str(&format!("{route_allow}, OPTIONS")) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "content-type, authorization, accept, last-event-id, x-chatd-user",
        ),
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
    use crate::config::origin::DEFAULT_CORS_ORIGINS;

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
                status(guard.check(&Method::GET, None, &headers(&[("host", host)]), Some("GET"))),
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
                status(guard.check(&Method::GET, None, &headers(&[("host", host)]), Some("GET"))),
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
                None,
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
        // A `*` port is a number, not any text after the colon.
        for forged in [
            "http://localhost:3000.evil.example",
            "http://localhost:abc",
            "http://localhost:",
            "http://localhost:0",
            "http://localhost:65536",
            "http://localhost:03000",
            "http://localhost:3000/",
            "http://localhost:3000/path",
            "http://user@localhost:3000",
            "http://localhost@evil.example",
            "http://localhost:3000?x",
            "http://localhost:3000#x",
            "http://localhost :3000",
            "http://[::1",
            "http://::1:3000",
            "http://localhost:3000:4000",
        ] {
            assert!(!ok(forged), "{forged}");
        }
        assert!(ok("http://localhost:65535"));
        assert!(ok("http://localhost:1"));
    }

    #[test]
    fn chatds_own_origin_passes_whatever_the_allow_list() {
        let mut guard = guard();
        guard.cors_origins = vec![OriginPattern::parse("https://chat.example.com").unwrap()];
        let own = headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000"),
        ]);
        assert_eq!(
            status(guard.check(&Method::POST, None, &own, Some("POST"))),
            None
        );
        for (host, origin) in [
            ("127.0.0.1:8000", "http://127.0.0.1:8001"),
            ("127.0.0.1:8000", "https://127.0.0.1:8000"),
            ("127.0.0.1:8000", "http://localhost:8000"),
            ("127.0.0.1:8000", "http://127.0.0.1:8000/x"),
        ] {
            let request = headers(&[("host", host), ("origin", origin)]);
            assert_eq!(
                status(guard.check(&Method::POST, None, &request, Some("POST"))),
                Some(StatusCode::FORBIDDEN),
                "{origin}"
            );
        }
    }

    #[test]
    fn a_request_needs_exactly_one_valid_host_on_any_bind() {
        let open = Guard::default();
        let loopback = guard();
        let mut two = HeaderMap::new();
        two.append("host", HeaderValue::from_static("localhost"));
        two.append("host", HeaderValue::from_static("localhost"));
        for guard in [&open, &loopback] {
            for request in [
                HeaderMap::new(),
                two.clone(),
                headers(&[("host", "localhost:abc")]),
                headers(&[("host", "user@localhost")]),
                headers(&[("host", "localhost, evil.example")]),
                headers(&[("host", "::1")]),
            ] {
                assert_eq!(
                    status(guard.check(&Method::GET, None, &request, Some("GET"))),
                    Some(StatusCode::BAD_REQUEST),
                    "{request:?}"
                );
            }
        }
    }

    #[test]
    fn an_absolute_form_target_is_judged_by_its_own_host() {
        let guard = guard();
        let loopback_host = headers(&[("host", "127.0.0.1:8000")]);
        let target = |text: &str| text.parse::<Authority>().unwrap();
        let judged = |authority: &str, request: &HeaderMap| {
            status(guard.check(&Method::GET, Some(&target(authority)), request, Some("GET")))
        };
        assert_eq!(
            judged("evil.example", &loopback_host),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(judged("127.0.0.1:8000", &loopback_host), None);
        assert_eq!(judged("[::1]:8000", &loopback_host), None);
        assert_eq!(judged("chat.internal", &loopback_host), None);
        assert_eq!(
            judged("user@127.0.0.1:8000", &loopback_host),
            Some(StatusCode::BAD_REQUEST)
        );
        // A target and a Host that disagree are refused, whichever is the foreign one.
        let foreign_host = headers(&[("host", "evil.example")]);
        assert_eq!(
            judged("localhost:8000", &foreign_host),
            Some(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn preflights_from_allowed_origins_are_answered() {
        let guard = guard();
        let request = headers(&[
            ("host", "localhost:8000"),
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
        ]);
        let Verdict::Answer(response) = guard.check(&Method::OPTIONS, None, &request, Some("POST"))
        else {
            panic!("a preflight is answered by the guard");
        };
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert_eq!(
            response.headers()["access-control-allow-methods"],
            "POST, OPTIONS"
        );
        let Verdict::Answer(response) = guard.check(
            &Method::OPTIONS,
            None,
            &request,
            Some("GET, HEAD, PATCH, DELETE"),
        ) else {
            panic!("a preflight is answered by the guard");
        };
        assert_eq!(
            response.headers()["access-control-allow-methods"],
            "GET, HEAD, PATCH, DELETE, OPTIONS"
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
            status(guard.check(&Method::GET, None, &without, Some("GET"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        let wrong = headers(&[("host", "10.0.0.5"), ("authorization", "Bearer s3cre")]);
        assert_eq!(
            status(guard.check(&Method::GET, None, &wrong, Some("GET"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        let right = headers(&[("host", "10.0.0.5"), ("authorization", "Bearer s3cret")]);
        assert_eq!(
            status(guard.check(&Method::GET, None, &right, Some("GET"))),
            None
        );
    }
}
