//! `chatctl chat` on a pseudo-terminal, as a person uses it: the dialoguer prompt, the
//! spinner, Ctrl-C typed during a reply (the line discipline turns it into SIGINT), and
//! `NO_COLOR` keeping colour codes out even on a terminal.

use crate::pty::{Pty, wait_exit};
use crate::support::{Daemon, chatctl_bin, stored_messages, with_user};

/// Whether `text` holds an SGR (colour or style) escape sequence: ESC [ digits/; m.
fn has_sgr(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|params| {
            let end = params
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(params.len());
            params[end..].starts_with('m')
        })
    })
}

#[test]
fn a_terminal_session_streams_survives_ctrl_c_and_respects_no_color() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "wren");

    let home = daemon.home();
    let mut command = testkit::isolated(chatctl_bin(), &home);
    command
        .args(["chat", "--new"])
        .env("CHATCTL_SERVER", &daemon.url)
        .env("NO_COLOR", "1");
    let (mut pty, mut child) = Pty::spawn(command);

    pty.wait_for("the prompt", |t| t.contains("you"));
    pty.type_keys("hello terminal\r");
    pty.wait_for("the first reply", |t| {
        t.find("assistant: ")
            .is_some_and(|at| t[at..].contains('\n'))
    });
    // After the reply, the line that says what answered (echo reports no tokens).
    pty.wait_for("the reply's model", |t| t.contains("\necho/echo"));
    let words: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    pty.type_keys(&format!("{}\r", words.join(" ")));
    pty.wait_for("the reply streaming", |t| t.contains("assistant: w1"));
    pty.type_keys("\u{3}");
    pty.wait_for("the stop notice", |t| t.contains("[reply stopped"));
    pty.type_keys("/quit\r");

    let status = wait_exit(&mut child);
    let text = pty.wait_for("everything", |_| true);
    assert_eq!(status.code(), Some(0), "{text:?}");
    assert!(!has_sgr(&text), "colour despite NO_COLOR: {text:?}");

    let conversations = daemon
        .chatctl()
        .args(["--json", "conv", "list"])
        .run()
        .success()
        .json();
    let id = conversations[0]["id"].as_i64().expect("id");
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    assert_eq!(stored[0]["content"], "hello terminal");
}

#[test]
fn sgr_detection_is_precise() {
    assert!(has_sgr("a\u{1b}[1;32mb"));
    assert!(has_sgr("\u{1b}[0m"));
    assert!(!has_sgr("\u{1b}[3A\u{1b}[2K\r"));
    assert!(!has_sgr("plain"));
}
