//! chatctl against a server that implements API.md and nothing more: no `/status`, no
//! `?events=true` (the query is ignored), no cancel. A tiny hand-written HTTP server
//! stands in for such a backend.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Chatctl, STEP, read_request};

const USER: &str =
    r#"{"username":"alice","email":null,"id":1,"created_at":"2026-11-24T05:39:12.123456Z"}"#;
const CONVERSATION: &str =
    r#"{"user_id":1,"name":null,"id":1,"created_at":"2026-11-24T05:39:12.123456Z"}"#;
/// The reply, sent as one single-line and one two-line SSE event.
const REPLY: &str = "Hello there\nfriend";
const STREAM: &str = "data: Hello\n\ndata:  there\ndata: friend\n\n";

struct PlainServer {
    url: String,
    stop: Arc<AtomicBool>,
}

impl PlainServer {
    fn start() -> PlainServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!(
            "http://{}/api/v1",
            listener.local_addr().expect("local addr")
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        // The messages "stored" so far, as JSON objects.
        let messages = Arc::new(Mutex::new(Vec::<String>::new()));
        thread::spawn(move || {
            let deadline = Instant::now() + STEP * 2;
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let messages = messages.clone();
                        thread::spawn(move || serve(stream, &messages));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        PlainServer { url, stop }
    }

    fn chatctl(&self, home: &std::path::Path) -> Chatctl {
        Chatctl::new(home.to_path_buf())
            .env("CHATCTL_SERVER", &self.url)
            .args(["--no-autostart", "--user", "alice"])
    }
}

impl Drop for PlainServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, messages: &Mutex<Vec<String>>) {
    let Some((request_line, body, mut stream)) = read_request(stream) else {
        return;
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, answer) = match (method, path) {
        ("GET", "/api/v1/users/alice") => (200, "application/json", USER.to_string()),
        ("POST", "/api/v1/conversations/") => (200, "application/json", CONVERSATION.to_string()),
        ("GET", "/api/v1/conversations/1") => {
            let stored = messages.lock().map(|m| m.join(",")).unwrap_or_default();
            let conversation = CONVERSATION.trim_end_matches('}');
            (
                200,
                "application/json",
                format!(r#"{conversation},"messages":[{stored}]}}"#),
            )
        }
        ("POST", "/api/v1/chat") => {
            let request: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            if let Ok(mut stored) = messages.lock() {
                let n = stored.len() as i64;
                let message = |role: &str, content: &serde_json::Value, id: i64| {
                    format!(
                        r#"{{"role":"{role}","content":{content},"id":{id},"conversation_id":1,"created_at":"2026-11-24T05:39:12.123456Z"}}"#
                    )
                };
                stored.push(message("user", &request["message"], n + 1));
                stored.push(message("assistant", &serde_json::Value::from(REPLY), n + 2));
            }
            (200, "text/event-stream", STREAM.to_string())
        }
        _ => (
            404,
            "application/json",
            r#"{"detail":"Not Found"}"#.to_string(),
        ),
    };
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.flush();
}

#[test]
fn status_says_reachable_without_a_status_endpoint() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    let run = server.chatctl(home.path()).args(["status"]).run().success();
    assert!(run.stdout.contains("reachable"), "{run:#?}");
    assert!(run.stdout.contains("no /status endpoint"), "{run:#?}");
    let json = server
        .chatctl(home.path())
        .args(["--json", "status"])
        .run()
        .success()
        .json();
    assert_eq!(json["reachable"], true);
    assert!(json["status"].is_null());
}

#[test]
fn send_reads_the_outcome_back_from_the_conversation() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    let human = server
        .chatctl(home.path())
        .args(["send", "--new", "hi"])
        .run()
        .success();
    assert_eq!(human.stdout, format!("{REPLY}\n"));

    let end = server
        .chatctl(home.path())
        .args(["--json", "send", "-c", "1", "hi"])
        .run()
        .success()
        .json();
    assert_eq!(end["status"], "complete");
    assert_eq!(end["message"]["content"], REPLY);
    assert_eq!(end["message"]["role"], "assistant");

    let run = server
        .chatctl(home.path())
        .args(["--json", "send", "--stream", "-c", "1", "hi"])
        .run()
        .success();
    let events = run.json_lines();
    let tokens: String = events
        .iter()
        .filter(|e| e["event"] == "token")
        .filter_map(|e| e["content"].as_str())
        .collect();
    assert_eq!(tokens, REPLY);
    assert_eq!(
        events.first().map(|e| e["event"].clone()),
        Some("token".into())
    );
    assert_eq!(
        events.last().map(|e| e["event"].clone()),
        Some("end".into())
    );
}

#[test]
fn conversation_management_is_unsupported_in_one_line() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    for args in [
        &["conv", "rename", "1", "new name"][..],
        &["conv", "rm", "--yes", "1"],
        &["conv", "prune", "--older-than", "30d"],
        &["conv", "set", "1", "--model", "m"],
        &["conv", "set", "1", "--temperature", "0.3"],
    ] {
        let run = server.chatctl(home.path()).args(args).run().code(3);
        assert!(
            run.error_line().contains("does not support"),
            "{args:?}: {run:#?}"
        );
    }
}

#[test]
fn models_says_in_one_line_that_the_server_does_not_support_it() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    for args in [&["models"][..], &["--json", "models"]] {
        let run = server.chatctl(home.path()).args(args).run().code(3);
        assert_eq!(run.stdout, "", "{run:#?}");
        assert_eq!(
            run.stderr.trim_end(),
            format!(
                "chatctl: the server at {} does not support listing models (it has no GET /models)",
                server.url
            ),
            "{run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1);
    }
}

#[test]
fn session_commands_that_change_the_conversation_are_unsupported_in_one_line() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    for line in [
        "/rename new name",
        "/model m",
        "/system",
        "/system Be brief.",
        "/system --clear",
        "/rm --yes",
    ] {
        let run = server
            .chatctl(home.path())
            .args(["chat", "1"])
            .run_with_stdin(&format!("{line}\n"))
            .code(3);
        assert!(
            run.error_line().contains("does not support"),
            "{line:?}: {run:#?}"
        );
    }
}

#[test]
fn show_has_no_reply_details_without_the_messages_extension() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().expect("temp dir");
    server
        .chatctl(home.path())
        .args(["send", "-c", "1", "hi"])
        .run()
        .success();
    let run = server
        .chatctl(home.path())
        .args(["conv", "show", "1"])
        .run()
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[1..],
        ["you: hi", "assistant: Hello there", "  friend"],
        "{run:#?}"
    );
    assert_eq!(run.stderr, "", "{run:#?}");
}
