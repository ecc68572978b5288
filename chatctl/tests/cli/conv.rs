//! `chatctl conv new|list|show`, human and JSON.

use crate::support::{Daemon, with_user};

#[test]
fn new_list_show_in_json() {
    let daemon = Daemon::start();
    let user_id = with_user(&daemon, "dora");
    let first = daemon
        .chatctl()
        .args(["--json", "conv", "new", "--name", "first"])
        .run()
        .success()
        .json();
    assert_eq!(first["name"], "first");
    assert_eq!(first["user_id"], user_id);
    let second = daemon
        .chatctl()
        .args(["--json", "conv", "new"])
        .run()
        .success()
        .json();
    assert!(second["name"].is_null());

    let list = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--oldest-first"])
        .run()
        .success()
        .json();
    let ids: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, [first["id"].clone(), second["id"].clone()]);

    let page = daemon
        .chatctl()
        .args([
            "--json",
            "conv",
            "list",
            "--oldest-first",
            "--skip",
            "1",
            "--limit",
            "1",
        ])
        .run()
        .success()
        .json();
    assert_eq!(page.as_array().map(Vec::len), Some(1));
    assert_eq!(page[0]["id"], second["id"]);

    let all = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all"])
        .run()
        .success()
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(2));

    let id = first["id"].to_string();
    let shown = daemon
        .chatctl()
        .args(["--json", "conv", "show", &id])
        .run()
        .success()
        .json();
    assert_eq!(shown["id"], first["id"]);
    assert_eq!(shown["messages"], serde_json::json!([]));
}

#[test]
fn new_list_show_for_people() {
    let daemon = Daemon::start();
    with_user(&daemon, "eve");
    let run = daemon
        .chatctl()
        .args(["conv", "new", "--name", "plans"])
        .run()
        .success();
    assert!(run.stdout.starts_with("created conversation "), "{run:#?}");

    daemon
        .chatctl()
        .args(["send", "hello", "there"])
        .run()
        .success();
    let list = daemon.chatctl().args(["conv", "list"]).run().success();
    assert!(list.stdout.contains("plans"), "{list:#?}");

    let id = daemon
        .chatctl()
        .args(["--json", "conv", "list"])
        .run()
        .success()
        .json()[0]["id"]
        .to_string();
    let show = daemon.chatctl().args(["conv", "show", &id]).run().success();
    assert!(show.stdout.contains("you: hello there"), "{show:#?}");
    assert!(show.stdout.contains("assistant: "), "{show:#?}");
}

#[test]
fn empty_list_prints_nothing_on_stdout() {
    let daemon = Daemon::start();
    with_user(&daemon, "finn");
    let run = daemon.chatctl().args(["conv", "list"]).run().success();
    assert_eq!(run.stdout, "");
    let json = daemon
        .chatctl()
        .args(["--json", "conv", "list"])
        .run()
        .success();
    assert_eq!(json.json(), serde_json::json!([]));
}

#[test]
fn unknown_conversation_is_not_found_with_the_servers_detail() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["--json", "conv", "show", "999"])
        .run()
        .code(3);
    assert_eq!(run.stdout, "");
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
}

#[test]
fn lists_show_titles_counts_activity_and_the_current_one_newest_first() {
    let daemon = Daemon::start();
    with_user(&daemon, "gil");
    let created: Vec<i64> = ["Trip plans", "", "Recipes"]
        .iter()
        .map(|name| {
            let mut args = vec!["--json", "conv", "new"];
            if !name.is_empty() {
                args.extend(["--name", name]);
            }
            daemon.chatctl().args(args).run().success().json()["id"]
                .as_i64()
                .expect("id")
        })
        .collect();
    // The oldest becomes the most recently active, and the current one.
    let first = created[0].to_string();
    daemon
        .chatctl()
        .args(["send", "-c", &first, "hello"])
        .run()
        .success();

    let json = daemon
        .chatctl()
        .args(["--json", "conv", "list"])
        .run()
        .success()
        .json();
    let ids = crate::support::ids(&json);
    assert_eq!(ids, [created[0], created[2], created[1]]);
    assert_eq!(json[0]["message_count"], 2);
    let stamp = json[0]["last_activity_at"].as_str().expect("RFC 3339");
    assert!(stamp.ends_with('Z') && stamp.contains('T'), "{stamp}");

    let run = daemon.chatctl().args(["conv", "list"]).run().success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run:#?}");
    assert!(
        lines[0].contains("TITLE") && lines[0].contains("MSGS"),
        "{run:#?}"
    );
    assert!(lines[1].starts_with('*'), "the current one: {run:#?}");
    assert!(lines[1].contains("Trip plans"), "{run:#?}");
    assert!(lines[1].contains(stamp), "a pipe gets RFC 3339: {run:#?}");
    assert!(
        lines[2].contains("Recipes") && lines[2].starts_with(' '),
        "{run:#?}"
    );
    assert!(lines[3].contains("(untitled)"), "{run:#?}");
    assert_eq!(run.stderr, "", "nothing was cut: {run:#?}");

    let cut = daemon
        .chatctl()
        .args(["conv", "list", "--limit", "1"])
        .run()
        .success();
    assert_eq!(cut.stdout.lines().count(), 2, "{cut:#?}");
    assert_eq!(cut.stderr.trim_end(), "2 more; --all or --limit 3");

    let oldest = daemon
        .chatctl()
        .args(["conv", "list", "--oldest-first"])
        .run()
        .success();
    assert!(
        oldest
            .stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("(untitled)")),
        "{oldest:#?}"
    );

    // A session's /list: the same columns, the session's conversation marked.
    let session = daemon
        .chatctl()
        .args(["chat", &created[2].to_string()])
        .run_with_stdin("/list\n/list 1\n")
        .success();
    let marked: Vec<&str> = session
        .stdout
        .lines()
        .filter(|l| l.starts_with('*'))
        .collect();
    assert_eq!(marked.len(), 1, "{session:#?}");
    assert!(marked[0].contains("Recipes"), "{session:#?}");
    assert!(session.stderr.contains("2 more; /list all"), "{session:#?}");
}

#[test]
fn show_without_an_id_shows_the_current_conversation() {
    let daemon = Daemon::start();
    with_user(&daemon, "hal");
    daemon
        .chatctl()
        .args(["conv", "show"])
        .run()
        .code(2)
        .error_line();
    daemon
        .chatctl()
        .args(["send", "note to self"])
        .run()
        .success();
    let run = daemon.chatctl().args(["conv", "show"]).run().success();
    assert!(run.stdout.contains("you: note to self"), "{run:#?}");
}

#[test]
fn show_gives_each_reply_its_model_tokens_and_status() {
    let daemon = crate::reasoning::daemon_with_reasoning_model(std::time::Duration::ZERO);
    with_user(&daemon, "cyd");
    daemon.chatctl().args(["send", "why?"]).run().success();
    let run = daemon.chatctl().args(["conv", "show"]).run().success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[1..3],
        ["you: why?", "assistant: The answer"],
        "{run:#?}"
    );
    let details = lines[3];
    assert!(
        details.starts_with("  openai/thinker-1 · 5 + 4 tokens · "),
        "{run:#?}"
    );
    assert!(details.ends_with(" · complete"), "{run:#?}");
    assert_eq!(lines.len(), 4, "{run:#?}");
    // `--json` stays the documented object.
    let json = daemon
        .chatctl()
        .args(["--json", "conv", "show"])
        .run()
        .success()
        .json();
    assert!(json["messages"][1].get("usage").is_none(), "{json}");
}
