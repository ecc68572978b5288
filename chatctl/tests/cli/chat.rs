//! `chatctl chat` driven through piped stdin: history, replies, `/`-commands, JSON mode
//! and Ctrl-C during a reply.

use crate::support::{Daemon, stored_messages, with_user};

fn conversations(daemon: &Daemon) -> Vec<serde_json::Value> {
    daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all", "--oldest-first"])
        .run()
        .success()
        .json()
        .as_array()
        .expect("array")
        .clone()
}

#[test]
fn a_piped_session_chats_switches_and_quits() {
    let daemon = Daemon::start();
    with_user(&daemon, "olga");
    let run = daemon
        .chatctl()
        .args(["chat", "--new"])
        .run_with_stdin("hello chat\n/new named\nsecond message\n/list\n/help\n/quit\nnever sent\n")
        .success();
    let convs = conversations(&daemon);
    assert_eq!(convs.len(), 2, "{convs:#?}");
    assert_eq!(convs[1]["name"], "named");
    let first = stored_messages(&daemon, convs[0]["id"].as_i64().expect("id"));
    let second = stored_messages(&daemon, convs[1]["id"].as_i64().expect("id"));
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 2, "/quit ends the session: {second:#?}");
    for (messages, said) in [(&first, "hello chat"), (&second, "second message")] {
        assert_eq!(messages[0]["content"], said);
        let reply = messages[1]["content"].as_str().expect("reply");
        assert!(!reply.is_empty());
        assert!(
            run.stdout
                .contains(&format!("you: {said}\nassistant: {reply}\n")),
            "{run:#?}"
        );
    }
    // /list prints the conversations; /help goes to stderr.
    assert!(run.stdout.contains("named"), "{run:#?}");
    assert!(run.stderr.contains("/switch"), "{run:#?}");
}

#[test]
fn history_is_shown_on_entry_and_switch_opens_another_conversation() {
    let daemon = Daemon::start();
    with_user(&daemon, "piet");
    daemon
        .chatctl()
        .args(["send", "--new", "remember me"])
        .run()
        .success();
    daemon.chatctl().args(["conv", "new"]).run().success();
    let convs = conversations(&daemon);
    let first = convs[0]["id"].to_string();
    let second = convs[1]["id"].to_string();

    // `conv new` made the second one current; --continue opens it (empty), then /switch.
    let run = daemon
        .chatctl()
        .args(["chat", "--continue"])
        .run_with_stdin(&format!("/switch {first}\n"))
        .success();
    let opened_second = run
        .stdout
        .find(&format!("conversation {second} "))
        .expect("second opened");
    let opened_first = run
        .stdout
        .find(&format!("conversation {first} "))
        .expect("first opened");
    assert!(opened_second < opened_first, "{run:#?}");
    assert!(
        run.stdout[opened_first..].contains("you: remember me"),
        "{run:#?}"
    );

    // Given an id, chat shows that conversation's history first.
    let run = daemon
        .chatctl()
        .args(["chat", &first])
        .run_with_stdin("")
        .success();
    assert!(run.stdout.contains("you: remember me"), "{run:#?}");
}

#[test]
fn json_sessions_print_one_object_per_line() {
    let daemon = Daemon::start();
    with_user(&daemon, "quinn");
    let run = daemon
        .chatctl()
        .args(["--json", "chat", "--new"])
        .run_with_stdin("hi there\n/quit\n")
        .success();
    let events = run.json_lines();
    assert_eq!(events[0]["event"], "conversation", "{run:#?}");
    assert_eq!(events[0]["messages"], serde_json::json!([]));
    assert_eq!(events[1]["event"], "start");
    let end = events.last().expect("end");
    assert_eq!(end["event"], "end");
    assert_eq!(end["status"], "complete");
}

#[test]
fn an_unknown_command_ends_a_scripted_session_as_a_usage_error() {
    let daemon = Daemon::start();
    with_user(&daemon, "rosa");
    let run = daemon
        .chatctl()
        .args(["chat", "--new"])
        .run_with_stdin("/bogus\nnot sent\n")
        .code(2);
    assert!(run.error_line().contains("/bogus"), "{run:#?}");
}

#[test]
fn an_unknown_conversation_is_not_found() {
    let daemon = Daemon::start();
    with_user(&daemon, "sam");
    let run = daemon.chatctl().args(["chat", "999"]).run().code(3);
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
}

#[test]
fn ctrl_c_during_a_reply_leaves_the_session_usable() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "tova");
    let mut live = daemon.chatctl().args(["chat", "--new"]).spawn();
    let words: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    live.write(&format!("{}\n", words.join(" ")));
    live.read_until(|out| out.contains("assistant: w"));
    live.interrupt();
    live.write("short one\n");
    live.read_until(|out| out.contains("you: short one\nassistant: ") && out.ends_with('\n'));
    live.write("/quit\n");
    let run = live.finish();
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("[reply stopped"), "{run:#?}");
    let id = conversations(&daemon)[0]["id"].as_i64().expect("id");
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    assert_eq!(stored[2]["content"], "short one");
}

fn long_message(words: usize) -> String {
    (1..=words)
        .map(|n| format!("w{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_reply_in_flight_is_shown_on_entry() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "20"]);
    with_user(&daemon, "uri");
    daemon.chatctl().args(["conv", "new"]).run().success();
    let id = conversations(&daemon)[0]["id"].as_i64().expect("id");
    let mut sender = daemon
        .chatctl()
        .args(["send", "-c", &id.to_string(), &long_message(200)])
        .spawn();
    sender.read_until(|out| !out.is_empty());
    let run = daemon
        .chatctl()
        .args(["chat", &id.to_string()])
        .run_with_stdin("next\n")
        .success();
    assert_eq!(sender.finish().code, 0);
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    // Followed live or found in the history, the first reply is on stdout, whole.
    for reply in [&stored[1], &stored[3]] {
        let text = reply["content"].as_str().expect("reply");
        assert!(!text.is_empty());
        assert!(
            run.stdout.contains(&format!("assistant: {text}\n")),
            "{run:#?}"
        );
    }
}

#[test]
fn a_message_during_another_clients_reply_waits_for_it() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "20"]);
    with_user(&daemon, "vera");
    daemon.chatctl().args(["conv", "new"]).run().success();
    let id = conversations(&daemon)[0]["id"].as_i64().expect("id");
    let mut chat = daemon.chatctl().args(["chat", &id.to_string()]).spawn();
    chat.read_until(|out| out.contains(&format!("conversation {id} ")));
    let mut sender = daemon
        .chatctl()
        .args(["send", "-c", &id.to_string(), &long_message(300)])
        .spawn();
    sender.read_until(|out| !out.is_empty());
    chat.write("mine\n");
    chat.read_until(|out| out.matches("assistant: ").count() >= 2 && out.ends_with('\n'));
    chat.write("/quit\n");
    let run = chat.finish();
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("following it first"), "{run:#?}");
    assert_eq!(sender.finish().code, 0);
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    assert_eq!(stored[2]["content"], "mine");
}
