//! `chatctl watch` against a real chatd (issue 15, "a live feed"): `--json` prints one
//! object per line and sees the `reply.ended` of a chat sent meanwhile, `--user`
//! keeps one user's events, and it ends cleanly on Ctrl-C and on a closed stdout.

use crate::support::{Daemon, with_user};

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

#[test]
fn watch_json_sees_the_reply_of_a_chat_sent_meanwhile() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "first");
    let mut watch = daemon.chatctl().args(["--json", "watch"]).spawn();
    // Something to see before the chat: the watch is connected once it shows.
    with_user(&daemon, "second");
    watch.read_until(|out| out.contains("user.created"));
    let sent = daemon
        .chatctl()
        .args(["--user", "second", "--json", "send", "hello watcher"])
        .run()
        .success();
    let conversation = sent.json()["conversation_id"].as_i64().expect("an id");
    let out = watch.read_until(|out| out.contains("\"reply.ended\""));
    let seen = lines(&out);
    let ended = seen
        .iter()
        .find(|line| line["event"] == "reply.ended")
        .expect("reply.ended");
    assert_eq!(ended["data"]["conversation_id"], conversation);
    assert_eq!(ended["data"]["status"], "complete");
    assert!(ended["id"].as_str().is_some_and(|id| id.contains('-')));
    let kinds: Vec<&str> = seen.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "conversation.created",
            "message.created",
            "reply.started",
            "message.created",
            "reply.ended"
        ]
    );
    watch.interrupt();
    let run = watch.finish();
    assert_eq!(run.code, 0, "Ctrl-C ends it cleanly: {run:?}");
}

#[test]
fn watch_keeps_one_user_reads_on_a_terminal_and_stops_when_stdout_closes() {
    let daemon = Daemon::start();
    with_user(&daemon, "watched");
    with_user(&daemon, "other");
    let mut watch = daemon
        .chatctl()
        .args(["--user", "watched", "watch"])
        .spawn();
    daemon
        .chatctl()
        .args(["--user", "other", "send", "not for the watcher"])
        .run()
        .success();
    daemon
        .chatctl()
        .args(["--user", "watched", "send", "for the watcher"])
        .run()
        .success();
    let out = watch.read_until(|out| out.contains("reply.ended"));
    let first = out.lines().next().expect("a line");
    assert!(
        first.starts_with("conversation.created  conversation "),
        "{out}"
    );
    assert!(out.contains(": complete (message "), "{out}");
    // Only the watched user's conversation: one conversation.created.
    assert_eq!(out.matches("conversation.created").count(), 1, "{out}");

    // As `| head -1`: stdout closes, the next event ends it with code 0.
    watch.close_stdout();
    daemon
        .chatctl()
        .args(["--user", "watched", "send", "once more"])
        .run()
        .success();
    let run = watch.finish();
    assert_eq!(run.code, 0, "a closed stdout ends it quietly: {run:?}");
}
