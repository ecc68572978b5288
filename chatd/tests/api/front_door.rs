//! The OpenAI-compatible front door (`/v1`) driven by the official `openai` SDKs for
//! Python and JavaScript (pinned; installed by `.ci/setup`), running the committed
//! scripts of `chatd/tests/sdk/` against the real chatd and the fake upstream, then
//! reading what they did back through `/api/v1`. What a provider failure, a client
//! gone mid-stream and a `kill -9` leave stored is in `front_door_lifecycle.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Daemon, FakeUpstream, Serving, Upstream, daemon_for};

pub fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk")
}

/// Where `.ci/setup` puts the SDK's virtualenv: `$CHATD_TEST_OPENAI_PYTHON`, else under
/// the target directory.
pub fn python() -> Option<PathBuf> {
    let python = match std::env::var_os("CHATD_TEST_OPENAI_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("openai-venv/bin/python")
        }
    };
    present_or_skip(python, "the openai Python SDK's virtualenv")
}

fn node_package() -> Option<PathBuf> {
    let dir = sdk_dir().join("js");
    present_or_skip(
        dir.join("node_modules/openai/package.json"),
        "the openai npm package",
    )?;
    Some(dir)
}

/// A missing SDK fails the test in CI, and skips it loudly elsewhere.
pub(crate) fn present_or_skip(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let hint = "run `bash .ci/test` (its `.ci/setup` installs it)";
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing at {}: {hint}",
        path.display()
    );
    eprintln!(
        "\n!!! SKIPPED: {what} is missing at {}; {hint} !!!\n",
        path.display()
    );
    None
}

/// A fake model that reports usage: 21 prompt and 9 completion tokens.
async fn upstream() -> FakeUpstream {
    FakeUpstream::start_serving(
        Upstream::Thinking {
            delay: Duration::ZERO,
            model: "fake-model".into(),
            reasoning_field: "reasoning_content",
            reasoning: vec!["hmm".into()],
            tokens: vec!["The".into(), " answer".into()],
            finish_reason: "stop",
            prompt_tokens: 21,
            completion_tokens: 9,
        },
        Serving {
            models: Some(vec!["fake-model".into()]),
            ..Serving::default()
        },
    )
    .await
}

pub fn front_door(chatd: &Daemon) -> String {
    chatd.url("").replace("/api/v1", "/v1")
}

