//! The web page at `/`: how chatd serves it (types, cache rules, the
//! Content-Security-Policy, the guard), and the page itself end to end in a real
//! browser: `chatd/tests/web/e2e.mjs` drives Debian's chromium with Playwright against
//! the chatd started here, and this side restarts chatd when the script asks.
//!
//! The browser test needs `node`, `npm ci` run in `chatd/tests/web/`, and chromium
//! (`/usr/bin/chromium`, or `CHROMIUM`); `.ci/setup` installs them. Without them it fails,
//! saying what is missing, rather than passing without having run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{Daemon, FakeUpstream, Upstream};

/// The longest the whole browser run may take.
const BROWSER_RUN: Duration = Duration::from_secs(150);

pub(crate) fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web")
}

/// Where the screenshots go: `target/web-screenshots/` (the README names it).
pub(crate) fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("web-screenshots")
}

pub(crate) fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// A loopback port nothing listens on now, so chatd can be restarted on the same one.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("its address")
        .port()
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_types_cache_rules_and_a_strict_policy() {
    let chatd = Daemon::start().await;
    let root = chatd.base.trim_end_matches("/api/v1").to_string();
    let client = &chatd.client;

    let page = client.get(format!("{root}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="assets/app.js">"#));
    assert!(!html.contains("<script>"), "no inline script");

    let again = client
        .get(format!("{root}/index.html"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Every file the page and its modules name is served, with its type.
    let mut pending = vec![("assets/app.js".to_string(), "text/javascript")];
    for name in ["assets/style.css", "assets/icon.svg"] {
        assert!(html.contains(name), "{name}");
    }
    pending.push(("assets/style.css".into(), "text/css"));
    pending.push(("assets/icon.svg".into(), "image/svg+xml"));
    let mut seen = Vec::new();
    while let Some((path, kind)) = pending.pop() {
        if seen.contains(&path) {
            continue;
        }
        let response = client.get(format!("{root}/{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        if path.contains("/vendor/") {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        } else {
            assert_eq!(cache, "no-cache", "{path}");
        }
        let text = response.text().await.unwrap();
        let dir = path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
        for import in text.split("from '").skip(1) {
            let Some((target, _)) = import.split_once('\'') else {
                continue;
            };
            let Some(relative) = target.strip_prefix("./") else {
                continue;
            };
            pending.push((format!("{dir}/{relative}"), "text/javascript"));
        }
        seen.push(path);
    }
    assert!(
        seen.len() > 20,
        "the page, its modules and the vendored ones: {seen:?}"
    );

    let licence = client
        .get(format!("{root}/assets/vendor/marked-18.2.1/LICENSE"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        licence.headers()["content-type"],
        "text/plain; charset=utf-8"
    );

    let head = client.head(format!("{root}/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let post = client.post(format!("{root}/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let missing = client
        .get(format!("{root}/assets/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    // The page passes the same guard as the API: no DNS rebinding to read it either.
    let rebound = client
        .get(format!("{root}/"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
}

#[tokio::test]
async fn the_page_chatd_served_may_call_it_whatever_the_cors_allow_list() {
    let chatd = Daemon::start_with(&["--cors-origin", "https://chat.example.com"]).await;
    let own_origin = chatd.base.trim_end_matches("/api/v1").to_string();
    let response = chatd
        .client
        .post(chatd.url("/users/"))
        .header("origin", &own_origin)
        .json(&json!({ "username": "same-origin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        own_origin.as_str()
    );
    let other_port = own_origin.replace("127.0.0.1:", "127.0.0.1:1");
    let refused = chatd
        .client
        .get(chatd.url("/status"))
        .header("origin", other_port)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

/// The prerequisites of the browser run, or what to do to get them.
pub(crate) fn browser_prerequisites() -> Result<(), String> {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        return Err("node is not installed (apt-get install nodejs npm)".into());
    }
    if !tests_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Err(format!(
            "playwright-core is not installed: run `npm ci` in {}",
            tests_dir().display()
        ));
    }
    if !chromium().exists() {
        return Err(format!(
            "{} does not exist: apt-get install chromium, or set CHROMIUM",
            chromium().display()
        ));
    }
    Ok(())
}

#[tokio::test]
async fn the_page_works_end_to_end_in_a_browser() {
    if let Err(missing) = browser_prerequisites() {
        panic!(
            "the browser test cannot run: {missing} (`bash .ci/test` installs everything first)"
        );
    }
    let broken = FakeUpstream::start(Upstream::Status {
        code: 503,
        body: json!({"error": {"message": "The model is overloaded"}}),
        retry_after: None,
    })
    .await;
    let flaky = FakeUpstream::start(Upstream::ErrorAfter {
        tokens: vec!["Partial".into(), " answer".into()],
        message: "upstream model crashed".into(),
    })
    .await;
    let short = FakeUpstream::start(Upstream::Stream {
        tokens: vec!["Cut".into(), " short".into()],
        delay: Duration::ZERO,
        finish_reason: Some("length"),
        done: true,
    })
    .await;
    let thinker = FakeUpstream::start(Upstream::Thinking {
        delay: Duration::from_millis(20),
        model: "r1".into(),
        reasoning_field: "reasoning_content",
        reasoning: vec!["Let me".into(), " think.".into()],
        tokens: vec!["The".into(), " answer".into()],
        finish_reason: "stop",
        prompt_tokens: 5,
        completion_tokens: 4,
    })
    .await;
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("chatd.toml");
    std::fs::write(
        &config,
        format!(
            "[providers.broken]\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m\"]\n\n\
             [providers.flaky]\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m\"]\n\n\
             [providers.short]\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m\"]\n\n\
             [providers.thinker]\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"r1\"]\n",
            broken.base_url, flaky.base_url, short.base_url, thinker.base_url
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config.display().to_string();
    let mut chatd = Some(
        Daemon::start_sqlite(&[
            "--listen",
            &listen,
            "--echo-delay-ms",
            "40",
            "--config",
            &config,
        ])
        .await,
    );

    let screenshots = screenshots_dir();
    // Those of an earlier run must not stand in for this one's.
    let _ = std::fs::remove_dir_all(&screenshots);
    let mut node = tokio::process::Command::new("node")
        .arg("e2e.mjs")
        .current_dir(tests_dir())
        .env("CHATD_URL", format!("http://{listen}"))
        .env("CHROMIUM", chromium())
        .env("SCREENSHOTS", &screenshots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let mut to_node = node.stdin.take().expect("node's stdin");
    let mut lines = BufReader::new(node.stdout.take().expect("node's stdout")).lines();
    let run = async {
        while let Some(line) = lines.next_line().await.expect("read node's output") {
            eprintln!("e2e: {line}");
            match line.as_str() {
                "control: kill" => {
                    chatd.as_mut().expect("chatd runs").kill_hard().await;
                    to_node.write_all(b"killed\n").await.unwrap();
                }
                "control: start" => {
                    let stopped = chatd.take().expect("a stopped chatd");
                    chatd = Some(Daemon::restart_stopped(stopped).await);
                    to_node.write_all(b"started\n").await.unwrap();
                }
                _ => {}
            }
        }
        node.wait().await.expect("wait for node")
    };
    let status = tokio::time::timeout(BROWSER_RUN, run)
        .await
        .expect("the browser test ended in time");
    assert!(status.success(), "the browser test failed: {status}");
    for shot in [
        "light-chat",
        "light-provider-errors",
        "light-hostile-output",
        "light-daemon-down",
        "dark-chat",
        "narrow-chat",
        "narrow-conversations",
    ] {
        assert!(
            screenshots.join(format!("{shot}.png")).exists(),
            "{shot}.png"
        );
    }
}

/// Issue 15: a browser's own `EventSource` on the attach stream, whose connection a
/// proxy closes mid-reply (`chatd/tests/web/eventsource.mjs`), reconnects with
/// `Last-Event-ID` and shows the whole reply once. The script starts the reply itself
/// once the browser is up: a reply started here could end while Chromium is still
/// launching on a loaded machine, and an EventSource opened after the end gets a 404.
#[tokio::test]
async fn an_event_source_survives_its_connection_closing_mid_reply() {
    if let Err(missing) = browser_prerequisites() {
        panic!(
            "the browser test cannot run: {missing} (`bash .ci/test` installs everything first)"
        );
    }
    let chatd = Daemon::start_with(&["--echo-delay-ms", "100"]).await;
    let id = chatd.conversation().await;
    let text = (1..=40)
        .map(|n| format!("word{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let origin = chatd
        .base
        .strip_suffix(common::API_BASE)
        .expect("the API under its base")
        .to_string();
    let run = tokio::process::Command::new("node")
        .arg("eventsource.mjs")
        .current_dir(tests_dir())
        .env("CHATD_URL", origin)
        .env("CONVERSATION", id.to_string())
        .env("MESSAGE", &text)
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(BROWSER_RUN, run)
        .await
        .expect("the browser run ended in time")
        .expect("run node");
    assert!(status.success(), "the EventSource test failed: {status}");
}
