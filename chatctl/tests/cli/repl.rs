//! The session's commands that change the current conversation (`/rename`, `/model`,
//! `/system`, `/rm`) in scripts and on a terminal, and the "thinking" spinner, against a
//! real chatd. What each did is checked where it counts: in what chatd holds afterwards.

use std::time::Duration;

use crate::support::{Daemon, conversation_ids, new_conversation, with_user};
use crate::tty::{Term, spawn, without_spinners};

/// The remembered user's conversation `id` as `conv list --json` has it.
fn listed(daemon: &Daemon, id: i64) -> Option<serde_json::Value> {
    let run = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all"])
        .run()
        .success();
    run.json()
        .as_array()
        .expect("a list")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
}

/// How much the terminal has shown so far.
fn seen(term: &mut Term) -> usize {
    term.wait_for("anything", |_| true).len()
}

/// What `text` shows after its first `from` bytes (an earlier `seen`); the start moves
/// to a character boundary, as a character may have been cut between two reads.
fn since(text: &str, from: usize) -> &str {
    let start = (from.min(text.len())..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Types `keys` and waits until `said` is shown and the prompt is back after it;
/// returns what was shown meanwhile.
fn command(term: &mut Term, keys: &str, said: &str) -> String {
    let before = seen(term);
    term.type_keys(keys);
    let text = term.wait_for(said, |t| {
        since(t, before)
            .rsplit_once(said)
            .is_some_and(|(_, after)| after.contains("you › "))
    });
    since(&text, before).to_string()
}

/// Leaves the session with `/quit`; everything it showed.
fn quit(mut term: Term) -> String {
    term.type_keys("/quit\r");
    let (code, text) = term.finish();
    assert_eq!(code, Some(0), "{text:?}");
    text
}

#[test]
fn a_script_renames_sets_the_model_and_the_system_prompt() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "ada");
    let id = new_conversation(&daemon);
    let run = daemon
        .chatctl()
        .args(["chat", "--continue"])
        .run_with_stdin(
            "/rename Trip notes\n/model echo/tuned\n/system Be brief.\n/system\n\
             /system --clear\n/system\n",
        )
        .success();
    let said = run.stderr.replace("\r\n", "\n");
    for expected in [
        format!("renamed conversation {id} to \"Trip notes\"\n"),
        format!("conversation {id} now answers with echo/tuned\n"),
        format!("system prompt of conversation {id} set\n"),
        format!("system prompt of conversation {id}:\n  Be brief.\n"),
    ] {
        assert!(said.contains(&expected), "{expected:?} in {run:#?}");
    }
    // Cleared, it is chatd's own again (none here).
    assert!(
        said.ends_with(&format!(
            "conversation {id} has no system prompt (chatd's default)\n"
        )),
        "{run:#?}"
    );
    assert_eq!(
        listed(&daemon, id).expect("still listed")["name"],
        "Trip notes"
    );
}

#[test]
fn json_sessions_say_what_each_command_changed() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "bo");
    let id = new_conversation(&daemon);
    let run = daemon
        .chatctl()
        .args(["--json", "chat", &id.to_string()])
        .run_with_stdin("/model echo/other\nhi\n/system Be kind.\n/rename R\n/rm --yes\n")
        .success();
    let events = run.json_lines();
    let kind = |e: &serde_json::Value| e["event"].as_str().unwrap_or("").to_string();
    let settings: Vec<&serde_json::Value> =
        events.iter().filter(|e| kind(e) == "settings").collect();
    assert_eq!(settings.len(), 3, "{run:#?}");
    assert_eq!(settings[0]["model"], "echo/other");
    assert_eq!(settings[1]["system_prompt"], "Be kind.");
    assert_eq!(settings[2]["name"], "R");
    assert_eq!(settings[2]["id"], id);
    // The reply came from the model just chosen.
    let end = events.iter().find(|e| kind(e) == "end").expect("an end");
    assert_eq!(end["message"]["model"], "echo/other", "{end}");
    // /rm: the deleted one, then the new conversation the session goes on in.
    let deleted = events.iter().position(|e| kind(e) == "deleted");
    let deleted = deleted.expect("a deleted event");
    assert_eq!(events[deleted]["conversation_id"], id);
    let next = &events[deleted + 1];
    assert_eq!(kind(next), "conversation", "{run:#?}");
    assert_ne!(next["id"], id);
    assert_eq!(next["messages"], serde_json::json!([]));
    assert_eq!(deleted + 2, events.len(), "{run:#?}");
    assert!(listed(&daemon, id).is_none(), "{id} was deleted");
    assert_eq!(conversation_ids(&daemon), [next["id"].as_i64().unwrap()]);
}

