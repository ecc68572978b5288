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
        .args(["--json", "conv", "list"])
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
        .args(["--json", "conv", "list", "--skip", "1", "--limit", "1"])
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
