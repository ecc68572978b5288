//! chatd against its own OpenAPI document, checked by schemathesis (PyPI, pinned,
//! installed by `.ci/setup` into a virtualenv under the target directory): it reads
//! `GET /api/v1/openapi.json` from a real chatd on SQLite with the echo provider and
//! sends every operation generated requests, schema-valid and not, failing on any 5xx,
//! any status, content type, header or body the document does not describe, a 405
//! without `Allow`, and (but where `chatd/tests/schemathesis/schemathesis.toml` says
//! why not) a valid request refused or an invalid one accepted. Examples per operation
//! are bounded and so is the run's time.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::Daemon;

/// The longest the whole schemathesis run may take.
const RUN_LIMIT: Duration = Duration::from_secs(150);
/// Generated requests per operation and phase.
const EXAMPLES: &str = "100";

/// `$CHATD_TEST_SCHEMATHESIS`, else where `.ci/setup` installs it.
fn schemathesis() -> Option<PathBuf> {
    let program = match std::env::var_os("CHATD_TEST_SCHEMATHESIS") {
        Some(path) => PathBuf::from(path),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("schemathesis-venv/bin/schemathesis")
        }
    };
    crate::front_door::present_or_skip(program, "schemathesis")
}

#[tokio::test]
async fn every_operation_answers_as_the_openapi_document_says() {
    let Some(program) = schemathesis() else {
        return;
    };
    let chatd = Daemon::start_sqlite(&[]).await;
    // Something to find: a user with a conversation and a reply, so reads that name
    // small ids reach stored rows, not only 404s.
    let created = |path: &str, body: serde_json::Value| {
        let request = chatd
            .client
            .post(format!("{}{path}", chatd.base))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let user = created("/users/", json!({"username": "schemathesis"})).await;
    let conversation = created(
        "/conversations/",
        json!({"user_id": user["id"], "name": "seeded"}),
    )
    .await;
    let reply = chatd
        .client
        .post(format!("{}/chat", chatd.base))
        .json(&json!({"conversation_id": conversation["id"], "message": "hello there"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.text().await.unwrap();

    let work = tempfile::tempdir().expect("a working directory");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    let mut command = tokio::process::Command::new(&program);
    command
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", chatd.base))
        .args(["--max-examples", EXAMPLES])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--workers", "2"])
        .args(["--seed", "16"])
        // chatd refuses NUL in text (PostgreSQL cannot store it), which the document's
        // string schemas do not say.
        .args(["--generation-allow-x00", "false"])
        .args(["--request-timeout", "20"])
        .arg("--no-color")
        // Its example database and reports stay in the temporary directory.
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .expect("schemathesis finished in time")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "schemathesis found problems (its output is above): {}",
        output.status
    );
    // Every operation of the document was tested, none skipped.
    let count = |label: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.trim().split('/').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    let selected = count("Selected:").expect("schemathesis reported the operations");
    assert!(selected >= 27, "only {selected} operations in the document");
    assert_eq!(count("Tested:"), Some(selected), "every operation tested");
    // chatd is still whole after it.
    let status = chatd
        .client
        .get(format!("{}/status", chatd.base))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
}
