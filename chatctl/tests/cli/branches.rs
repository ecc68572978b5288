//! Branches from chatctl against a real chatd: `send --edit-of` stores the message
//! beside an earlier one and answers it there, `regenerate` makes a second reply
//! beside the last one, and `conv tree` shows every version as
//! an indented tree (the active path marked, `‹1/2›` where a message has siblings) or,
//! with `--json`, the server's tree as it is.

use crate::support::{Daemon, new_conversation, stored_messages, with_user};

#[test]
fn send_edit_of_branches_and_conv_tree_shows_both_versions() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "branchy");
    let id = new_conversation(&daemon).to_string();
    for text in ["one", "two"] {
        daemon
            .chatctl()
            .args(["send", "-c", &id, text])
            .run()
            .success();
    }
    let line = stored_messages(&daemon, id.parse().unwrap());
    let ids: Vec<i64> = line.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 4, "{line:?}");

    daemon
        .chatctl()
        .args([
            "send",
            "-c",
            &id,
            "--edit-of",
            &ids[2].to_string(),
            "two, edited",
        ])
        .run()
        .success();
    let edited = stored_messages(&daemon, id.parse().unwrap());
    let texts: Vec<&str> = edited
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(texts[..3], ["one", texts[1], "two, edited"]);
    let (u3, a3) = (
        edited[2]["id"].as_i64().unwrap(),
        edited[3]["id"].as_i64().unwrap(),
    );

    let tree = daemon
        .chatctl()
        .args(["--json", "conv", "tree", &id])
        .run()
        .success()
        .json();
    assert_eq!(tree["active_leaf_id"], a3);
    assert_eq!(tree["messages"].as_array().map(Vec::len), Some(6), "{tree}");

    let shown = daemon.chatctl().args(["conv", "tree", &id]).run().success();
    let lines: Vec<&str> = shown.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{shown:#?}");
    assert_eq!(lines[0], format!("* {} user: one", ids[0]));
    assert!(
        lines[1].starts_with(&format!("  * {} assistant: ", ids[1])),
        "{shown:#?}"
    );
    // The old version, off the active path, then its reply, then the edit and its reply.
    assert_eq!(lines[2], format!("      {} user ‹1/2›: two", ids[2]));
    assert!(
        lines[3].starts_with(&format!("        {} assistant: ", ids[3])),
        "{shown:#?}"
    );
    assert_eq!(lines[4], format!("    * {u3} user ‹2/2›: two, edited"));
    assert!(
        lines[5].starts_with(&format!("      * {a3} assistant: ")),
        "{shown:#?}"
    );

    // Another reply beside the last one: the old one stays.
    let again = daemon.chatctl().args(["regenerate", &id]).run().success();
    assert!(!again.stdout.trim().is_empty(), "{again:#?}");
    let tree = daemon
        .chatctl()
        .args(["--json", "conv", "tree", &id])
        .run()
        .success()
        .json();
    let nodes = tree["messages"].as_array().unwrap();
    assert_eq!(nodes.len(), 7, "{tree}");
    let newest = nodes[6]["id"].clone();
    assert_eq!(tree["active_leaf_id"], newest);
    assert_eq!(nodes[6]["parent_id"], u3);
    assert_eq!(nodes[6]["siblings"], serde_json::json!([a3, newest]));
    let shown = daemon.chatctl().args(["conv", "tree", &id]).run().success();
    assert!(
        shown
            .stdout
            .contains(&format!("       {a3} assistant ‹1/2›: ")),
        "{shown:#?}"
    );
    // A user message is not a reply to regenerate: the server's 422, nothing stored.
    let refused = daemon
        .chatctl()
        .args(["regenerate", &id, "--message", &u3.to_string()])
        .run();
    assert_ne!(refused.code, 0, "{refused:#?}");
    let after = daemon
        .chatctl()
        .args(["--json", "conv", "tree", &id])
        .run()
        .success()
        .json();
    assert_eq!(after["messages"].as_array().map(Vec::len), Some(7));

    // An edit of a reply is refused by the server, and nothing is stored.
    let refused = daemon
        .chatctl()
        .args(["send", "-c", &id, "--edit-of", &ids[1].to_string(), "no"])
        .run();
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert!(refused.stderr.contains("edit"), "{refused:#?}");
    assert_eq!(stored_messages(&daemon, id.parse().unwrap()).len(), 4);
}
