//! The error bodies of the addendum: 404, 405 with `Allow`, 413, and the 422s for bodies
//! that are not JSON objects. After each, nothing is stored.

use bytes::Bytes;
use serde_json::json;

use crate::support::{Daemon, read_json};

async fn unknown_routes_are_json_404s() {
    let chatd = Daemon::start().await;
    for path in ["/nope", "/users/a/b/c", "/conversations/1/nope", ""] {
        let (status, body) = chatd.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, json!({"detail": "Not Found"}), "{path}");
    }
    let response = chatd
        .client
        .get(chatd.base.replace("/api/v1", "/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        read_json(response).await,
        (404, json!({"detail": "Not Found"}))
    );
}

async fn wrong_methods_are_405s_with_allow() {
    let chatd = Daemon::start().await;
    let cases = [
        (reqwest::Method::GET, "/users/", "POST"),
        (reqwest::Method::DELETE, "/users/someone", "GET, HEAD"),
        (reqwest::Method::PUT, "/conversations/1", "GET, HEAD"),
        (reqwest::Method::GET, "/chat", "POST"),
        (
            reqwest::Method::PATCH,
            "/users/1/conversations",
            "GET, HEAD",
        ),
    ];
    for (method, path, allow) in cases {
        let response = chatd
            .client
            .request(method.clone(), chatd.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let (status, body) = read_json(response).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(body, json!({"detail": "Method Not Allowed"}));
    }
}

async fn bodies_over_one_mebibyte_are_413s_declared_or_chunked() {
    let chatd = Daemon::start().await;
    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(1024 * 1024));
    let (status, body) = chatd
        .post_raw("/users/", Some("application/json"), big.clone())
        .await;
    assert_eq!(status, 413);
    assert!(
        body["detail"].as_str().unwrap().contains("too large"),
        "{body}"
    );

    // Without a Content-Length: the limit is counted as the chunks arrive.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, body) = chatd
        .post_raw("/users/", Some("application/json"), stream)
        .await;
    assert_eq!(status, 413, "{body}");
    let (status, _) = chatd.get(&format!("/users/{}", "x".repeat(64))).await;
    assert_eq!(status, 404);
}

async fn malformed_json_is_a_422_json_invalid() {
    let chatd = Daemon::start().await;
    for bad in [
        "{\"username\": ",
        "{username: 1}",
        "not json",
        "{\"username\": \"a\"} trailing",
    ] {
        let (status, body) = chatd
            .post_raw("/users/", Some("application/json"), bad.to_string())
            .await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["detail"][0]["type"], "json_invalid", "{bad}");
        assert_eq!(body["detail"][0]["loc"][0], "body");
        assert!(body["detail"][0]["loc"][1].is_u64());
    }
    let (status, body) = chatd
        .post_raw("/users/", Some("application/json"), "")
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0],
        json!({"type": "missing", "loc": ["body"], "msg": "Field required", "input": null})
    );
    let (status, body) = chatd
        .post_raw("/users/", Some("application/json"), "[1, 2]")
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "model_attributes_type");
    let (status, _) = chatd
        .post_raw("/users/", Some("application/json"), b"\xff\xfe".to_vec())
        .await;
    assert_eq!(status, 422);
}

async fn json_endpoints_refuse_other_content_types_and_store_nothing() {
    let chatd = Daemon::start().await;
    let body = r#"{"username": "mallory"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
    ] {
        let (status, answer) = chatd.post_raw("/users/", content_type, body).await;
        assert_eq!(status, 422, "{content_type:?}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["header", "content-type"])
        );
    }
    let (status, _) = chatd.get("/users/mallory").await;
    assert_eq!(status, 404, "nothing was stored");
    for content_type in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let name = format!("ok-{}", content_type.len());
        let (status, _) = chatd
            .post_raw(
                "/users/",
                Some(content_type),
                format!("{{\"username\": \"{name}\"}}"),
            )
            .await;
        assert_eq!(status, 200, "{content_type}");
    }
}

async fn extra_fields_are_ignored_as_fastapi_does() {
    let chatd = Daemon::start().await;
    let (status, body) = chatd
        .post(
            "/users/",
            json!({"username": "olga", "admin": true, "id": 999}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(body["id"], 999);
    assert!(body.get("admin").is_none());
}

crate::on_both_backends!(
    unknown_routes_are_json_404s,
    wrong_methods_are_405s_with_allow,
    bodies_over_one_mebibyte_are_413s_declared_or_chunked,
    malformed_json_is_a_422_json_invalid,
    json_endpoints_refuse_other_content_types_and_store_nothing,
    extra_fields_are_ignored_as_fastapi_does,
);
