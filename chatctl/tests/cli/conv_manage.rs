//! `chatctl conv rename|rm|prune|set`, in scripts and on a terminal, against a real
//! chatd: what each prints, its exit codes, and what the server holds afterwards.

use crate::pty::{Pty, wait_exit};
use crate::support::{Daemon, chatctl_bin, new_conversation, with_user};

fn exists(daemon: &Daemon, id: i64) -> bool {
    let run = daemon
        .chatctl()
        .args(["conv", "show", &id.to_string()])
        .run();
    match run.code {
        0 => true,
        3 => false,
        _ => panic!("conv show failed: {run:#?}"),
    }
}

#[test]
fn rename_and_set_change_a_conversation() {
    let daemon = Daemon::start_with(&["--titles", "off"]);
    with_user(&daemon, "rhea");
    let id = new_conversation(&daemon).to_string();

    let renamed = daemon
        .chatctl()
        .args(["--json", "conv", "rename", &id, "Trip notes"])
        .run()
        .success()
        .json();
    assert_eq!(renamed["name"], "Trip notes");
    assert_eq!(renamed["title_source"], "user");
    let human = daemon
        .chatctl()
        .args(["conv", "rename", &id, "Trip 2"])
        .run()
        .success();
    assert!(
        human
            .stdout
            .starts_with(&format!("conversation {id} \"Trip 2\"\n")),
        "{human:#?}"
    );

    let set = daemon
        .chatctl()
        .args([
            "--json",
            "conv",
            "set",
            &id,
            "--model",
            "echo/tuned",
            "--temperature",
            "0.5",
        ])
        .run()
        .success()
        .json();
    assert_eq!(set["model"], "echo/tuned");
    assert_eq!(set["params"], serde_json::json!({"temperature": 0.5}));
    let prompt = daemon.dir.path().join("prompt.txt");
    std::fs::write(&prompt, "Answer in French.\n").unwrap();
    let set = daemon
        .chatctl()
        .args(["--json", "conv", "set", &id, "--system-prompt-file"])
        .args([&prompt])
        .run()
        .success()
        .json();
    assert_eq!(set["system_prompt"], "Answer in French.\n");
    assert_eq!(set["params"]["temperature"], 0.5, "other settings are kept");
    assert_eq!(set["defaults"], serde_json::json!([]));
    let human = daemon
        .chatctl()
        .args(["conv", "set", &id, "--temperature", "1"])
        .run()
        .success();
    assert!(
        human.stdout.contains("model:         echo/tuned\n"),
        "{human:#?}"
    );
    assert!(
        human
            .stdout
            .contains(r#"params:        {"temperature":1.0}"#),
        "{human:#?}"
    );

    // Bad input is a usage error (2); an unknown conversation is 3.
    let run = daemon.chatctl().args(["conv", "set", &id]).run().code(2);
    assert!(run.error_line().contains("nothing to set"), "{run:#?}");
    let run = daemon
        .chatctl()
        .args(["conv", "set", &id, "--temperature", "5"])
        .run()
        .code(2);
    assert!(run.error_line().contains("temperature"), "{run:#?}");
    let run = daemon
        .chatctl()
        .args(["conv", "rename", &id, &"n".repeat(201)])
        .run()
        .code(2);
    run.error_line();
    let run = daemon
        .chatctl()
        .args(["conv", "rename", "999999", "x"])
        .run()
        .code(3);
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
    daemon
        .chatctl()
        .args(["conv", "set", "999999", "--model", "m"])
        .run()
        .code(3);
    daemon
        .chatctl()
        .args([
            "conv",
            "set",
            &id,
            "--system-prompt",
            "a",
            "--system-prompt-file",
            "f",
        ])
        .run()
        .code(2);
}

#[test]
fn rm_wants_yes_in_a_script() {
    let daemon = Daemon::start();
    with_user(&daemon, "remy");
    let first = new_conversation(&daemon);
    let second = new_conversation(&daemon);
    let kept = new_conversation(&daemon);

    let run = daemon
        .chatctl()
        .args(["conv", "rm", &first.to_string()])
        .run()
        .code(2);
    assert!(run.error_line().contains("--yes"), "{run:#?}");
    assert!(exists(&daemon, first), "nothing was deleted");

    let deleted = daemon
        .chatctl()
        .args([
            "--json",
            "conv",
            "rm",
            "--yes",
            &first.to_string(),
            &second.to_string(),
        ])
        .run()
        .success()
        .json();
    assert_eq!(deleted, serde_json::json!({"deleted": [first, second]}));
    assert!(!exists(&daemon, first) && !exists(&daemon, second));
    assert!(exists(&daemon, kept));

    // The first missing one stops it; those before it are deleted and said so.
    let run = daemon
        .chatctl()
        .args(["conv", "rm", "-y", &kept.to_string(), &first.to_string()])
        .run()
        .code(3);
    assert_eq!(run.stdout, format!("deleted conversation {kept}\n"));
    assert!(
        run.error_line().contains("Conversation not found"),
        "{run:#?}"
    );
    assert!(!exists(&daemon, kept));
    daemon.chatctl().args(["conv", "rm"]).run().code(2);
}

#[test]
fn rm_asks_on_a_terminal() {
    let daemon = Daemon::start();
    with_user(&daemon, "tess");
    let spared = new_conversation(&daemon);
    let doomed = new_conversation(&daemon);
    for (id, answer, code) in [(spared, "n", 1), (doomed, "y", 0)] {
        let mut command = testkit::isolated(chatctl_bin(), &daemon.home());
        command
            .args(["conv", "rm", &id.to_string()])
            .env("CHATCTL_SERVER", &daemon.url)
            .env("NO_COLOR", "1");
        let (mut pty, mut child) = Pty::spawn(command);
        pty.wait_for("the question", |t| {
            t.contains(&format!("Delete conversation {id} and all its messages?"))
        });
        pty.type_keys(answer);
        let said = if code == 0 {
            format!("deleted conversation {id}")
        } else {
            "nothing deleted".to_string()
        };
        let text = pty.wait_for("the outcome", |t| t.contains(&said));
        let status = wait_exit(&mut child);
        assert_eq!(status.code(), Some(code), "{text:?}");
    }
    assert!(exists(&daemon, spared), "a no keeps the conversation");
    assert!(!exists(&daemon, doomed));
}

#[test]
fn prune_deletes_conversations_idle_for_longer_than_asked() {
    let daemon = Daemon::start();
    with_user(&daemon, "pia");
    let ids = [new_conversation(&daemon), new_conversation(&daemon)];
    let none = daemon
        .chatctl()
        .args(["--json", "conv", "prune", "--older-than", "30d"])
        .run()
        .success()
        .json();
    assert_eq!(none, serde_json::json!({"deleted": 0}));
    assert!(ids.iter().all(|id| exists(&daemon, *id)));
    let human = daemon
        .chatctl()
        .args(["conv", "prune", "--older-than", "0s"])
        .run()
        .success();
    assert!(
        human
            .stdout
            .starts_with("deleted 2 conversations of pia idle since before "),
        "{human:#?}"
    );
    assert!(ids.iter().all(|id| !exists(&daemon, *id)));
    let run = daemon
        .chatctl()
        .args(["conv", "prune", "--older-than", "a month"])
        .run()
        .code(2);
    assert!(run.stderr.contains("a month"), "{run:#?}");
}
