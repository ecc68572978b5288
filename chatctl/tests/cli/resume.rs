//! Replies that survive their connection (issue 15): `send` sent again with its
//! Idempotency-Key when the connection drops before an answer, a stream resumed after
//! its last event id when it breaks mid-reply (both through a real TCP proxy that cuts
//! the connection), `send --detach`, `wait` and `attach`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crate::support::{Daemon, stored_messages, with_user};

/// Where a [`CuttingProxy`] cuts the one connection it cuts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The chat's request reaches chatd, but the connection closes before any answer.
    BeforeTheAnswer,
    /// The connection closes right after the first reply event with an id.
    AfterTheFirstEvent,
}

/// A TCP proxy in front of chatd that passes everything through, except that it cuts
/// one connection (the first that matches `cut`), for real, once.
struct CuttingProxy {
    port: u16,
    cut_done: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(upstream: u16, cut: Cut) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cut_done = Arc::new(AtomicBool::new(false));
        let done = cut_done.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    break;
                };
                relay(client, server, cut, done.clone());
            }
        });
        CuttingProxy { port, cut_done }
    }

    /// chatctl's `--server` through this proxy, for a chatd at `url`.
    fn server(&self, url: &str) -> String {
        let path = url.split_once("//").map_or("", |(_, rest)| {
            rest.find('/').map_or("", |slash| &rest[slash..])
        });
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn relay(client: TcpStream, server: TcpStream, cut: Cut, done: Arc<AtomicBool>) {
    // Set when this connection is the one cut before the answer: nothing of chatd's
    // answer may reach the client.
    let doomed = Arc::new(AtomicBool::new(false));
    let (mut from_client, mut to_server) = (clone(&client), clone(&server));
    let (mut from_server, mut to_client) = (server, client);
    let (upward_done, upward_doomed) = (done.clone(), doomed.clone());
    let client_side = clone(&to_client);
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buffer) {
            let chunk = &buffer[..n];
            let is_chat = String::from_utf8_lossy(chunk).contains("POST /api/v1/chat");
            if cut == Cut::BeforeTheAnswer && is_chat && !upward_done.swap(true, Ordering::SeqCst) {
                upward_doomed.store(true, Ordering::SeqCst);
                let _ = to_server.write_all(chunk);
                // chatd stores the message meanwhile; then the connection goes.
                thread::sleep(Duration::from_millis(300));
                let _ = client_side.shutdown(Shutdown::Both);
                let _ = to_server.shutdown(Shutdown::Both);
                return;
            }
            if to_server.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buffer) {
            if doomed.load(Ordering::SeqCst) {
                break;
            }
            let chunk = &buffer[..n];
            let has_id = String::from_utf8_lossy(chunk).contains("id: ");
            if to_client.write_all(chunk).is_err() {
                break;
            }
            if cut == Cut::AfterTheFirstEvent && has_id && !done.swap(true, Ordering::SeqCst) {
                let _ = to_client.shutdown(Shutdown::Both);
                let _ = from_server.shutdown(Shutdown::Both);
                return;
            }
        }
        let _ = to_client.shutdown(Shutdown::Both);
    });
}

fn clone(stream: &TcpStream) -> TcpStream {
    stream.try_clone().expect("clone a socket")
}

fn port_of(url: &str) -> u16 {
    let after_host = url.rsplit_once(':').map_or("", |(_, rest)| rest);
    after_host
        .split('/')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port in the daemon's url")
}