/// Runs an SDK script; its last line of output is JSON.
pub async fn run_script(program: &Path, script: &Path, chatd: &Daemon) -> Value {
    let run = tokio::process::Command::new(program)
        .arg(script)
        .arg(front_door(chatd))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK script finished in time")
        .expect("the SDK script ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

fn contents(messages: &[Value]) -> Vec<(&str, &str)> {
    messages
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default(),
                m["content"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// What both SDKs' scripts did, as chatd stored it.
async fn check_stored(chatd: &Daemon, out: &Value) {
    let three = chatd.messages(out["three_turns"].as_i64().unwrap()).await;
    let said = contents(&three);
    let users: Vec<&str> = said
        .iter()
        .filter(|(role, _)| *role == "user")
        .map(|(_, text)| *text)
        .collect();
    for (said, word) in users.iter().zip(["first", "second", "third", "fourth"]) {
        assert!(said.starts_with(word), "{users:?}");
    }
    assert_eq!(three.len(), 8, "four turns, each with its reply: {said:?}");
    for reply in three.iter().filter(|m| m["role"] == "assistant") {
        assert_eq!(reply["content"], "The answer");
        assert_eq!(reply["status"], "complete");
        assert_eq!(reply["model"], "openai/fake-model");
        assert_eq!(reply["usage"]["prompt_tokens"], 21, "{reply}");
    }
    let (status, settings) = chatd
        .get(&format!("/conversations/{}/settings", out["three_turns"]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["system_prompt"], "Be brief.");
    for (client, opening) in [("a", "I am client A"), ("b", "I am client B")] {
        let messages = chatd.messages(out[client].as_i64().unwrap()).await;
        let said = contents(&messages);
        assert_eq!(said.len(), 4, "{said:?}");
        assert_eq!(said[0], ("user", opening));
    }
}

async fn the_python_sdk_keeps_its_conversations() {
    let Some(python) = python() else { return };
    let upstream = upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(&python, &sdk_dir().join("story.py"), &chatd).await;
    check_stored(&chatd, &out).await;
    let named = chatd.messages(out["named"].as_i64().unwrap()).await;
    let users: Vec<&str> = contents(&named)
        .into_iter()
        .filter(|(role, _)| *role == "user")
        .map(|(_, text)| text)
        .collect();
    assert_eq!(
        users,
        ["named one", "named two", "named three", "named four"]
    );
}

/// Three responses chained by `previous_response_id` are one chatd conversation.
async fn python_responses_chain_into_one_conversation() {
    let Some(python) = python() else { return };
    let upstream = upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(&python, &sdk_dir().join("responses.py"), &chatd).await;
    let messages = chatd.messages(out["conversation"].as_i64().unwrap()).await;
    assert_eq!(
        contents(&messages),
        [
            ("user", "first question"),
            ("assistant", "The answer"),
            ("user", "second question"),
            ("assistant", "The answer"),
            ("user", "third, streamed"),
            ("assistant", "The answer"),
        ]
    );
    assert_eq!(messages[5]["status"], "complete");
    let (_, settings) = chatd
        .get(&format!("/conversations/{}/settings", out["conversation"]))
        .await;
    assert_eq!(settings["system_prompt"], "Be brief.");
}

async fn the_javascript_sdk_keeps_its_conversations() {
    let Some(dir) = node_package() else { return };
    let upstream = upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(Path::new("node"), &dir.join("story.mjs"), &chatd).await;
    check_stored(&chatd, &out).await;
}

/// A slow fake model: 40 tokens, 40 ms apart, so a response runs long enough to be
/// read in part, resumed and cancelled.
async fn slow_upstream() -> FakeUpstream {
    FakeUpstream::start(Upstream::Stream {
        tokens: (0..40).map(|i| format!("w{i} ")).collect(),
        delay: Duration::from_millis(40),
        finish_reason: Some("stop"),
        done: true,
    })
    .await
}

/// What a background script left: its first response whole and complete, then
/// (`cancelled`) a turn cancelled part-way, in one conversation.
async fn check_background(chatd: &Daemon, out: &Value, users: &[&str], cancelled: bool) {
    let whole = out["whole"].as_str().unwrap();
    let expected: String = (0..40).map(|i| format!("w{i} ")).collect();
    assert_eq!(whole, expected);
    let messages = chatd.messages(out["conversation"].as_i64().unwrap()).await;
    let said: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(said, users);
    let replies: Vec<&Value> = messages
        .iter()
        .filter(|m| m["role"] == "assistant")
        .collect();
    assert_eq!(replies.len(), users.len(), "{messages:?}");
    let last_whole = if cancelled {
        replies.len() - 1
    } else {
        replies.len()
    };
    for reply in &replies[..last_whole] {
        assert_eq!(reply["status"], "complete");
        assert_eq!(reply["content"].as_str().unwrap().len(), whole.len());
    }
    if cancelled {
        let last = replies[replies.len() - 1];
        assert_eq!(last["status"], "cancelled", "{last}");
        let kept = last["content"].as_str().unwrap();
        assert!(!kept.is_empty() && whole.starts_with(kept), "{kept:?}");
    }
}

/// Python: a background response read in part, resumed while it runs and again once
/// stored, then a second one cancelled and deleted.
async fn python_background_responses_resume_cancel_and_delete() {
    let Some(python) = python() else { return };
    let upstream = slow_upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(&python, &sdk_dir().join("background.py"), &chatd).await;
    // The cancelled second response was deleted: only the first is left.
    check_background(&chatd, &out, &["go slowly"], false).await;
}

/// npm: responses chained with previous_response_id, one in the background resumed,
/// one cancelled.
async fn javascript_background_responses_resume_and_cancel() {
    let Some(dir) = node_package() else { return };
    let upstream = slow_upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(Path::new("node"), &dir.join("background.mjs"), &chatd).await;
    let users = [
        "first, at once",
        "second, in the background",
        "third, cancelled",
    ];
    check_background(&chatd, &out, &users, true).await;
}

crate::on_both_backends!(
    the_python_sdk_keeps_its_conversations,
    the_javascript_sdk_keeps_its_conversations,
    python_responses_chain_into_one_conversation,
    python_background_responses_resume_cancel_and_delete,
    javascript_background_responses_resume_and_cancel,
);
