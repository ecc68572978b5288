//! The web chat page (`chatd/web/`), embedded in the binary so that opening
//! `http://127.0.0.1:8000/` is all a person needs: `GET /` is the page, `GET
//! /assets/...` its scripts, styles and vendored libraries, and `GET /docs` the
//! interactive API page (Swagger UI over `GET /api/v1/openapi.json`). Every file is a static
//! byte string with its content type, an ETag made at compile time, and a cache rule:
//! the vendored libraries live in folders named by their version and never change, so
//! they are cached for a year; the page's own files are revalidated on every load, so
//! a new chatd is never shown with an old script.

use warp::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    etag: &'static str,
}

/// The methods every page path answers.
pub const ALLOW: &str = "GET, HEAD";

/// What the page may load and talk to. No inline script or style, no `eval`, nothing
/// from other hosts but chatd's API on loopback (the page may be pointed at another
/// local chatd with `?api=`); model output is sanitised before it is shown, and this
/// keeps even a sanitiser bug from running script or loading a tracking image.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; \
     connect-src 'self' http://127.0.0.1:* http://localhost:*; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The headers of every file, besides its type and cache rule.
const EVERY_ANSWER: [(HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// FNV-1a, 64 bits: a fingerprint of a file's bytes for its ETag, computed by the
/// compiler so that serving costs nothing.
const fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// An ETag value, `"<16 hex digits>"`, as a compile-time string.
const fn etag_bytes(hash: u64) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($file:literal, $type:expr) => {
        asset!(
            $file,
            $type,
            fingerprint(include_bytes!(concat!("../../web/", $file)))
        )
    };
    ($file:literal, $type:expr, $fingerprint:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $type,
            bytes: include_bytes!(concat!("../../web/", $file)),
            etag: {
                const TAG: [u8; 18] = etag_bytes($fingerprint);
                match std::str::from_utf8(&TAG) {
                    Ok(text) => text,
                    Err(_) => panic!("an ETag is ASCII"),
                }
            },
        }
    };
}

/// A vendored file too large for the compiler to hash in good time (Swagger UI's
/// bundle is 1.7 MB): its ETag is made of its path and length instead. Its folder is
/// named by the library's version and its bytes never change, so that names it as well.
macro_rules! large_vendored_asset {
    ($file:literal, $type:expr) => {
        asset!(
            $file,
            $type,
            fingerprint($file.as_bytes())
                ^ include_bytes!(concat!("../../web/", $file)).len() as u64
        )
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file of the page; `/` is `/index.html`.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("docs.html", "text/html; charset=utf-8"),
    asset!("assets/docs.js", JS),
    large_vendored_asset!("assets/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js", JS),
    large_vendored_asset!(
        "assets/vendor/swagger-ui-5.35.0/swagger-ui.css",
        "text/css; charset=utf-8"
    ),
    asset!("assets/vendor/swagger-ui-5.35.0/LICENSE", TEXT),
    asset!("assets/vendor/swagger-ui-5.35.0/NOTICE", TEXT),
    asset!(
        "assets/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js.LICENSE.txt",
        TEXT
    ),
    asset!("assets/style.css", "text/css; charset=utf-8"),
    asset!("assets/icon.svg", "image/svg+xml"),
    asset!("assets/app.js", JS),
    asset!("assets/api.js", JS),
    asset!("assets/sse.js", JS),
    asset!("assets/markdown.js", JS),
    asset!("assets/sidebar.js", JS),
    asset!("assets/thread.js", JS),
    asset!("assets/vendor/marked-18.2.1/marked.esm.js", JS),
    asset!("assets/vendor/marked-18.2.1/LICENSE", TEXT),
    asset!("assets/vendor/dompurify-3.5.0/purify.es.mjs", JS),
    asset!("assets/vendor/dompurify-3.5.0/LICENSE", TEXT),
    asset!("assets/vendor/dompurify-3.5.0/LICENSE-MPL", TEXT),
    asset!("assets/vendor/highlight.js-11.12.0/core.min.js", JS),
    asset!("assets/vendor/highlight.js-11.12.0/LICENSE", TEXT),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/bash.min.js",
        JS
    ),
    asset!("assets/vendor/highlight.js-11.12.0/languages/c.min.js", JS),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/cpp.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/css.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/diff.min.js",
        JS
    ),
    asset!("assets/vendor/highlight.js-11.12.0/languages/go.min.js", JS),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/java.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/javascript.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/json.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/markdown.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/python.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/rust.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/shell.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/sql.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/typescript.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/xml.min.js",
        JS
    ),
    asset!(
        "assets/vendor/highlight.js-11.12.0/languages/yaml.min.js",
        JS
    ),
];

/// The embedded file at a request path, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = match path {
        "/" => "/index.html",
        // At the root, as FastAPI serves it.
        "/docs" | "/docs/" => "/docs.html",
        other => other,
    };
    ASSETS.iter().find(|asset| asset.path == path)
}

impl Asset {
    /// Whether it sits in a versioned vendor folder, whose bytes never change.
    fn immutable(&self) -> bool {
        self.path.starts_with("/assets/vendor/")
    }

    /// The answer to `GET` (or `HEAD`, whose body hyper leaves out): the file, or a 304
    /// when the browser already holds this version.
    pub fn respond(&self, method: &Method, headers: &HeaderMap) -> Response {
        debug_assert!(method == Method::GET || method == Method::HEAD);
        let fresh = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == self.etag
            });
        let mut response = if fresh {
            let mut response = Response::new(Default::default());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = Response::new(self.bytes.into());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let out = response.headers_mut();
        out.insert(header::ETAG, HeaderValue::from_static(self.etag));
        out.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if self.immutable() {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        for (name, value) in EVERY_ANSWER {
            out.insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_unique_path_and_a_type() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(asset.path.starts_with('/'), "{}", asset.path);
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
            assert!(
                ASSETS[i + 1..].iter().all(|other| other.path != asset.path),
                "{} twice",
                asset.path
            );
        }
        assert_eq!(find("/").map(|a| a.path), Some("/index.html"));
        assert_eq!(find("/docs").map(|a| a.path), Some("/docs.html"));
        assert!(find("/assets/nothing.js").is_none());
        assert!(find("/api/v1/status").is_none());
    }

    #[test]
    fn etags_are_quoted_fingerprints() {
        let tag = etag_bytes(0x0123_4567_89ab_cdef);
        assert_eq!(&tag, b"\"0123456789abcdef\"");
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
    }

    #[test]
    fn a_matching_if_none_match_is_a_304() {
        let asset = find("/").expect("the page");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", asset.etag)).expect("header"),
        );
        let response = asset.respond(&Method::GET, &headers);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        let response = asset.respond(&Method::GET, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        let vendor = find("/assets/vendor/marked-18.2.1/marked.esm.js").expect("marked");
        let response = vendor.respond(&Method::GET, &HeaderMap::new());
        assert!(
            response.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
}
