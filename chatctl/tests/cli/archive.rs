//! `chatctl search`, `export` and `import`, and `/search` in `chatctl chat`, against a
//! real chatd: what each prints on a pipe and on a terminal, the files written, the
//! server's answer with --json, and the exit codes of bad input.

use crate::support::{Daemon, conversation_ids, with_user};
use crate::tty::spawn;

/// A conversation with the echo provider's reply to `text`; returns its id.
fn chat(daemon: &Daemon, text: &str) -> i64 {
    daemon
        .chatctl()
        .args(["send", "--new", text])
        .run()
        .success();
    *conversation_ids(daemon).last().expect("a conversation")
}

#[test]
fn search_prints_hits_plain_on_a_pipe_and_as_json() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "sofia");
    let fox = chat(&daemon, "the quick brown fox jumps");
    chat(&daemon, "nothing to see here");

    let plain = daemon.chatctl().args(["search", "fox"]).run().success();
    // The user's message and the echo of it: two hits, each a place line and a snippet.
    let lines: Vec<&str> = plain.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{plain:#?}");
    assert!(
        lines[0].starts_with(&format!("conversation {fox} · ")),
        "{plain:#?}"
    );
    assert!(lines.contains(&"  the quick brown fox jumps"), "{plain:#?}");
    assert!(
        !plain.stdout.contains('\u{1b}'),
        "no colour on a pipe: {plain:#?}"
    );

    let json = daemon
        .chatctl()
        .args(["--json", "search", "brown fox", "--limit", "1"])
        .run()
        .success()
        .json();
    let hits = json.as_array().expect("hits");
    assert_eq!(hits.len(), 1, "{json}");
    assert_eq!(hits[0]["conversation_id"], fox);
    assert_eq!(
        hits[0]["highlights"],
        serde_json::json!([{"start": 10, "end": 15}, {"start": 16, "end": 19}])
    );

    let none = daemon.chatctl().args(["search", "zebra"]).run().success();
    assert_eq!(none.stdout, "");
    assert!(
        none.stderr.contains("no message matches \"zebra\""),
        "{none:#?}"
    );
    // A query with nothing to find is the server's 422: a usage error.
    let bad = daemon
        .chatctl()
        .args(["search", "--", "-fox"])
        .run()
        .code(2);
    assert!(
        bad.error_line().contains("no word to search for"),
        "{bad:#?}"
    );
}

#[test]
fn search_highlights_matches_on_a_terminal() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "tomas");
    chat(&daemon, "where is the kinkaku temple");
    let mut term = spawn(&daemon, &["search", "kinkaku"], &[]);
    let (code, screen) = {
        term.wait_for("the highlighted hit", |s| s.contains("temple"));
        term.finish()
    };
    assert_eq!(code, Some(0), "{screen}");
    // The match, and only it, between SGR codes.
    assert!(screen.contains("the \u{1b}["), "{screen:?}");
    assert!(screen.contains("kinkaku\u{1b}[0m temple"), "{screen:?}");
}

#[test]
fn export_to_files_and_import_them_back() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "ines");
    let first = chat(&daemon, "first <b>bold</b> question");
    chat(&daemon, "second question");
    let dir = tempfile::tempdir().expect("temp dir");

    let md = dir.path().join("one.md");
    let run = daemon
        .chatctl()
        .args(["export", &first.to_string(), "--format", "md", "-o"])
        .args([md.to_str().expect("utf-8 path")])
        .run()
        .success();
    assert!(run.stderr.contains("wrote conversation"), "{run:#?}");
    let text = std::fs::read_to_string(&md).expect("markdown written");
    assert!(
        text.starts_with(&format!(
            "---\ntitle: \"Conversation {first}\"\nconversation_id: {first}\n"
        )),
        "{text}"
    );
    assert!(text.contains("first &lt;b>bold&lt;/b> question"), "{text}");
    assert!(!dir.path().join("one.md.part").exists());

    let json = daemon
        .chatctl()
        .args(["export", &first.to_string()])
        .run()
        .success()
        .json();
    assert_eq!(json["format"], "chatd.conversation");
    assert_eq!(json["messages"].as_array().map(Vec::len), Some(2));

    let all = dir.path().join("all.jsonl");
    daemon
        .chatctl()
        .args(["export", "--all", "-o"])
        .args([all.to_str().expect("utf-8 path")])
        .run()
        .success();
    let lines = std::fs::read_to_string(&all).expect("jsonl written");
    assert_eq!(lines.lines().count(), 2, "{lines}");

    // Into another user: the summary line, then the server's answer with --json.
    with_user(&daemon, "jon");
    let imported = daemon
        .chatctl()
        .args(["import"])
        .args([all.to_str().expect("utf-8 path")])
        .run()
        .success();
    assert_eq!(
        imported.stdout,
        format!("imported 2 conversations from {}\n", all.display())
    );
    let answer = daemon
        .chatctl()
        .args(["--json", "import", "--from", "chatd"])
        .args([all.to_str().expect("utf-8 path")])
        .run()
        .success()
        .json();
    assert_eq!(answer, serde_json::json!({"imported": 2, "skipped": []}));
    assert_eq!(conversation_ids(&daemon).len(), 4);
}

#[test]
fn bad_files_give_one_line_and_the_documented_codes() {
    let daemon = Daemon::start();
    with_user(&daemon, "kai");
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        "[{\"title\": \"x\", \"mapping\": {}}, {\"title\": ",
    )
    .expect("write");
    let run = daemon
        .chatctl()
        .args(["import"])
        .args([broken.to_str().expect("utf-8 path")])
        .run()
        .code(2);
    let line = run.error_line();
    assert!(line.contains("conversation 1"), "{run:#?}");
    assert_eq!(conversation_ids(&daemon), Vec::<i64>::new());

    let missing = dir.path().join("missing.json");
    let run = daemon
        .chatctl()
        .args(["import"])
        .args([missing.to_str().expect("utf-8 path")])
        .run()
        .code(1);
    assert!(run.error_line().contains("could not open"), "{run:#?}");

    let run = daemon.chatctl().args(["export", "999999"]).run().code(3);
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
    let out = dir.path().join("none.md");
    daemon
        .chatctl()
        .args(["export", "999999", "-o"])
        .args([out.to_str().expect("utf-8 path")])
        .run()
        .code(3);
    assert!(!out.exists() && !dir.path().join("none.md.part").exists());
}

#[test]
fn slash_search_in_chat_lists_hits_to_open() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "lena");
    let kyoto = chat(&daemon, "plans for kyoto in spring");
    chat(&daemon, "something else");
    let run = daemon
        .chatctl()
        .args(["chat", "--continue"])
        .run_with_stdin(&format!("/search kyoto\n/open {kyoto}\n"))
        .success();
    assert!(
        run.stdout.contains(&format!("[1] conversation {kyoto} · ")),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("  plans for kyoto in spring"),
        "{run:#?}"
    );
    let json = daemon
        .chatctl()
        .args(["--json", "chat", "--continue"])
        .run_with_stdin("/search kyoto\n")
        .success();
    let hits = json
        .json_lines()
        .into_iter()
        .find(|event| event["event"] == "hits")
        .expect("a hits event");
    assert_eq!(hits["hits"][0]["conversation_id"], kyoto);
}