#[test]
fn a_script_must_name_the_model_and_say_yes_to_delete() {
    let daemon = Daemon::start();
    with_user(&daemon, "cy");
    let id = new_conversation(&daemon);
    for (line, says) in [
        ("/model\n", "/model needs a NAME here"),
        ("/rm\n", "say /rm --yes in a script"),
        ("/rm now\n", "takes only --yes"),
        ("/rename\n", "/rename needs NAME"),
    ] {
        let run = daemon
            .chatctl()
            .args(["chat", "--continue"])
            .run_with_stdin(line)
            .code(2);
        assert!(run.error_line().contains(says), "{line:?}: {run:#?}");
    }
    assert!(listed(&daemon, id).is_some(), "nothing was deleted");
    // A model the server refuses is a usage error with its words.
    let run = daemon
        .chatctl()
        .args(["chat", "--continue"])
        .run_with_stdin("/model nosuch/model\n")
        .code(2);
    assert!(run.error_line().contains("nosuch"), "{run:#?}");
}

#[test]
fn on_a_terminal_rename_model_and_system_take_effect_at_once() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "ivo");
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);
    term.wait_for("the prompt", |t| t.contains("you › "));
    let id = conversation_ids(&daemon)[0];
    command(
        &mut term,
        "/rename Lyon trip\r",
        &format!("renamed conversation {id} to \"Lyon trip\""),
    );
    command(
        &mut term,
        "/model echo/tuned\r",
        &format!("conversation {id} now answers with echo/tuned"),
    );
    command(
        &mut term,
        "/system Answer briefly.\r",
        &format!("system prompt of conversation {id} set"),
    );
    command(
        &mut term,
        "/system\r",
        &format!("system prompt of conversation {id}:\r\n  Answer briefly."),
    );
    // The next reply comes from the model set, as the line after it says.
    command(&mut term, "hello\r", "\r\necho/tuned");
    quit(term);
    assert_eq!(listed(&daemon, id).expect("listed")["name"], "Lyon trip");
}

#[test]
fn model_without_a_name_picks_from_the_daemon_s_models() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("chatd.toml");
    std::fs::write(&config, "[providers.other]\nkind = \"echo\"\n").expect("write config");
    let daemon = Daemon::start_with(&["--config", config.to_str().expect("utf-8")]);
    with_user(&daemon, "pia");
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);
    term.wait_for("the prompt", |t| t.contains("you › "));
    let id = conversation_ids(&daemon)[0];
    term.type_keys("/model\r");
    // Both providers' models, the current one (chatd's default here) marked.
    let shown = term.wait_for("the models", |t| {
        t.contains("Model (type to filter)") && t.contains("other/echo")
    });
    assert!(shown.contains("echo/echo  (current, default)"), "{shown:?}");
    term.type_keys("other");
    term.wait_for("the filter", |t| t.contains("> other/echo"));
    command(
        &mut term,
        "\r",
        &format!("conversation {id} now answers with other/echo"),
    );
    // Esc leaves the picker and changes nothing.
    term.type_keys("/model\r");
    term.wait_for("the picker again", |t| t.contains("other/echo  (current)"));
    let before = seen(&mut term);
    term.type_keys("\u{1b}");
    term.wait_for("the prompt after Esc", |t| {
        since(t, before).contains("you › ")
    });
    command(
        &mut term,
        "/model echo/echo\r",
        "now answers with echo/echo",
    );
    let text = quit(term);
    assert_eq!(
        text.matches("now answers with").count(),
        2,
        "Esc changed nothing: {text:?}"
    );
}

#[test]
fn rm_asks_first_then_goes_on_in_a_new_conversation() {
    let daemon = Daemon::start();
    with_user(&daemon, "uma");
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);
    term.wait_for("the prompt", |t| t.contains("you › "));
    let doomed = conversation_ids(&daemon)[0];
    let question = format!("Delete conversation {doomed} and all its messages?");
    term.type_keys("/rm\r");
    term.wait_for("the question", |t| t.contains(&format!("{question} [y/N]")));
    command(&mut term, "n", "nothing deleted");
    assert!(listed(&daemon, doomed).is_some(), "a no keeps it");

    let before = seen(&mut term);
    term.type_keys("/rm\r");
    term.wait_for("the question again", |t| {
        since(t, before).contains(&format!("{question} [y/N]"))
    });
    command(
        &mut term,
        "y",
        &format!("deleted conversation {doomed}; going on in a new conversation"),
    );
    command(&mut term, "after\r", "assistant");
    quit(term);
    assert!(listed(&daemon, doomed).is_none(), "a yes deletes it");
    let ids = conversation_ids(&daemon);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let stored = crate::support::stored_messages(&daemon, ids[0]);
    assert_eq!(stored[0]["content"], "after");
}

#[test]
fn a_thinking_model_shows_a_spinner_that_leaves_no_trace() {
    let daemon = crate::reasoning::daemon_with_reasoning_model(Duration::from_millis(400));
    with_user(&daemon, "tia");
    let mut term = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);
    term.wait_for("the prompt", |t| t.contains("you › "));
    let reply = command(&mut term, "why?\r", "The answer");
    // It said "thinking" while the reasoning came in (over about a second)...
    assert!(reply.matches("thinking…").count() >= 3, "{reply:?}");
    // ...and none of it is left on the screen, nor any of the unseen reasoning.
    let screen = without_spinners(&reply);
    assert!(!screen.contains("thinking"), "{screen:?}");
    assert!(!screen.contains("Let me"), "{screen:?}");
    assert!(screen.contains("assistant:"), "{screen:?}");
    quit(term);
}
