//! `chatctl send`: human, JSON, JSON stream, stdin, a closed pipe, Ctrl-C, conflicts.

use serde_json::Value;

use crate::support::{Daemon, stored_messages, with_user};

fn last_conversation(daemon: &Daemon) -> i64 {
    let list = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all", "--oldest-first"])
        .run()
        .success()
        .json();
    list.as_array()
        .and_then(|l| l.last())
        .and_then(|c| c["id"].as_i64())
        .expect("a conversation")
}

fn long_message(words: usize) -> String {
    (1..=words)
        .map(|n| format!("w{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn human_output_is_the_stored_reply() {
    let daemon = Daemon::start();
    with_user(&daemon, "gus");
    let run = daemon
        .chatctl()
        .args(["send", "the", "sky", "is", "blue"])
        .run()
        .success();
    assert_eq!(run.stderr, "");
    let id = last_conversation(&daemon);
    let messages = stored_messages(&daemon, id);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["content"], "the sky is blue");
    let reply = messages[1]["content"].as_str().expect("reply");
    assert!(!reply.is_empty());
    assert_eq!(run.stdout, format!("{reply}\n"));

    // The next send goes to the same conversation; --new starts another.
    daemon.chatctl().args(["send", "again"]).run().success();
    assert_eq!(last_conversation(&daemon), id);
    assert_eq!(stored_messages(&daemon, id).len(), 4);
    daemon
        .chatctl()
        .args(["send", "--new", "fresh"])
        .run()
        .success();
    assert_ne!(last_conversation(&daemon), id);
}

#[test]
fn json_prints_the_stored_assistant_message_with_its_outcome() {
    let daemon = Daemon::start();
    with_user(&daemon, "hana");
    let run = daemon
        .chatctl()
        .args(["--json", "send", "hello"])
        .run()
        .success();
    let end = run.json();
    assert_eq!(end["status"], "complete");
    assert!(end["error"].is_null());
    let message = &end["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["status"], "complete");
    let id = end["conversation_id"].as_i64().expect("conversation id");
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored[1]["content"], message["content"]);
    assert_eq!(stored[1]["id"], message["id"]);
}

#[test]
fn json_stream_prints_one_object_per_event() {
    let daemon = Daemon::start();
    with_user(&daemon, "ivan");
    let run = daemon
        .chatctl()
        .args(["--json", "send", "--stream", "one two three"])
        .run()
        .success();
    let events = run.json_lines();
    assert!(events.len() >= 3, "{run:#?}");
    assert_eq!(events[0]["event"], "start");
    assert_eq!(events[0]["user_message"]["content"], "one two three");
    let end = events.last().expect("end");
    assert_eq!(end["event"], "end");
    assert_eq!(end["status"], "complete");
    let tokens: String = events[1..events.len() - 1]
        .iter()
        .map(|e| {
            assert_eq!(e["event"], "token");
            e["content"].as_str().expect("content").to_string()
        })
        .collect();
    assert_eq!(Value::from(tokens), end["message"]["content"]);
}

#[test]
fn dash_reads_the_message_from_stdin_and_multi_line_replies_survive() {
    let daemon = Daemon::start();
    with_user(&daemon, "jun");
    let message = "line one\n  line two\n\nline four";
    let run = daemon
        .chatctl()
        .args(["send", "-"])
        .run_with_stdin(&format!("{message}\n"));
    let run = run.success();
    let id = last_conversation(&daemon);
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored[0]["content"], message);
    let reply = stored[1]["content"].as_str().expect("reply");
    assert!(!reply.is_empty());
    let expected = if reply.ends_with('\n') {
        reply.to_string()
    } else {
        format!("{reply}\n")
    };
    assert_eq!(run.stdout, expected);
}

#[test]
fn a_closed_pipe_exits_quietly_with_success() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "5"]);
    with_user(&daemon, "kai");
    let mut live = daemon.chatctl().args(["send", &long_message(400)]).spawn();
    live.read_until(|out| out.len() >= 10);
    live.close_stdout();
    let run = live.finish();
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "", "{run:#?}");
}

#[test]
fn ctrl_c_cancels_the_reply_and_exits_130() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "lea");
    let mut live = daemon
        .chatctl()
        .args(["--json", "send", "--stream", &long_message(300)])
        .spawn();
    live.read_until(|out| out.contains(r#""event":"token""#));
    live.interrupt();
    let run = live.finish();
    assert_eq!(run.code, 130, "{run:#?}");
    let events = run.json_lines();
    let end = events.last().expect("an end event");
    assert_eq!(end["event"], "end", "{run:#?}");
    assert_eq!(end["status"], "cancelled", "{run:#?}");
    let id = end["conversation_id"].as_i64().expect("id");
    // What was generated until the cancel is stored.
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 2, "{stored:#?}");
    assert_eq!(stored[1]["content"], end["message"]["content"]);
}

#[test]
fn a_second_message_while_a_reply_streams_is_a_conflict() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "max");
    daemon.chatctl().args(["conv", "new"]).run().success();
    let id = last_conversation(&daemon).to_string();
    let mut first = daemon
        .chatctl()
        .args(["send", "-c", &id, &long_message(300)])
        .spawn();
    first.read_until(|out| !out.is_empty());
    let second = daemon
        .chatctl()
        .args(["send", "-c", &id, "me too"])
        .run()
        .code(4);
    assert_eq!(second.stdout, "");
    // The conflict points at the way out.
    assert!(
        second
            .error_line()
            .contains(&format!("`chatctl cancel {id}`")),
        "{second:#?}"
    );
    first.interrupt();
    assert_eq!(first.finish().code, 130);
}

#[test]
fn unknown_conversation_is_not_found() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["send", "-c", "999", "hello"])
        .run()
        .code(3);
    assert_eq!(run.stdout, "");
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
}

#[test]
fn an_empty_message_is_a_usage_error() {
    let daemon = Daemon::start();
    with_user(&daemon, "ned");
    daemon
        .chatctl()
        .args(["send", "-"])
        .run_with_stdin("\n")
        .code(2);
}

#[test]
fn no_message_with_a_piped_stdin_reads_stdin() {
    let daemon = Daemon::start();
    with_user(&daemon, "olaf");
    daemon
        .chatctl()
        .args(["send", "--new"])
        .run_with_stdin("hi from a pipe\n")
        .success();
    let stored = stored_messages(&daemon, last_conversation(&daemon));
    assert_eq!(stored[0]["content"], "hi from a pipe");
    // An empty pipe is an empty message, not a hang.
    daemon.chatctl().args(["send"]).run().code(2).error_line();
}
