//! The committed completion scripts are what the binary prints.

use crate::support::Chatctl;

#[test]
fn committed_completions_match_the_binary() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../completions");
    for (shell, file) in [
        ("bash", "chatctl.bash"),
        ("zsh", "_chatctl"),
        ("fish", "chatctl.fish"),
        ("elvish", "chatctl.elv"),
        ("powershell", "_chatctl.ps1"),
    ] {
        let run = Chatctl::new(home.path().to_path_buf())
            .args(["completions", shell])
            .run()
            .success();
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            run.stdout == committed,
            "completions/{file} is stale; regenerate it with \
             `cargo run -p chatctl -- completions {shell} > completions/{file}`"
        );
    }
}

/// What fish would offer for the last word of `words` (chatctl's `CompleteEnv` protocol).
fn offered(daemon: &crate::support::Daemon, words: &[&str]) -> Vec<String> {
    let run = daemon
        .chatctl()
        .env("COMPLETE", "fish")
        .args(["--", "chatctl"])
        .args(words)
        .run()
        .success();
    // Options are offered after the values; only the values are of interest here.
    run.stdout
        .lines()
        .filter(|line| !line.starts_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn conversation_ids_usernames_and_models_complete_from_the_daemon() {
    let daemon = crate::support::Daemon::start();
    crate::support::with_user(&daemon, "bea");
    let trip = daemon
        .chatctl()
        .args(["--json", "conv", "new", "--name", "Trip plans"])
        .run()
        .success()
        .json()["id"]
        .to_string();
    let other = daemon
        .chatctl()
        .args(["--json", "conv", "new"])
        .run()
        .success()
        .json()["id"]
        .to_string();
    daemon
        .chatctl()
        .args(["send", "-c", &trip, "hello"])
        .run()
        .success();
    let expected = [
        format!("{trip}\tTrip plans · 2 messages"),
        format!("{other}\t(untitled) · 0 messages"),
    ];
    for words in [
        &["conv", "show", ""][..],
        &["chat", ""],
        &["send", "-c", ""],
        &["cancel", ""],
    ] {
        assert_eq!(offered(&daemon, words), expected, "{words:?}");
    }
    assert_eq!(offered(&daemon, &["--user", ""]), ["bea"]);
    for words in [
        &["send", "--model", ""][..],
        &["conv", "set", &trip, "--model", ""],
    ] {
        assert_eq!(
            offered(&daemon, words),
            ["echo/echo\tthe default"],
            "{words:?}"
        );
    }

    // No daemon: no candidates, and no error.
    let home = tempfile::tempdir().expect("temp dir");
    let server = format!("http://127.0.0.1:{}/api/v1", crate::support::closed_port());
    let run = Chatctl::new(home.path().to_path_buf())
        .env("COMPLETE", "fish")
        .env("CHATCTL_SERVER", &server)
        .env("CHATCTL_USER", "bea")
        .args(["--", "chatctl", "conv", "show", ""])
        .run()
        .success();
    assert!(
        run.stdout.lines().all(|line| line.starts_with('-')),
        "options only: {run:#?}"
    );
}