fn message(words: usize) -> String {
    (1..=words)
        .map(|n| format!("word{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn the_only_conversation(daemon: &Daemon) -> i64 {
    let list = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all"])
        .run()
        .success()
        .json();
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    list[0]["id"].as_i64().expect("an id")
}

/// `send` through a proxy that cuts its connection once, at `cut`: the reply printed
/// whole and once, one message stored.
fn send_survives(cut: Cut, user: &str, echo_delay_ms: &str, words: usize) {
    let daemon = Daemon::start_with(&["--echo-delay-ms", echo_delay_ms]);
    with_user(&daemon, user);
    let proxy = CuttingProxy::start(port_of(&daemon.url), cut);
    let text = message(words);
    let run = daemon
        .chatctl()
        .env("CHATCTL_SERVER", proxy.server(&daemon.url))
        .args(["send", &text])
        .run()
        .success();
    assert!(
        proxy.cut_done.load(Ordering::SeqCst),
        "the connection was cut"
    );
    assert_eq!(run.stdout, format!("{text}\n"), "the reply, once: {run:#?}");
    let messages = stored_messages(&daemon, the_only_conversation(&daemon));
    assert_eq!(
        messages.len(),
        2,
        "one message stored, not two: {messages:?}"
    );
}

#[test]
fn send_sends_again_with_its_key_when_the_connection_drops_before_the_answer() {
    send_survives(Cut::BeforeTheAnswer, "retry", "20", 12);
}

#[test]
fn send_resumes_a_stream_that_breaks_mid_reply_without_repeating_it() {
    send_survives(Cut::AfterTheFirstEvent, "resume", "30", 20);
}

#[test]
fn send_detach_returns_at_once_and_wait_prints_how_the_reply_ended() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "40"]);
    with_user(&daemon, "detached");
    let text = message(15);
    let run = daemon
        .chatctl()
        .args(["send", "--detach", &text])
        .run()
        .success();
    let id: i64 = run.stdout.trim().parse().expect("the conversation id");
    // Still running: the reply takes 15 × 40 ms.
    let messages = stored_messages(&daemon, id);
    assert_eq!(messages.len(), 1, "only the user message so far");

    let waited = daemon
        .chatctl()
        .args(["wait", &id.to_string()])
        .run()
        .success();
    assert_eq!(waited.stdout, format!("{text}\n"));
    // Ended: answered from the stored conversation, in JSON too.
    let again = daemon
        .chatctl()
        .args(["--json", "wait", &id.to_string()])
        .run()
        .success()
        .json();
    assert_eq!(again["status"], "complete");
    assert_eq!(again["message"]["content"], text.as_str());

    let object = daemon
        .chatctl()
        .args(["--json", "send", "--detach", "-c", &id.to_string(), "slow"])
        .run()
        .success()
        .json();
    assert_eq!(object["conversation_id"], id);
    assert_eq!(object["reply"]["status"], "in_progress");
    assert_eq!(object["user_message"]["content"], "slow");
}

#[test]
fn wait_gives_up_at_its_timeout_and_attach_follows_from_a_cursor() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "100"]);
    with_user(&daemon, "follower");
    let text = message(20);
    let detached = daemon
        .chatctl()
        .args(["--json", "send", "--detach", &text])
        .run()
        .success()
        .json();
    let id = detached["conversation_id"]
        .as_i64()
        .expect("id")
        .to_string();
    let cursor = detached["reply"]["cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let gave_up = daemon
        .chatctl()
        .args(["wait", &id, "--timeout", "0.3"])
        .run()
        .code(1);
    assert!(gave_up.error_line().contains("did not end"), "{gave_up:#?}");

    // From the start, while it streams: the whole reply.
    let attached = daemon.chatctl().args(["attach", &id]).run().success();
    assert_eq!(attached.stdout, format!("{text}\n"));
    // From a cursor, once stored: what came after it.
    let reply_id = cursor.split(':').next().expect("reply id");
    let rest = daemon
        .chatctl()
        .args(["attach", &id, "--after", &format!("{reply_id}:5")])
        .run()
        .success();
    assert_eq!(rest.stdout, format!("{}\n", &text[5..]));
    // Past its end nothing streams.
    daemon
        .chatctl()
        .args(["attach", &id, "--after", &format!("{reply_id}:end")])
        .run()
        .code(3);
}
