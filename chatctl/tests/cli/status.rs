//! `chatctl status`, reachable and not.

use crate::support::{Chatctl, Daemon, closed_port};

#[test]
fn status_names_version_provider_model_and_database() {
    let daemon = Daemon::start();
    let run = daemon.chatctl().args(["status"]).run().success();
    assert!(run.stdout.contains("reachable"), "{run:#?}");
    assert!(run.stdout.contains("echo"), "{run:#?}");
    assert!(run.stdout.contains("chat.sqlite3"), "{run:#?}");

    let json = daemon
        .chatctl()
        .args(["--json", "status"])
        .run()
        .success()
        .json();
    assert_eq!(json["reachable"], true);
    assert_eq!(json["server"], daemon.url.as_str());
    assert_eq!(json["status"]["name"], "chatd");
    assert_eq!(json["status"]["provider"], "echo");
    assert!(json["status"]["version"].is_string());
    assert!(json["status"]["model"].is_string());
    assert!(json["status"]["database"].is_string());
}

#[test]
fn status_of_nothing_is_unreachable_and_never_starts_a_daemon() {
    let home = tempfile::tempdir().expect("temp dir");
    let server = format!("http://127.0.0.1:{}/api/v1", closed_port());
    let run = Chatctl::new(home.path().to_path_buf())
        .args(["--json", "--server", &server, "status"])
        .run()
        .code(5);
    let json = run.json();
    assert_eq!(json["reachable"], false);
    assert!(json["status"].is_null());
    assert!(run.error_line().contains("no daemon answered"), "{run:#?}");
    assert!(!home.path().join(".local/share/chatctl/chatd.pid").exists());
}

#[test]
fn the_token_of_a_daemon_beyond_loopback_is_sent_automatically() {
    let daemon = Daemon::start_listening("0.0.0.0:0", &["--allow-non-loopback"]);
    // chatd wrote its token into the data directory chatctl shares with it.
    let json = daemon
        .chatctl()
        .args(["--json", "status"])
        .run()
        .success()
        .json();
    assert_eq!(json["reachable"], true);
    daemon
        .chatctl()
        .args(["user", "create", "tokened"])
        .run()
        .success();

    // Elsewhere (another home, so no token file) the daemon refuses; CHATCTL_TOKEN works.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let run = Chatctl::new(elsewhere.path().to_path_buf())
        .args([
            "--no-autostart",
            "--server",
            &daemon.url,
            "user",
            "show",
            "tokened",
        ])
        .run();
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.error_line().contains("Not authenticated"), "{run:#?}");
    let token = std::fs::read_to_string(daemon.home().join(".local/share/chatd/token"))
        .expect("token file");
    Chatctl::new(elsewhere.path().to_path_buf())
        .env("CHATCTL_TOKEN", token.trim())
        .args([
            "--no-autostart",
            "--server",
            &daemon.url,
            "user",
            "show",
            "tokened",
        ])
        .run()
        .success();
}
