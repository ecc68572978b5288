//! chatctl on a pseudo-terminal, as a person uses it: the harness (`spawn`, `Pty`) and
//! a session with the spinner, Ctrl-C typed during a reply (the line discipline turns
//! it into SIGINT), and `NO_COLOR` keeping colour codes out even on a terminal. The
//! prompt's keys are in `prompt.rs`, replies rendered as Markdown in `markdown.rs`.

use std::ops::{Deref, DerefMut};
use std::process::Child;

use crate::pty::{Pty, wait_exit};
use crate::support::{Daemon, chatctl_bin, conversation_ids, stored_messages, with_user};

/// chatctl running on a terminal; killed if the test ends before it does.
pub struct Term {
    pty: Pty,
    child: Child,
}

impl Deref for Term {
    type Target = Pty;

    fn deref(&self) -> &Pty {
        &self.pty
    }
}

impl DerefMut for Term {
    fn deref_mut(&mut self) -> &mut Pty {
        &mut self.pty
    }
}

impl Term {
    /// Waits for chatctl to exit; its exit code and everything it printed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = wait_exit(&mut self.child);
        (status.code(), self.pty.all())
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chatctl with `args` (and `env`) against `daemon`, on a terminal of 100 columns.
pub fn spawn(daemon: &Daemon, args: &[&str], env: &[(&str, &str)]) -> Term {
    let mut command = testkit::isolated(chatctl_bin(), &daemon.home());
    command.args(args).env("CHATCTL_SERVER", &daemon.url);
    for (key, value) in env {
        command.env(key, value);
    }
    let (pty, child) = Pty::spawn(command);
    Term { pty, child }
}

/// `text` as the screen shows it once the spinners are gone: a spinner draws on a line
/// of its own and clears it (`\r` ESC `[2K`) before anything else is printed there.
pub fn without_spinners(text: &str) -> String {
    const CLEAR: &str = "\r\u{1b}[2K";
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(CLEAR) {
        match piece.strip_suffix(CLEAR) {
            Some(drawn) => {
                let line_start = drawn.rfind('\n').map_or(0, |i| i + 1);
                out.push_str(&drawn[..line_start]);
            }
            None => out.push_str(piece),
        }
    }
    out
}

/// Whether `text` holds an SGR (colour or style) escape sequence: ESC [ digits/; m.
pub fn has_sgr(text: &str) -> bool {
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
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);

    term.wait_for("the prompt", |t| t.contains("you"));
    term.type_keys("hello terminal\r");
    term.wait_for("the first reply", |t| {
        without_spinners(t).contains("assistant:\r\n  hello terminal\r\n")
    });
    // After the reply, the line that says what answered (echo reports no tokens).
    term.wait_for("the reply's model", |t| t.contains("\necho/echo"));
    let words: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    term.type_keys(&format!("{}\r", words.join(" ")));
    // The label comes with the first token; the paragraph is held until it ends.
    term.wait_for("the reply streaming", |t| {
        t.matches("assistant:").count() == 2
    });
    term.type_keys("\u{3}");
    let text = term.wait_for("the stop notice", |t| t.contains("[reply stopped"));
    // What had arrived is shown once the reply stops.
    assert!(text.contains("  w1"), "{text:?}");
    term.type_keys("/quit\r");
    let (code, text) = term.finish();
    assert_eq!(code, Some(0), "{text:?}");
    assert!(!has_sgr(&text), "colour despite NO_COLOR: {text:?}");

    let id = conversation_ids(&daemon)[0];
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    assert_eq!(stored[0]["content"], "hello terminal");
}

#[test]
fn spinners_leave_the_screen_as_it_was() {
    let drawn = "a:\r\n⠁ waiting…   \r\u{1b}[2K⠂ waiting…   \r\u{1b}[2K  text\r\n";
    assert_eq!(without_spinners(drawn), "a:\r\n  text\r\n");
}

#[test]
fn sgr_detection_is_precise() {
    assert!(has_sgr("a\u{1b}[1;32mb"));
    assert!(has_sgr("\u{1b}[0m"));
    assert!(!has_sgr("\u{1b}[3A\u{1b}[2K\r"));
    assert!(!has_sgr("plain"));
}
