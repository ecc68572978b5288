//! Autostart: nothing answers at a local address, so chatctl starts chatd there.

use crate::support::{Chatctl, KillPidFile, chatd_bin, closed_port};

#[test]
fn a_local_server_that_is_down_gets_started() {
    let home = tempfile::tempdir().expect("temp dir");
    let pid_file = home.path().join(".local/share/chatctl/chatd.pid");
    let _guard = KillPidFile(&pid_file);
    let server = format!("http://127.0.0.1:{}/api/v1", closed_port());
    // chatctl looks next to itself, then on PATH: put the chatd under test on PATH too.
    let chatd_dir = chatd_bin().parent().expect("dir").to_path_buf();
    let path = std::env::join_paths(std::iter::once(chatd_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let run = Chatctl::new(home.path().to_path_buf())
        .env("PATH", path)
        .env("CHATD_PROVIDER", "echo")
        .env("CHATD_DATABASE", home.path().join("auto.sqlite3"))
        .args(["--json", "--server", &server, "user", "create", "uma"])
        .run()
        .success();
    assert_eq!(run.json()["username"], "uma");
    assert!(run.stderr.contains("started chatd"), "{run:#?}");
    assert!(pid_file.exists());
    assert!(home.path().join(".local/share/chatctl/chatd.log").exists());

    // The daemon stays up for the next command.
    let run = Chatctl::new(home.path().to_path_buf())
        .args([
            "--json",
            "--no-autostart",
            "--server",
            &server,
            "user",
            "show",
            "uma",
        ])
        .run()
        .success();
    assert_eq!(run.json()["username"], "uma");
}
