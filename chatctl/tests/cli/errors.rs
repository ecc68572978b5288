//! Errors: one `chatctl: …` line, documented exit codes.

use crate::support::{Chatctl, Daemon, closed_port};

#[test]
fn an_unreachable_server_says_how_to_start_the_daemon() {
    let home = tempfile::tempdir().expect("temp dir");
    let server = format!("http://127.0.0.1:{}/api/v1", closed_port());
    let run = Chatctl::new(home.path().to_path_buf())
        .args(["--no-autostart", "--server", &server, "user", "show", "x"])
        .run()
        .code(5);
    assert_eq!(run.stdout, "");
    let line = run.error_line();
    assert!(line.contains(&server), "{run:#?}");
    assert!(
        line.contains("start it with `chatctl daemon start`"),
        "{run:#?}"
    );
    assert!(line.contains("drop `--no-autostart`"), "{run:#?}");
}

#[test]
fn usage_errors_exit_2() {
    let daemon = Daemon::start();
    daemon
        .chatctl()
        .args(["send", "-c", "1", "--new", "hi"])
        .run()
        .code(2);
    let run = daemon
        .chatctl()
        .args(["--server", "not a url", "user", "show", "x"])
        .run()
        .code(2);
    run.error_line();
}

#[test]
fn server_validation_errors_are_usage_errors_with_the_detail() {
    let daemon = Daemon::start();
    // A name of 65 characters is over the contract's limit of 64.
    let run = daemon
        .chatctl()
        .args(["user", "create", &"x".repeat(65)])
        .run()
        .code(2);
    assert!(run.error_line().contains("username"), "{run:#?}");
}

#[test]
fn json_mode_keeps_stdout_empty_on_errors() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["--json", "--user", "ghost", "conv", "list"])
        .run()
        .code(3);
    assert_eq!(run.stdout, "");
    assert!(
        run.error_line().contains("chatctl user create ghost"),
        "{run:#?}"
    );
}

#[test]
fn a_failing_provider_exits_6_with_the_servers_detail() {
    // An OpenAI-compatible provider at a closed port fails before the first token: 502.
    let upstream = format!("http://127.0.0.1:{}/v1", closed_port());
    let daemon = Daemon::start_with(&["--provider", "openai", "--openai-base-url", &upstream]);
    crate::support::with_user(&daemon, "vic");
    for json in [false, true] {
        let mut args = vec!["send", "--new", "hello"];
        if json {
            args.insert(0, "--json");
        }
        let run = daemon.chatctl().args(args).run().code(6);
        assert_eq!(run.stdout, "", "{run:#?}");
        assert!(run.error_line().contains("provider"), "{run:#?}");
    }
}
