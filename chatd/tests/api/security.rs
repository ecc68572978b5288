//! Who may talk to chatd: the Host check against DNS rebinding, the CORS allow-list, and
//! the bearer token that a non-loopback bind requires.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Daemon, WAIT, read_json};

/// Writes one request exactly as given on a new connection and reads the answer: a
/// request reqwest cannot send (it always writes one Host and an origin-form target).
/// `head` is the request line and headers, without the blank line; `Connection:
/// close` is added so the answer ends with the connection.
async fn raw_request(chatd: &Daemon, head: &str, body: &str) -> (u16, Value) {
    let address = chatd
        .base
        .trim_start_matches("http://")
        .trim_end_matches(common::API_BASE);
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("chatd answered in time")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {head}"));
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer}"));
    (status, body)
}

async fn a_foreign_host_header_is_refused_on_a_loopback_bind() {
    let chatd = Daemon::start().await;
    for host in ["evil.example", "evil.example:8000", "192.168.1.10:8000"] {
        let response = chatd
            .client
            .get(chatd.url("/status"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        let (status, body) = read_json(response).await;
        assert_eq!(status, 403, "{host}");
        assert!(
            body["detail"].as_str().unwrap().contains("not allowed"),
            "{body}"
        );
    }
    // A rebinding page's POST is refused before anything is stored.
    let response = chatd
        .client
        .post(chatd.url("/users/"))
        .header("host", "evil.example:8000")
        .json(&json!({"username": "victim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(chatd.row_counts(), (0, 0, 0));
    for host in ["localhost:8000", "127.0.0.1", "app.localhost:3000"] {
        let response = chatd
            .client
            .get(chatd.url("/status"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
}

async fn configured_host_names_are_allowed() {
    let chatd = Daemon::start_with(&["--allowed-host", "chat.lan"]).await;
    let response = chatd
        .client
        .get(chatd.url("/status"))
        .header("host", "chat.lan:8000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = chatd
        .client
        .get(chatd.url("/status"))
        .header("host", "other.lan")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

async fn pages_from_localhost_get_cors_and_others_are_refused() {
    let chatd = Daemon::start().await;
    let preflight = chatd
        .client
        .request(reqwest::Method::OPTIONS, chatd.url("/chat"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );
    assert!(headers.get("access-control-allow-credentials").is_none());

    let user = chatd
        .client
        .post(chatd.url("/users/"))
        .header("origin", "http://127.0.0.1:3000")
        .json(&json!({"username": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 200);
    assert_eq!(
        user.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(user.headers()["vary"], "Origin");

    for origin in [
        "https://evil.example",
        "http://localhost.evil.example:3000",
        "null",
    ] {
        let response = chatd
            .client
            .post(chatd.url("/users/"))
            .header("origin", origin)
            .json(&json!({"username": "csrf"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    let (status, _) = chatd.get("/users/csrf").await;
    assert_eq!(status, 404, "refused cross-origin requests store nothing");
}

async fn the_cors_allow_list_is_configurable() {
    let chatd = Daemon::start_with(&["--cors-origin", "https://chat.example.com"]).await;
    let allowed = chatd
        .client
        .get(chatd.url("/status"))
        .header("origin", "https://chat.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://chat.example.com"
    );
    let localhost = chatd
        .client
        .get(chatd.url("/status"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        localhost.status(),
        403,
        "the configured list replaces the default"
    );
}

#[tokio::test]
async fn a_non_loopback_bind_needs_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let chatd = testkit::isolated(env!("CARGO_BIN_EXE_chatd"), dir.path());
    let output = tokio::process::Command::from(chatd)
        .args(["--listen", "0.0.0.0:0", "--database"])
        .arg(dir.path().join("x.db"))
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-non-loopback"), "{stderr}");
    assert!(!dir.path().join("x.db").exists(), "nothing was created");
}

async fn a_non_loopback_bind_requires_the_bearer_token() {
    let chatd = Daemon::start_with(&["--listen", "0.0.0.0:0", "--allow-non-loopback"]).await;
    let token_file = testkit::data_home(chatd.dir()).join("chatd/token");
    let token = std::fs::read_to_string(&token_file).expect("token file created on first use");
    assert_eq!(token.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the user may read the token");
    }
    let response = chatd.client.get(chatd.url("/status")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let wrong = chatd
        .client
        .get(chatd.url("/status"))
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let response = chatd
        .client
        .post(chatd.url("/users/"))
        .json(&json!({"username": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(chatd.row_counts(), (0, 0, 0));
    let right = chatd
        .client
        .get(chatd.url("/status"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    // Any Host is fine here: the token is the guard.
    let right = chatd
        .client
        .get(chatd.url("/status"))
        .header("host", "chat.example.com")
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    // The same token is used again after a restart.
    let chatd = chatd.restart().await;
    let again = chatd
        .client
        .get(chatd.url("/status"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

/// RFC 9112 §3.2: exactly one Host, valid, or 400; before anything is stored.
async fn a_request_without_exactly_one_valid_host_is_a_400() {
    let chatd = Daemon::start().await;
    let cases = [
        ("GET /api/v1/status HTTP/1.1", "no Host header"),
        ("GET /api/v1/status HTTP/1.0", "no Host header"),
        (
            "GET /api/v1/status HTTP/1.1\r\nHost: localhost\r\nHost: localhost",
            "more than one Host header",
        ),
        (
            "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example",
            "more than one Host header",
        ),
        (
            "GET /api/v1/status HTTP/1.1\r\nHost: localhost:abc",
            "is not a valid host[:port]",
        ),
        (
            "GET /api/v1/status HTTP/1.1\r\nHost: user@localhost",
            "is not a valid host[:port]",
        ),
    ];
    for (head, reason) in cases {
        let (status, body) = raw_request(&chatd, head, "").await;
        assert_eq!(status, 400, "{head}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{head}: {detail}");
    }
    let user = r#"{"username": "two-hosts"}"#;
    for head in [
        "POST /api/v1/users/ HTTP/1.1\r\nContent-Type: application/json",
        "POST /api/v1/users/ HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\
         Content-Type: application/json",
    ] {
        let (status, _) = raw_request(&chatd, head, user).await;
        assert_eq!(status, 400, "{head}");
    }
    assert_eq!(chatd.row_counts(), (0, 0, 0));
    // The same request with one Host is served.
    let (status, body) = raw_request(
        &chatd,
        "POST /api/v1/users/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json",
        user,
    )
    .await;
    assert_eq!((status, &body["username"]), (200, &json!("two-hosts")));
}

/// RFC 9112 §3.2.2: an absolute-form target names the host the request is for, so it
/// is the one judged; one that disagrees with Host is refused either way.
async fn an_absolute_form_target_is_judged_by_its_own_host() {
    let chatd = Daemon::start().await;
    let refused = [
        "GET http://evil.example/api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:8000",
        "GET http://evil.example:8000/api/v1/status HTTP/1.1\r\nHost: localhost",
        "GET http://127.0.0.1:8000/api/v1/status HTTP/1.1\r\nHost: evil.example",
    ];
    for head in refused {
        let (status, body) = raw_request(&chatd, head, "").await;
        assert_eq!(status, 403, "{head}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("is not allowed"),
            "{body}"
        );
    }
    let (status, body) = raw_request(
        &chatd,
        "GET http://evil.example/api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:8000",
        "",
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("\"evil.example\""),
        "the target's host is named: {body}"
    );
    let (status, _) = raw_request(
        &chatd,
        "POST http://evil.example/api/v1/users/ HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json",
        r#"{"username": "rebound"}"#,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(chatd.row_counts(), (0, 0, 0));
    let (status, body) = raw_request(
        &chatd,
        "GET http://u@127.0.0.1:8000/api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:8000",
        "",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    for head in [
        "GET http://127.0.0.1:8000/api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:8000",
        "GET http://[::1]/api/v1/status HTTP/1.1\r\nHost: localhost",
    ] {
        let (status, body) = raw_request(&chatd, head, "").await;
        assert_eq!(status, 200, "{head}: {body}");
        assert_eq!(body["name"], "chatd");
    }
}

/// `http://localhost:*` allows a numeric port only; anything else that starts like a
/// localhost origin is refused and never echoed.
async fn forged_localhost_origins_are_refused_and_not_echoed() {
    let chatd = Daemon::start().await;
    for origin in [
        "http://localhost:3000.evil.example",
        "http://localhost:abc",
        "http://localhost:3000/path",
        "http://user@localhost:3000",
        "http://localhost:0",
        "http://localhost:65536",
        "http://127.0.0.1:80.evil.example",
    ] {
        let response = chatd
            .client
            .post(chatd.url("/users/"))
            .header("origin", origin)
            .json(&json!({"username": "forged"}))
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
        let (status, body) = read_json(response).await;
        assert_eq!(status, 403, "{origin}");
        assert_eq!(body, json!({"detail": "Origin not allowed"}));
    }
    assert_eq!(chatd.row_counts(), (0, 0, 0));
    for origin in [
        "http://localhost",
        "http://localhost:65535",
        "http://[::1]:1",
    ] {
        let response = chatd
            .client
            .get(chatd.url("/status"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{origin}");
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
    }
}

async fn a_fixed_port_origin_matches_that_port_only() {
    let chatd = Daemon::start_with(&["--cors-origin", "http://localhost:3000"]).await;
    let status_for = |origin: &'static str| {
        let request = chatd
            .client
            .get(chatd.url("/status"))
            .header("origin", origin)
            .send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(status_for("http://localhost:3000").await, 200);
    for origin in [
        "http://localhost:30000",
        "http://localhost:300",
        "http://localhost",
        "http://localhost:3000.evil.example",
        "https://localhost:3000",
    ] {
        assert_eq!(status_for(origin).await, 403, "{origin}");
    }
}

crate::on_both_backends!(
    a_request_without_exactly_one_valid_host_is_a_400,
    an_absolute_form_target_is_judged_by_its_own_host,
    forged_localhost_origins_are_refused_and_not_echoed,
    a_fixed_port_origin_matches_that_port_only,
    a_foreign_host_header_is_refused_on_a_loopback_bind,
    configured_host_names_are_allowed,
    pages_from_localhost_get_cors_and_others_are_refused,
    the_cors_allow_list_is_configurable,
    a_non_loopback_bind_requires_the_bearer_token,
);
