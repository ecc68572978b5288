//! Replies rendered as Markdown on a terminal (`send`, `conv show`), without escape codes
//! under `NO_COLOR`, and as written with `--raw` or on a pipe.

use crate::support::{Daemon, with_user};
use crate::tty::{has_sgr, spawn};

const REPLY: &str = "# Plan\n\n- first **step**\n- second\n\nA [link](https://example.com).";

/// What `chatctl ARGS` printed on a terminal, after it exited 0.
fn on_terminal(daemon: &Daemon, args: &[&str], env: &[(&str, &str)]) -> String {
    let pty = spawn(daemon, args, env);
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");
    text.replace("\r\n", "\n")
}

/// `text` without CSI sequences (colours, cursor moves).
fn without_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn a_reply_on_a_terminal_is_rendered_and_on_a_pipe_it_is_as_written() {
    let daemon = Daemon::start();
    with_user(&daemon, "md");

    let colored = on_terminal(&daemon, &["send", "--new", REPLY], &[]);
    assert!(has_sgr(&colored), "{colored:?}");
    let text = without_escapes(&colored);
    assert!(
        text.ends_with("Plan\n\n• first step\n• second\n\nA link (https://example.com).\n"),
        "{text:?}"
    );

    let plain = on_terminal(&daemon, &["send", "--new", REPLY], &[("NO_COLOR", "1")]);
    assert!(!has_sgr(&plain), "{plain:?}");
    assert!(
        plain.ends_with("# Plan\n\n• first **step**\n• second\n\nA link (https://example.com).\n"),
        "{plain:?}"
    );

    let raw = on_terminal(&daemon, &["--raw", "send", "--new", REPLY], &[]);
    assert!(
        raw.ends_with(&format!("{}\n", REPLY.replace("\r\n", "\n"))),
        "{raw:?}"
    );
    assert!(!raw.contains('•'), "{raw:?}");

    let piped = daemon
        .chatctl()
        .args(["send", "--new", REPLY])
        .run()
        .success();
    assert_eq!(piped.stdout, format!("{REPLY}\n"));
}

#[test]
fn conv_show_renders_replies_and_indents_every_message_under_its_speaker() {
    let daemon = Daemon::start();
    with_user(&daemon, "hist");
    let sent = daemon
        .chatctl()
        .args(["--json", "send", "--new", "two\nlines"])
        .run()
        .success()
        .json();
    let id = sent["conversation_id"].as_i64().expect("id").to_string();

    let shown = on_terminal(&daemon, &["conv", "show", &id], &[("NO_COLOR", "1")]);
    assert!(
        shown.contains("you: two\n  lines\nassistant:\n  two lines\n"),
        "{shown:?}"
    );

    let piped = daemon.chatctl().args(["conv", "show", &id]).run().success();
    assert!(
        piped
            .stdout
            .contains("you: two\n  lines\nassistant: two\n  lines\n"),
        "{piped:#?}"
    );
}
