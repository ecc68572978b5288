//! Branches inside `chatctl chat`, against a real chatd: `/edit` (the next line in a
//! script; the inline editor prefilled, or `$EDITOR`, on a terminal), `/regenerate`,
//! `/branches` and `/branch N`, and the `‹1/2›` marks of the history. What each did is
//! checked where it counts: in the tree and the active path chatd holds afterwards.

use crate::support::{Daemon, conversation_ids, new_conversation, stored_messages, with_user};
use crate::tty::{Term, spawn, without_spinners};

/// The active path's messages as (role, content).
fn path(daemon: &Daemon, id: i64) -> Vec<(String, String)> {
    stored_messages(daemon, id)
        .iter()
        .map(|m| {
            (
                m["role"].as_str().expect("role").to_string(),
                m["content"].as_str().expect("content").to_string(),
            )
        })
        .collect()
}

fn tree(daemon: &Daemon, id: i64) -> serde_json::Value {
    daemon
        .chatctl()
        .args(["--json", "conv", "tree", &id.to_string()])
        .run()
        .success()
        .json()
}

fn users(path: &[(String, String)]) -> Vec<&str> {
    path.iter()
        .filter(|(role, _)| role == "user")
        .map(|(_, text)| text.as_str())
        .collect()
}

#[test]
fn a_script_edits_regenerates_lists_and_switches_branches() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "forky");
    let id = new_conversation(&daemon);
    let run = daemon
        .chatctl()
        .args(["chat", &id.to_string()])
        .run_with_stdin("one\ntwo\n/edit\ntwo, edited\n/regenerate\n/branches\n")
        .success();
    let said = run.stderr.replace("\r\n", "\n");
    assert!(said.contains("[version ‹2/2› here;"), "{run:#?}");

    // The edit is a sibling of "two"; the regenerated reply one of its first answer.
    let nodes = tree(&daemon, id);
    let messages = nodes["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 7, "{nodes}");
    let two = &messages[2];
    let edited = &messages[4];
    assert_eq!(edited["parent_id"], two["parent_id"], "{nodes}");
    assert_eq!(
        edited["siblings"],
        serde_json::json!([two["id"], edited["id"]])
    );
    let regenerated = &messages[6];
    assert_eq!(regenerated["parent_id"], edited["id"], "{nodes}");
    assert_eq!(nodes["active_leaf_id"], regenerated["id"]);
    assert_eq!(users(&path(&daemon, id)), ["one", "two, edited"]);

    // `/branches`: three leaves, the newest (shown) marked, each with where it forks.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" messages · ends "))
        .collect();
    assert_eq!(lines.len(), 3, "{run:#?}");
    assert!(
        lines[0].starts_with("   1  you ‹1/2›: \"two\" · 4 messages · ends answer: \"two\""),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("   2  answer ‹1/2›: "), "{lines:?}");
    assert!(lines[2].starts_with("*  3  answer ‹2/2›: "), "{lines:?}");

    // `/branch 1` brings back the first version, whose history is shown with its mark,
    // and the next message follows it.
    let run = daemon
        .chatctl()
        .args(["chat", &id.to_string()])
        .run_with_stdin("/branch 1\nthree\n")
        .success();
    assert!(run.stderr.contains("[branch 1 of 3]"), "{run:#?}");
    assert!(run.stdout.contains("you ‹1/2›: two\n"), "{run:#?}");
    assert_eq!(users(&path(&daemon, id)), ["one", "two", "three"]);
    // Nothing was lost: every version is still in the tree.
    assert_eq!(
        tree(&daemon, id)["messages"].as_array().map(Vec::len),
        Some(9)
    );
}

#[test]
fn json_sessions_list_branches_and_show_the_path_switched_to() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "jay");
    let id = new_conversation(&daemon);
    let run = daemon
        .chatctl()
        .args(["--json", "chat", &id.to_string()])
        .run_with_stdin("hi\n/regenerate\n/branches\n/branch 1\n")
        .success();
    let events = run.json_lines();
    let kind = |e: &serde_json::Value| e["event"].as_str().unwrap_or("").to_string();
    let ends: Vec<&serde_json::Value> = events.iter().filter(|e| kind(e) == "end").collect();
    assert_eq!(ends.len(), 2, "{run:#?}");
    let first_reply = ends[0]["message"]["id"].clone();
    let second_reply = ends[1]["message"]["id"].clone();
    assert_ne!(first_reply, second_reply);

    let listed = events
        .iter()
        .find(|e| kind(e) == "branches")
        .expect("a branches line");
    let branches = listed["branches"].as_array().expect("branches");
    assert_eq!(branches.len(), 2, "{listed}");
    assert_eq!(branches[0]["leaf_id"], first_reply);
    assert_eq!(branches[0]["active"], false);
    assert_eq!(branches[1]["leaf_id"], second_reply);
    assert_eq!(branches[1]["active"], true);
    assert_eq!(branches[1]["fork_id"], second_reply);
    assert_eq!(branches[1]["messages"], 2);

    // After `/branch 1` the conversation line ends with the first reply again.
    let shown = events.last().expect("events");
    assert_eq!(kind(shown), "conversation", "{run:#?}");
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.last().map(|m| m["id"].clone()), Some(first_reply));
}

