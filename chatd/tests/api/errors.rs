//! The error bodies of the addendum: 404, 405 with `Allow`, 413, and the 422s for bodies
//! that are not JSON objects. After each, nothing is stored.

use bytes::Bytes;
use serde_json::{Value, json};

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
        (reqwest::Method::PUT, "/users/someone", "GET, HEAD, DELETE"),
        (
            reqwest::Method::PUT,
            "/conversations/1",
            "GET, HEAD, PATCH, DELETE",
        ),
        (
            reqwest::Method::DELETE,
            "/conversations/1/messages",
            "GET, HEAD",
        ),
        (
            reqwest::Method::PATCH,
            "/conversations/1/settings",
            "GET, HEAD",
        ),
        (reqwest::Method::GET, "/chat", "POST"),
        (
            reqwest::Method::PATCH,
            "/users/1/conversations",
            "GET, HEAD, DELETE",
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

/// 2^70: an integer, but one no 64-bit id column can hold.
const PAST_64_BITS: &str = "1180591620717411303424";

/// An id no 64-bit column can hold is a 422, the same item wherever it is sent. FastAPI
/// itself would take 2^70 as a Python int and fail in the database; the honest answer
/// for an id column is the one pydantic gives for `Field(ge=-2**63, le=2**63-1)`:
/// `less_than_equal` / `greater_than_equal` with the bound in `ctx`. `int_parsing`
/// would say the input is not an integer, which it is.
async fn ids_past_64_bits_are_422s_in_path_query_and_body() {
    let chatd = Daemon::start().await;
    let conversation = chatd.conversation().await;
    let before = chatd.row_counts();
    let above = |loc: Value, input: Value| {
        json!({"detail": [{"type": "less_than_equal", "loc": loc,
            "msg": "Input should be less than or equal to 9223372036854775807",
            "input": input, "ctx": {"le": i64::MAX}}]})
    };
    let below = |loc: Value, input: Value| {
        json!({"detail": [{"type": "greater_than_equal", "loc": loc,
            "msg": "Input should be greater than or equal to -9223372036854775808",
            "input": input, "ctx": {"ge": i64::MIN}}]})
    };
    let huge = PAST_64_BITS;
    let gets = [
        (format!("/conversations/{huge}"), "conversation_id"),
        (format!("/conversations/{huge}/messages"), "conversation_id"),
        (format!("/conversations/{huge}/reply"), "conversation_id"),
        (format!("/users/{huge}/conversations"), "user_id"),
    ];
    for (path, name) in &gets {
        let (status, body) = chatd.get(path).await;
        assert_eq!(status, 422, "{path}");
        assert_eq!(body, above(json!(["path", name]), json!(huge)), "{path}");
        let negative = path.replace(huge, &format!("-{huge}"));
        let (status, body) = chatd.get(&negative).await;
        assert_eq!(status, 422, "{negative}");
        assert_eq!(
            body,
            below(json!(["path", name]), json!(format!("-{huge}"))),
            "{negative}"
        );
    }
    let (status, body) = chatd
        .post(&format!("/conversations/{huge}/cancel"), json!({}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body, above(json!(["path", "conversation_id"]), json!(huge)));

    let (status, body) = chatd
        .get(&format!("/users/1/conversations?skip={huge}"))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body, above(json!(["query", "skip"]), json!(huge)));
    // limit has a tighter bound of its own, and that is the one reported.
    let (status, body) = chatd
        .get(&format!("/users/1/conversations?limit={huge}"))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "less_than_equal");
    assert_eq!(body["detail"][0]["ctx"], json!({"le": 1000}));

    // In a body, as a JSON string and as a JSON number. serde_json reads an integer
    // past u64 as a float, so that input is echoed as a float near it.
    let huge_number: Value = serde_json::from_str(huge).unwrap();
    for (path, field, rest) in [
        ("/conversations/", "user_id", json!({})),
        ("/chat", "conversation_id", json!({"message": "hi"})),
    ] {
        for id in [json!(huge), huge_number.clone(), json!(u64::MAX)] {
            let mut body = rest.clone();
            body[field] = id.clone();
            let (status, mut answer) = chatd.post(path, body).await;
            assert_eq!(status, 422, "{path} {id}");
            let echoed = answer["detail"][0]["input"].take();
            assert_eq!(
                answer,
                above(json!(["body", field]), Value::Null),
                "{path} {id}"
            );
            match id.as_f64().filter(|_| id.is_f64()) {
                Some(sent) => {
                    let echoed = echoed.as_f64().unwrap();
                    assert!((echoed - sent).abs() / sent < 1e-12, "{echoed} for {sent}");
                }
                None => assert_eq!(echoed, id),
            }
        }
        let mut body = rest.clone();
        body[field] = json!(-1e20);
        let (status, answer) = chatd.post(path, body).await;
        assert_eq!(status, 422);
        assert_eq!(answer["detail"][0]["type"], "greater_than_equal");
    }
    assert_eq!(chatd.row_counts(), before, "nothing was stored");

    // The largest id a column holds is an id like any other: it names nothing here.
    let max = i64::MAX;
    for path in [
        format!("/conversations/{max}"),
        format!("/conversations/{max}/messages"),
    ] {
        let (status, body) = chatd.get(&path).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Conversation not found"}))
        );
    }
    let (status, body) = chatd
        .get(&format!("/users/{max}/conversations?skip={max}"))
        .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _) = chatd
        .post("/chat", json!({"conversation_id": max, "message": "hi"}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = chatd.post("/conversations/", json!({"user_id": max})).await;
    assert_eq!(status, 404);
    let messages = chatd.messages(conversation).await;
    assert!(messages.is_empty());
}

crate::on_both_backends!(
    ids_past_64_bits_are_422s_in_path_query_and_body,
    unknown_routes_are_json_404s,
    wrong_methods_are_405s_with_allow,
    bodies_over_one_mebibyte_are_413s_declared_or_chunked,
    malformed_json_is_a_422_json_invalid,
    json_endpoints_refuse_other_content_types_and_store_nothing,
    extra_fields_are_ignored_as_fastapi_does,
);
