//! A model that reasons, through chatd: `send --show-reasoning` shows the reasoning on
//! stderr and keeps stdout the reply; without it nothing of the reasoning is printed;
//! `--json --stream` carries it as `reasoning` events. A tiny OpenAI-compatible server
//! on 127.0.0.1 stands in for the model (also for the tests of the spinner and of
//! `conv show`'s details).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Daemon, STEP, read_request, with_user};

const REASONING: [&str; 2] = ["Let me", " think."];
const REPLY: [&str; 2] = ["The", " answer"];

/// chatd answering with [`reasoning_model`] (`pause` before each piece of its stream).
pub fn daemon_with_reasoning_model(pause: Duration) -> Daemon {
    let model = reasoning_model(pause);
    Daemon::start_with(&[
        "--provider",
        "openai",
        "--openai-base-url",
        &model,
        "--model",
        "thinker",
    ])
}

/// Serves every `POST /v1/chat/completions` with the stream of a reasoning model, until
/// the test's time runs out, with `pause` before each piece of the stream (a model that
/// takes its time to think, then to answer). Its replies report 5 prompt and 4
/// completion tokens.
fn reasoning_model(pause: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/v1", listener.local_addr().expect("address"));
    thread::spawn(move || {
        let deadline = Instant::now() + STEP * 2;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    thread::spawn(move || answer(stream, pause));
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    url
}

fn answer(stream: TcpStream, pause: Duration) {
    let Some((_, _, mut stream)) = read_request(stream) else {
        return;
    };
    let chunk = |field: &str, text: &str| {
        let chunk = serde_json::json!({"model": "thinker-1", "choices": [{"index": 0, "delta": {field: text}, "finish_reason": null}]});
        format!("data: {chunk}\n\n")
    };
    let mut events: Vec<String> = REASONING
        .iter()
        .map(|r| chunk("reasoning_content", r))
        .chain(REPLY.iter().map(|t| chunk("content", t)))
        .collect();
    events.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
    );
    events.push("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n".into());
    // Without a length the body ends when the connection closes, so it can be paced.
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    );
    for event in events {
        thread::sleep(pause);
        if stream
            .write_all(event.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn reasoning_is_shown_only_when_asked_and_never_on_stdout() {
    let daemon = daemon_with_reasoning_model(Duration::ZERO);
    with_user(&daemon, "ravi");

    let shown = daemon
        .chatctl()
        .args(["send", "--show-reasoning", "why?"])
        .run()
        .success();
    assert_eq!(shown.stdout, "The answer\n");
    assert_eq!(shown.stderr, "Let me think.\n", "{shown:#?}");

    let quiet = daemon.chatctl().args(["send", "why?"]).run().success();
    assert_eq!(quiet.stdout, "The answer\n");
    assert_eq!(quiet.stderr, "", "{quiet:#?}");

    let run = daemon
        .chatctl()
        .args(["--json", "send", "--stream", "why?"])
        .run()
        .success();
    let events = run.json_lines();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        ["start", "reasoning", "reasoning", "token", "token", "end"]
    );
    let end = events.last().expect("an end event");
    assert_eq!(end["message"]["reasoning"], "Let me think.");
    assert_eq!(end["message"]["model"], "openai/thinker-1");
    assert_eq!(end["message"]["usage"]["completion_tokens"], 4);
}