#[test]
fn bad_branch_commands_say_why_and_change_nothing() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "kit");
    let id = new_conversation(&daemon);
    daemon
        .chatctl()
        .args(["send", "-c", &id.to_string(), "only"])
        .run()
        .success();
    for (input, says) in [
        ("/edit 2\n", "/edit 2: you have sent 1 message here"),
        ("/edit zero\n", "/edit takes how far back your message is"),
        (
            "/edit\n",
            "/edit needs the new version of the message on the next line",
        ),
        ("/branch 2\n", "no branch 2: this conversation has 1"),
        ("/branch\n", "/branch needs N here"),
        ("/branch x\n", "/branch takes a number from /branches"),
        ("/branches now\n", "/branches takes no argument"),
    ] {
        let run = daemon
            .chatctl()
            .args(["chat", &id.to_string()])
            .run_with_stdin(input)
            .code(2);
        assert!(run.error_line().contains(says), "{input:?}: {run:#?}");
    }
    // An edit that changes nothing sends nothing.
    let run = daemon
        .chatctl()
        .args(["chat", &id.to_string()])
        .run_with_stdin("/edit\nonly\n/branches\n")
        .success();
    assert!(run.stderr.contains("[unchanged; nothing sent"), "{run:#?}");
    assert!(run.stderr.contains("one branch: nothing here"), "{run:#?}");
    assert_eq!(
        tree(&daemon, id)["messages"].as_array().map(Vec::len),
        Some(2)
    );
}

/// Types `keys` and waits until `said` is shown after them with the prompt back.
fn command(term: &mut Term, keys: &str, said: &str) -> String {
    let before = term.wait_for("anything", |_| true).len();
    term.type_keys(keys);
    let shown = |t: &str| without_spinners(t.get(before..).unwrap_or_default());
    let text = term.wait_for(said, |t| {
        shown(t)
            .rsplit_once(said)
            .is_some_and(|(_, after)| after.contains("you › "))
    });
    shown(&text)
}

#[test]
fn on_a_terminal_edit_is_prefilled_inline_and_regenerate_streams() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "ink");
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);
    term.wait_for("the prompt", |t| t.contains("you › "));
    let id = conversation_ids(&daemon)[0];
    command(&mut term, "first\r", "\n  first");
    // The inline editor holds the last message, the cursor at its end.
    term.type_keys("/edit\r");
    term.wait_for("the prefilled editor", |t| t.contains("edit › first"));
    let shown = command(&mut term, " again\r", "\n  first again");
    assert!(shown.contains("[version ‹2/2› here;"), "{shown:?}");
    command(&mut term, "/regenerate\r", "[version ‹2/2› here;");
    // The history shows where the other versions are.
    let history = command(&mut term, "/history\r", "assistant ‹2/2›:");
    assert!(history.contains("you ‹2/2›: first again"), "{history:?}");
    term.type_keys("/quit\r");
    let (code, text) = term.finish();
    assert_eq!(code, Some(0), "{text:?}");
    assert_eq!(users(&path(&daemon, id)), ["first again"]);
    assert_eq!(
        tree(&daemon, id)["messages"].as_array().map(Vec::len),
        Some(5)
    );
}

#[test]
fn on_a_terminal_edit_runs_the_editor_of_editor() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "vee");
    // Through `sh`, as git runs it: a command with arguments works.
    let mut term = spawn(
        &daemon,
        &["chat", "--new"],
        &[("NO_COLOR", "1"), ("EDITOR", "sed -i s/first/second/")],
    );
    term.wait_for("the prompt", |t| t.contains("you › "));
    let id = conversation_ids(&daemon)[0];
    command(&mut term, "first try\r", "\n  first try");
    command(&mut term, "/edit\r", "\n  second try");
    term.type_keys("/quit\r");
    let (code, text) = term.finish();
    assert_eq!(code, Some(0), "{text:?}");
    assert_eq!(users(&path(&daemon, id)), ["second try"]);

    // An editor that fails sends nothing, and the session goes on.
    let mut term = spawn(
        &daemon,
        &["chat", &id.to_string()],
        &[("NO_COLOR", "1"), ("EDITOR", "false")],
    );
    term.wait_for("the prompt", |t| t.contains("you › "));
    command(
        &mut term,
        "/edit\r",
        "exited with exit status: 1; nothing sent",
    );
    term.type_keys("/quit\r");
    let (code, text) = term.finish();
    assert_eq!(code, Some(0), "{text:?}");
    assert_eq!(
        tree(&daemon, id)["messages"].as_array().map(Vec::len),
        Some(4)
    );
}
