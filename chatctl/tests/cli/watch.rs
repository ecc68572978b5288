//! `chatctl watch` against a real chatd (issue 15, "a live feed"): `--json` prints one
//! object per line and sees the `reply.ended` of a chat sent meanwhile, `--user`
//! keeps one user's events, and it ends cleanly on Ctrl-C and on a closed stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{Chatctl, Daemon, Live, with_user};

/// Makes events with `chatctl ARGS…` (numbered by `{n}` in them) every 200 ms until
/// `watch` prints `seen`: a watch that has just started may not be subscribed yet.
fn until_connected(daemon: &Daemon, watch: &mut Live, args: &[&str], seen: &str) {
    let stop = Arc::new(AtomicBool::new(false));
    let maker = {
        let stop = stop.clone();
        let (home, url) = (daemon.home(), daemon.url.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        std::thread::spawn(move || {
            // Bounded: at most 100 events, 20 s.
            for n in 0..100 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let numbered: Vec<String> = args
                    .iter()
                    .map(|a| a.replace("{n}", &n.to_string()))
                    .collect();
                Chatctl::new(home.clone())
                    .env("CHATCTL_SERVER", &url)
                    .args(&numbered)
                    .run();
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    };
    watch.read_until(|out| out.contains(seen));
    stop.store(true, Ordering::SeqCst);
    maker.join().expect("the event maker");
}

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
    until_connected(
        &daemon,
        &mut watch,
        &["user", "create", "probe{n}"],
        "user.created",
    );
    let sent = daemon
        .chatctl()
        .args(["--user", "first", "--json", "send", "hello watcher"])
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
    // After the probes' users: the chat's events, in order.
    let kinds: Vec<&str> = seen
        .iter()
        .filter_map(|l| l["event"].as_str())
        .skip_while(|kind| *kind == "user.created")
        .collect();
    assert_eq!(
        kinds,
        [
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
    until_connected(
        &daemon,
        &mut watch,
        &["--user", "watched", "conv", "new"],
        "conversation.created",
    );
    let other = daemon
        .chatctl()
        .args(["--user", "other", "--json", "send", "not for the watcher"])
        .run()
        .success();
    let other_id = other.json()["conversation_id"].as_i64().expect("an id");
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
    // Nothing of the other user's.
    assert!(!out.contains(&format!("conversation {other_id} ")), "{out}");
    assert!(!out.contains(&format!("conversation {other_id},")), "{out}");

    // As `| head -1`: stdout closes, and a write after that ends it with code 0. The
    // pipe closes once the reading side has taken one more chunk, and chatctl may
    // write a whole reply's lines into that chunk, so events are made until it has
    // written again (bounded: ten replies).
    watch.close_stdout();
    for _ in 0..10 {
        daemon
            .chatctl()
            .args(["--user", "watched", "send", "once more"])
            .run()
            .success();
        std::thread::sleep(std::time::Duration::from_millis(100));
        if watch.exited() {
            break;
        }
    }
    let run = watch.finish();
    assert_eq!(run.code, 0, "a closed stdout ends it quietly: {run:?}");
}

#[test]
fn watch_reconnects_after_chatd_restarts_and_says_what_it_missed() {
    let mut daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "steady");
    let mut watch = daemon.chatctl().args(["--json", "watch"]).spawn();
    until_connected(
        &daemon,
        &mut watch,
        &["user", "create", "before{n}"],
        "user.created",
    );
    // A crash and a start on the same port: the feed's ids are the old process's, so
    // the watch, back with its last id, is told it lagged, then sees what comes next.
    daemon.restart();
    until_connected(
        &daemon,
        &mut watch,
        &["user", "create", "after{n}"],
        "\"username\":\"after",
    );
    let seen = lines(&watch.read_until(|out| out.contains("\"username\":\"after")));
    let lagged = seen
        .iter()
        .position(|line| line["event"] == "lagged")
        .expect("a lagged line after the restart");
    assert_eq!(seen[lagged]["id"], serde_json::Value::Null);
    let after = seen
        .iter()
        .position(|line| {
            line["data"]["username"]
                .as_str()
                .is_some_and(|name| name.starts_with("after"))
        })
        .expect("an event of the new process");
    assert!(lagged < after, "{seen:?}");
    watch.interrupt();
    let run = watch.finish();
    assert_eq!(run.code, 0, "{run:?}");
}
