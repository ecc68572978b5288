//! The prompt of `chatctl chat` on a pseudo-terminal, key by key. What each key did is
//! checked where it counts: in the messages the daemon stored.

use crate::support::{Daemon, conversation_ids, stored_messages, with_user};
use crate::tty::{Term, spawn};

/// The user messages of conversation `id`, in order.
fn user_messages(daemon: &Daemon, id: i64) -> Vec<String> {
    stored_messages(daemon, id)
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().expect("content").to_string())
        .collect()
}

/// Types `keys` and waits for the `n`th reply to have been shown and the prompt to be
/// back (keys typed before it would meet a terminal in cooked mode).
fn send(pty: &mut Term, keys: &str, n: usize) {
    pty.type_keys(keys);
    // The label is coloured: its word, not its colon, is what can be counted.
    pty.wait_for(&format!("reply {n}"), |t| {
        t.matches("assistant").count() == n && prompt_after(t, "assistant")
    });
}

/// Whether the prompt is shown again after the last `what`.
fn prompt_after(text: &str, what: &str) -> bool {
    text.rsplit(what)
        .next()
        .is_some_and(|r| r.contains("you › "))
}

#[test]
fn emacs_keys_history_search_and_new_lines_edit_the_message() {
    let daemon = Daemon::start();
    with_user(&daemon, "kit");
    let mut pty = spawn(&daemon, &["chat", "--new"], &[]);
    pty.wait_for("the prompt", |t| t.contains("you › "));

    // Ctrl-A, Ctrl-E: start and end of the line.
    send(&mut pty, "world\u{1}hello \u{5}!\r", 1);
    // Ctrl-W: the word before the cursor.
    send(&mut pty, "abc def\u{17}xyz\r", 2);
    // Ctrl-K: from the cursor to the end.
    send(&mut pty, "keep this\u{1}\u{b}new\r", 3);
    // Ctrl-U: the whole line before the cursor.
    send(&mut pty, "junk\u{15}clean\r", 4);
    // Ctrl-C at the prompt clears the line and sends nothing; keys typed right after
    // it count.
    send(&mut pty, "typo\u{3}after\r", 5);
    // Ctrl-L clears the screen and keeps the line.
    pty.type_keys("kept\u{c}");
    pty.wait_for("the screen cleared", |t| t.contains("\u{1b}[H\u{1b}[J"));
    send(&mut pty, "\r", 6);
    // Up recalls earlier lines, Down goes back.
    send(&mut pty, "\u{1b}[A\u{1b}[A\u{1b}[A\u{1b}[B\r", 7);
    // Alt-Enter and a trailing backslash start new lines.
    send(&mut pty, "a\u{1b}\rb\r", 8);
    send(&mut pty, "c\\\rd\r", 9);
    // Ctrl-R searches them.
    send(&mut pty, "\u{12}hello\r", 10);
    // Ctrl-D on an empty line leaves.
    pty.type_keys("\u{4}");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");

    let id = conversation_ids(&daemon)[0];
    assert_eq!(
        user_messages(&daemon, id),
        [
            "hello world!",
            "abc xyz",
            "new",
            "clean",
            "after",
            "kept",
            "after",
            "a\nb",
            "c\nd",
            "hello world!",
        ]
    );
}

#[test]
fn a_bracketed_paste_of_three_lines_is_one_message() {
    let daemon = Daemon::start();
    with_user(&daemon, "pam");
    let mut pty = spawn(&daemon, &["chat", "--new"], &[]);
    pty.wait_for("the prompt", |t| t.contains("you › "));
    // The terminal sends Enter inside a paste as a carriage return, between the
    // bracketed-paste markers.
    send(&mut pty, "\u{1b}[200~one\rtwo\rthree\u{1b}[201~\r", 1);
    pty.type_keys("/quit\r");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");
    let id = conversation_ids(&daemon)[0];
    assert_eq!(user_messages(&daemon, id), ["one\ntwo\nthree"]);
}

#[test]
fn ctrl_d_on_an_empty_line_leaves_and_the_history_outlives_the_session() {
    let daemon = Daemon::start();
    with_user(&daemon, "hal");
    let mut first = spawn(&daemon, &["chat", "--new"], &[]);
    first.wait_for("the prompt", |t| t.contains("you › "));
    send(&mut first, "remember me\r", 1);
    // Ctrl-D with text on the line deletes; only on an empty line does it leave.
    first.type_keys("x\u{2}\u{4}\u{4}");
    let (code, text) = first.finish();
    assert_eq!(code, Some(0), "Ctrl-D did not leave: {text:?}");
    let history = testkit::data_home(&daemon.home()).join("chatctl/prompt-history.txt");
    let kept = std::fs::read_to_string(&history).expect("a history file");
    assert!(kept.contains("remember me"), "{kept:?}");

    let mut second = spawn(&daemon, &["chat", "--new"], &[]);
    second.wait_for("the prompt", |t| t.contains("you › "));
    send(&mut second, "\u{1b}[A\r", 1);
    second.type_keys("\u{4}");
    let (code, text) = second.finish();
    assert_eq!(code, Some(0), "{text:?}");
    let newest = conversation_ids(&daemon)[1];
    assert_eq!(user_messages(&daemon, newest), ["remember me"]);
}

#[test]
fn tab_completes_commands_and_conversations_by_name() {
    let daemon = Daemon::start();
    with_user(&daemon, "tab");
    let trip = daemon
        .chatctl()
        .args(["--json", "conv", "new", "--name", "Trip to Lyon"])
        .run()
        .success()
        .json()["id"]
        .as_i64()
        .expect("id");
    let mut pty = spawn(&daemon, &["chat", "--new"], &[]);
    pty.wait_for("the prompt", |t| t.contains("you › "));
    pty.type_keys("/sw\t");
    pty.wait_for("the command completed", |t| t.contains("/switch "));
    pty.type_keys("lyon\t");
    pty.wait_for("the id completed", |t| {
        t.contains(&format!("/switch {trip}"))
    });
    pty.type_keys("\r");
    let header = format!("conversation {trip} \"Trip to Lyon\"");
    pty.wait_for("the switch", |t| {
        t.contains(&header) && prompt_after(t, &header)
    });
    pty.type_keys("\u{4}");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");
}
