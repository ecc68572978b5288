//! The API page at `/docs` and the document it shows: `GET /api/v1/openapi.json` is
//! OpenAPI 3.1 with every route, `/docs` and its vendored Swagger UI are served with the
//! web page's strict policy, and in a real browser (`chatd/tests/web/docs.mjs`,
//! Playwright with Debian's chromium) the page renders the document under that policy,
//! lists the operations and loads nothing from elsewhere; its screenshot is
//! `target/web-screenshots/docs.png`.

use std::process::Stdio;
use std::time::Duration;

use crate::support::Daemon;
use crate::web::{browser_prerequisites, chromium, screenshots_dir, tests_dir};

#[tokio::test]
async fn the_document_and_the_page_are_served() {
    let chatd = Daemon::start().await;
    let root = chatd.base.trim_end_matches("/api/v1").to_string();
    let client = &chatd.client;

    let document = client
        .get(format!("{}/openapi.json", chatd.base))
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    assert_eq!(document.headers()["content-type"], "application/json");
    let document: serde_json::Value = document.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/v1/chat"]["post"].is_object());
    assert!(document["paths"]["/v1/responses/{id}"]["delete"].is_object());
    // HEAD like every GET; other methods are a 405 with `Allow`.
    let head = client
        .head(format!("{}/openapi.json", chatd.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let post = client
        .post(format!("{}/openapi.json", chatd.base))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");

    let page = client.get(format!("{root}/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    for file in [
        "/assets/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js",
        "/assets/vendor/swagger-ui-5.35.0/swagger-ui.css",
        "/assets/docs.js",
    ] {
        assert!(html.contains(file), "the page names {file}");
        let served = client.get(format!("{root}{file}")).send().await.unwrap();
        assert_eq!(served.status(), 200, "{file}");
    }
    let licence = client
        .get(format!("{root}/assets/vendor/swagger-ui-5.35.0/LICENSE"))
        .send()
        .await
        .unwrap();
    assert!(licence.text().await.unwrap().contains("Apache License"));
}

#[tokio::test]
async fn the_page_renders_the_document_in_a_browser() {
    if let Err(missing) = browser_prerequisites() {
        panic!(
            "the browser test cannot run: {missing} (`bash .ci/test` installs everything first)"
        );
    }
    let chatd = Daemon::start().await;
    let root = chatd.base.trim_end_matches("/api/v1").to_string();
    let node = tokio::process::Command::new("node")
        .arg("docs.mjs")
        .current_dir(tests_dir())
        .env("CHATD_URL", &root)
        .env("CHROMIUM", chromium())
        .env("SCREENSHOTS", screenshots_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), node)
        .await
        .expect("the browser run ended in time")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "docs.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("operations listed"), "{stdout}");
    assert!(screenshots_dir().join("docs.png").exists());
}
