//! `chatctl models` against chatd: the table, `--json` with the API's object, and a
//! provider that is down listed with its error.

use crate::support::{Daemon, closed_port};

#[test]
fn models_lists_every_provider_with_the_default_marked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("chatd.toml");
    std::fs::write(
        &config,
        format!(
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\n",
            closed_port()
        ),
    )
    .expect("write the configuration");
    let config = config.to_str().expect("utf-8 path");
    let daemon = Daemon::start_with(&["--config", config]);

    let run = daemon.chatctl().args(["models"]).run().success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(lines[0].starts_with("echo/echo"), "{run:#?}");
    assert!(lines[0].contains("default"), "{run:#?}");
    assert!(lines[0].contains("accepts any model name"), "{run:#?}");
    assert!(lines[1].starts_with("local/…"), "{run:#?}");
    assert!(
        lines[1].contains("cannot be listed: could not reach"),
        "{run:#?}"
    );
    assert_eq!(run.stderr, "");

    let json = daemon
        .chatctl()
        .args(["--json", "models"])
        .run()
        .success()
        .json();
    assert_eq!(json["default"], "echo/echo");
    assert_eq!(json["providers"][0]["models"][0], "echo/echo");
    assert_eq!(json["providers"][1]["name"], "local");
    assert!(json["providers"][1]["error"].is_string());
}

#[test]
fn send_with_a_model_starts_a_conversation_on_it() {
    let daemon = Daemon::start();
    crate::support::with_user(&daemon, "mona");
    daemon.chatctl().args(["send", "first"]).run().success();
    let end = daemon
        .chatctl()
        .args(["--json", "send", "--model", "echo/any-name", "hello"])
        .run()
        .success()
        .json();
    assert_eq!(end["message"]["model"], "echo/any-name", "{end}");
    let id = end["conversation_id"].as_i64().expect("conversation id");
    assert_eq!(
        crate::support::conversation_ids(&daemon).last(),
        Some(&id),
        "a new conversation"
    );
    assert_eq!(crate::support::conversation_ids(&daemon).len(), 2);
    // The next send without --model goes on in that conversation.
    let next = daemon
        .chatctl()
        .args(["--json", "send", "again"])
        .run()
        .success()
        .json();
    assert_eq!(next["conversation_id"].as_i64(), Some(id));
    assert_eq!(next["message"]["model"], "echo/any-name");

    let refused = daemon
        .chatctl()
        .args(["send", "--model", "nosuch/model", "hello"])
        .run()
        .code(2);
    assert!(
        refused
            .error_line()
            .contains("no provider is named \"nosuch\""),
        "{refused:#?}"
    );
}
