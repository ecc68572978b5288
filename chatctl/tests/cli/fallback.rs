//! chatctl against a server that implements only the documented API (no extensions):
//! lists fall back to the documented list and say less.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Chatctl, STEP};

/// A server on 127.0.0.1 that answers the documented routes chatctl's list needs from
/// fixed data, and `{"detail":"Not Found"}` for any other path, as FastAPI does.
struct DocumentedOnly {
    url: String,
    stop: Arc<AtomicBool>,
}

impl DocumentedOnly {
    fn start() -> DocumentedOnly {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/api/v1", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::spawn(move || {
            let deadline = Instant::now() + STEP;
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        answer(stream);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        DocumentedOnly { url, stop }
    }
}

impl Drop for DocumentedOnly {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer(stream: std::net::TcpStream) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers (no request here has a body).
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    let (status, body) = match path {
        "/api/v1/users/zoe" => (
            "200 OK",
            r#"{"username":"zoe","email":null,"id":1,"created_at":"2026-12-01T10:00:00.000000Z"}"#,
        ),
        "/api/v1/users/1/conversations" => (
            "200 OK",
            r#"[{"user_id":1,"name":"old","id":1,"created_at":"2026-12-01T10:00:00.000000Z"},
                {"user_id":1,"name":null,"id":2,"created_at":"2026-12-01T11:00:00.000000Z"},
                {"user_id":1,"name":"new","id":3,"created_at":"2026-12-01T12:00:00.000000Z"}]"#,
        ),
        _ => ("404 Not Found", r#"{"detail":"Not Found"}"#),
    };
    let mut stream = &stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn without_summaries_the_list_is_the_documented_one_newest_created_first() {
    let server = DocumentedOnly::start();
    let home = tempfile::tempdir().expect("temp dir");
    let chatctl =
        || Chatctl::new(home.path().to_path_buf()).args(["--server", &server.url, "--user", "zoe"]);
    let json = chatctl()
        .args(["--json", "conv", "list"])
        .run()
        .success()
        .json();
    let ids = crate::support::ids(&json);
    assert_eq!(ids, [3, 2, 1]);
    assert!(json[0].get("message_count").is_none(), "{json}");

    let run = chatctl()
        .args(["conv", "list", "--limit", "2"])
        .run()
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run:#?}");
    assert!(
        lines[0].contains("CREATED") && !lines[0].contains("MSGS"),
        "{run:#?}"
    );
    assert!(lines[1].contains("new"), "{run:#?}");
    assert!(lines[2].contains("(untitled)"), "{run:#?}");
    assert_eq!(run.stderr.trim_end(), "1 more; --all or --limit 3");
}
