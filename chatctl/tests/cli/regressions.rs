//! Bugs a new user hit, each pinned by the test that failed before its fix.

use crate::support::{Chatctl, Daemon, closed_port, new_conversation, stored_messages, with_user};

#[test]
fn a_failed_send_to_an_unknown_id_is_not_remembered() {
    let daemon = Daemon::start();
    with_user(&daemon, "ada");
    daemon.chatctl().args(["send", "first"]).run().success();
    let current = daemon
        .chatctl()
        .args(["--json", "conv", "show"])
        .run()
        .success()
        .json()["id"]
        .as_i64()
        .expect("the current conversation");
    daemon
        .chatctl()
        .args(["send", "-c", "999", "x"])
        .run()
        .code(3);
    // The next send without -c still goes to the conversation the server confirmed.
    daemon.chatctl().args(["send", "again"]).run().success();
    assert_eq!(stored_messages(&daemon, current).len(), 4);
    let run = daemon
        .chatctl()
        .args(["chat", "--continue"])
        .run_with_stdin("")
        .success();
    assert!(!run.stderr.contains("No previous conversation"), "{run:#?}");
    assert!(
        run.stdout.contains(&format!("conversation {current} ")),
        "{run:#?}"
    );
}

#[test]
fn another_users_conversation_is_refused_everywhere_and_unknown_ids_are_not_found() {
    let daemon = Daemon::start();
    with_user(&daemon, "alice");
    let alices = new_conversation(&daemon);
    with_user(&daemon, "bob");
    let id = alices.to_string();
    let refusals = [
        daemon
            .chatctl()
            .args(["chat", &id])
            .run_with_stdin("hello\n"),
        daemon.chatctl().args(["send", "-c", &id, "hello"]).run(),
        daemon
            .chatctl()
            .args(["chat", "--new"])
            .run_with_stdin(&format!("/switch {id}\nhello\n")),
        daemon.chatctl().args(["cancel", &id]).run(),
        daemon.chatctl().args(["conv", "rename", &id, "mine"]).run(),
        daemon
            .chatctl()
            .args(["conv", "set", &id, "--temperature", "1"])
            .run(),
        daemon.chatctl().args(["conv", "rm", "--yes", &id]).run(),
    ];
    for run in refusals {
        assert_eq!(run.code, 3, "{run:#?}");
        assert!(
            run.stderr
                .contains(&format!("conversation {id} belongs to another user")),
            "{run:#?}"
        );
        assert!(run.stderr.contains("bob"), "{run:#?}");
    }
    assert_eq!(stored_messages(&daemon, alices).len(), 0, "nothing written");
    let kept = daemon
        .chatctl()
        .args(["--json", "conv", "show", &id])
        .run()
        .success()
        .json();
    assert!(kept["name"].is_null(), "not renamed, not deleted: {kept}");

    let run = daemon
        .chatctl()
        .args(["chat", "--new"])
        .run_with_stdin("/switch 999\n")
        .code(3);
    assert!(run.stderr.contains("not found"), "{run:#?}");
    assert!(!run.stderr.contains("another user"), "{run:#?}");
}

#[test]
fn status_without_no_autostart_does_not_suggest_dropping_it() {
    let home = tempfile::tempdir().expect("temp dir");
    let server = format!("http://127.0.0.1:{}/api/v1", closed_port());
    let run = Chatctl::new(home.path().to_path_buf())
        .args(["--server", &server, "status"])
        .run()
        .code(5);
    assert!(!run.stderr.contains("--no-autostart"), "{run:#?}");
    assert!(run.stderr.contains("chatctl daemon start"), "{run:#?}");
}

#[test]
fn a_server_without_the_api_base_path_is_named_with_the_fix() {
    let daemon = Daemon::start();
    with_user(&daemon, "alice");
    let root = daemon
        .url
        .strip_suffix("/api/v1")
        .expect("the daemon's URL ends in /api/v1")
        .to_string();
    for args in [
        &["user", "show", "alice"][..],
        &["--user", "alice", "conv", "list"],
        &["send", "hello"],
        &["status"],
    ] {
        let run = daemon
            .chatctl()
            .args(["--server", &root])
            .args(args)
            .run()
            .code(5);
        let line = run.error_line();
        assert!(!line.contains("user create"), "{run:#?}");
        assert!(line.contains("not there"), "{run:#?}");
        assert!(line.contains(&format!("{root}/api/v1")), "{run:#?}");
    }
}

#[test]
fn stdin_that_is_not_utf8_is_a_usage_error_worded_once() {
    let daemon = Daemon::start();
    with_user(&daemon, "ines");
    let bytes = b"caf\xe9 au lait\n";
    let send = daemon
        .chatctl()
        .args(["send", "-"])
        .run_with_stdin_bytes(bytes)
        .code(2);
    let chat = daemon
        .chatctl()
        .args(["chat", "--new"])
        .run_with_stdin_bytes(bytes)
        .code(2);
    assert!(send.error_line().contains("not UTF-8"), "{send:#?}");
    assert_eq!(send.error_line(), chat.stderr.trim_end(), "{chat:#?}");
}

#[test]
fn validation_errors_name_the_argument_in_plain_words() {
    let daemon = Daemon::start();
    with_user(&daemon, "jo");
    let run = daemon
        .chatctl()
        .args(["send", "-"])
        .run_with_stdin("a\0b\n")
        .code(2);
    let line = run.error_line();
    assert!(line.contains("invalid message: "), "{run:#?}");
    assert!(line.contains("NUL"), "{run:#?}");
    assert!(!line.contains("body.message"), "{run:#?}");
    assert!(!line.contains("Value error"), "{run:#?}");
}

#[test]
fn cancel_stops_the_reply_in_flight_and_says_when_there_is_none() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "max");
    let id = new_conversation(&daemon).to_string();
    let long: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    let mut first = daemon
        .chatctl()
        .args(["send", "-c", &id])
        .args(&long)
        .spawn();
    first.read_until(|out| !out.is_empty());

    // No id: the current conversation.
    let run = daemon.chatctl().args(["cancel"]).run().success();
    assert!(run.stdout.contains("cancelled"), "{run:#?}");
    let sender = first.finish();
    assert_eq!(sender.code, 1, "cancelled elsewhere: {sender:#?}");
    let stored = stored_messages(&daemon, id.parse().expect("id"));
    assert_eq!(stored.len(), 2, "{stored:#?}");

    let run = daemon.chatctl().args(["cancel", &id]).run().code(3);
    assert!(
        run.error_line().contains("no reply is in progress"),
        "{run:#?}"
    );
    let run = daemon.chatctl().args(["cancel", "999"]).run().code(3);
    assert!(run.error_line().contains("not found"), "{run:#?}");
}
