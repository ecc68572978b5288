//! Replies rendered as Markdown on a terminal (`send`, `conv show`), without escape codes
//! under `NO_COLOR`, and as written with `--raw` or on a pipe.

use crate::support::{Daemon, with_user};
use crate::tty::{has_sgr, spawn, without_spinners};

const REPLY: &str = "# Plan\n\n- first **step**\n- second\n\nA [link](https://example.com).";

/// What `chatctl ARGS` printed on a terminal, after it exited 0.
fn on_terminal(daemon: &Daemon, args: &[&str], env: &[(&str, &str)]) -> String {
    let pty = spawn(daemon, args, env);
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");
    without_spinners(&text).replace("\r\n", "\n")
}

#[test]
fn a_reply_on_a_terminal_is_rendered_and_on_a_pipe_it_is_as_written() {
    let daemon = Daemon::start();
    with_user(&daemon, "md");

    let colored = on_terminal(&daemon, &["send", "--new", REPLY], &[]);
    assert!(has_sgr(&colored), "{colored:?}");
    for painted in [
        "\u{1b}[1;4;35mPlan\u{1b}[0m\n\n",
        "\u{1b}[36m• \u{1b}[0mfirst \u{1b}[1mstep\u{1b}[0m\n",
        "A \u{1b}[4;34mlink\u{1b}[0m \u{1b}[2m(https://example.com)\u{1b}[0m.\n",
    ] {
        assert!(colored.contains(painted), "no {painted:?} in {colored:?}");
    }

    let plain = on_terminal(&daemon, &["send", "--new", REPLY], &[("NO_COLOR", "1")]);
    assert!(!has_sgr(&plain), "{plain:?}");
    assert!(
        plain.contains("# Plan\n\n• first **step**\n• second\n\nA link (https://example.com).\n"),
        "{plain:?}"
    );

    let raw = on_terminal(&daemon, &["--raw", "send", "--new", REPLY], &[]);
    assert!(
        raw.contains(&format!("{}\n", REPLY.replace("\r\n", "\n"))),
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
