//! `chatctl user create|show`, human and JSON.

use crate::support::Daemon;

#[test]
fn create_then_show_in_both_modes() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["user", "create", "alice", "--email", "a@example.com"])
        .run()
        .success();
    assert!(run.stdout.contains("created user alice"), "{run:#?}");
    assert_eq!(run.stderr, "");

    // `user create` made alice the remembered user: no --user needed.
    let shown = daemon
        .chatctl()
        .args(["--json", "user", "show"])
        .run()
        .success();
    let user = shown.json();
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "a@example.com");
    assert!(user["id"].is_i64());
    assert!(user["created_at"].is_string());

    let human = daemon
        .chatctl()
        .args(["user", "show", "alice"])
        .run()
        .success();
    assert!(human.stdout.contains("alice") && human.stdout.contains("a@example.com"));
}

#[test]
fn create_json_prints_the_user_object_only() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["--json", "user", "create", "bob"])
        .run()
        .success();
    let user = run.json();
    assert_eq!(user["username"], "bob");
    assert!(user["email"].is_null());
    assert_eq!(run.stderr, "");
}

#[test]
fn taken_username_is_a_conflict_with_the_servers_detail() {
    let daemon = Daemon::start();
    daemon
        .chatctl()
        .args(["user", "create", "carol"])
        .run()
        .success();
    let run = daemon
        .chatctl()
        .args(["--json", "user", "create", "carol"])
        .run()
        .code(4);
    assert_eq!(run.stdout, "");
    assert!(
        run.error_line().contains("Username already registered"),
        "{run:#?}"
    );
}

#[test]
fn unknown_user_is_not_found() {
    let daemon = Daemon::start();
    let run = daemon
        .chatctl()
        .args(["--json", "user", "show", "nobody"])
        .run()
        .code(3);
    assert_eq!(run.stdout, "");
    assert!(run.error_line().contains("User not found"), "{run:#?}");
}

#[test]
fn names_with_reserved_characters_and_any_script_round_trip() {
    let daemon = Daemon::start();
    for name in ["张三", "a?b#c%d e"] {
        daemon
            .chatctl()
            .args(["--json", "user", "create", name])
            .run()
            .success();
        let run = daemon
            .chatctl()
            .args(["--json", "user", "show", name])
            .run()
            .success();
        assert_eq!(run.json()["username"], name);
    }
}

#[test]
fn no_user_at_all_is_a_usage_error_with_a_hint() {
    let daemon = Daemon::start();
    let run = daemon.chatctl().args(["conv", "list"]).run().code(2);
    assert!(run.error_line().contains("--user"), "{run:#?}");
}
