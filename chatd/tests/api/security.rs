//! Who may talk to chatd: the Host check against DNS rebinding, the CORS allow-list, and
//! the bearer token that a non-loopback bind requires.

use serde_json::json;

use crate::support::{Daemon, read_json};

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

crate::on_both_backends!(
    a_foreign_host_header_is_refused_on_a_loopback_bind,
    configured_host_names_are_allowed,
    pages_from_localhost_get_cors_and_others_are_refused,
    the_cors_allow_list_is_configurable,
    a_non_loopback_bind_requires_the_bearer_token,
);
