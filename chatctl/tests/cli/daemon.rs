//! `chatctl daemon start|stop|status|logs` with the real binaries, and the `[daemon]`
//! settings of chatctl's config reaching an autostarted chatd.

use std::path::{Path, PathBuf};

use crate::support::{Chatctl, KillPidFile, chatd_bin, closed_port};

struct Setup {
    home: tempfile::TempDir,
    server: String,
}

impl Setup {
    fn new() -> Setup {
        // Built before chatctl looks for it next to itself.
        chatd_bin();
        Setup {
            home: tempfile::tempdir().expect("temp dir"),
            server: format!("http://127.0.0.1:{}/api/v1", closed_port()),
        }
    }

    fn chatctl(&self) -> Chatctl {
        Chatctl::new(self.home.path().to_path_buf()).args(["--server", &self.server])
    }

    fn data_dir(&self) -> PathBuf {
        self.home.path().join(".local/share/chatctl")
    }

    fn pid_file(&self) -> PathBuf {
        self.data_dir().join("chatd.pid")
    }

    fn write_config(&self, text: &str) {
        let dir = self.home.path().join(".config/chatctl");
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(dir.join("config.toml"), text).expect("config");
    }
}

fn alive(pid: u32) -> bool {
    // A zombie left for the test's reaper does not count.
    std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
        .ok()
        .and_then(|stat| {
            stat.rfind(')')
                .and_then(|i| stat[i + 1..].trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

#[test]
fn start_status_stop_and_logs_manage_one_daemon() {
    let setup = Setup::new();
    let _guard = KillPidFile(&setup.pid_file());
    setup
        .chatctl()
        .args(["daemon", "status"])
        .run()
        .code(5)
        .error_line();
    setup.chatctl().args(["daemon", "logs"]).run().code(3);
    let run = setup.chatctl().args(["daemon", "stop"]).run().success();
    assert!(run.stderr.contains("nothing to stop"), "{run:#?}");

    let database = setup.home.path().join("managed.sqlite3");
    let started = setup
        .chatctl()
        .args(["--json", "daemon", "start", "--", "--provider", "echo"])
        .args([
            "--echo-delay-ms",
            "50",
            "--shutdown-grace-secs",
            "1",
            "--database",
        ])
        .args([&database])
        .run()
        .success()
        .json();
    assert_eq!(started["started"], true);
    let pid = u32::try_from(started["pid"].as_u64().expect("pid")).expect("pid");
    assert!(alive(pid));
    let again = setup.chatctl().args(["daemon", "start"]).run().success();
    assert!(
        again
            .stdout
            .contains(&format!("already runs at {} (pid {pid})", setup.server)),
        "{again:#?}"
    );

    let status = setup.chatctl().args(["daemon", "status"]).run().success();
    assert!(
        status
            .stdout
            .contains(&format!("pid {pid}, started by chatctl")),
        "{status:#?}"
    );
    assert!(status.stdout.contains("chatd.log"), "{status:#?}");
    let json = setup
        .chatctl()
        .args(["--json", "daemon", "status"])
        .run()
        .success()
        .json();
    assert_eq!(json["pid"], pid);
    assert_eq!(json["status"]["database"], database.display().to_string());

    // A reply in flight when the daemon is told to stop is stored, cut short.
    setup
        .chatctl()
        .args(["user", "create", "dee"])
        .run()
        .success();
    let words: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    let mut sender = setup.chatctl().args(["send", "--new"]).args(&words).spawn();
    sender.read_until(|out| !out.is_empty());
    let stopped = setup.chatctl().args(["daemon", "stop"]).run().success();
    assert_eq!(
        stopped.stdout.trim_end(),
        format!(
            "stopped chatd (pid {pid}); 1 of 1 replies in flight stored (1 cut short, as \
             interrupted)"
        ),
        "{stopped:#?}"
    );
    assert!(!alive(pid));
    assert!(!setup.pid_file().exists());
    let sender = sender.finish();
    assert_eq!(sender.code, 6, "the reply ended interrupted: {sender:#?}");

    let logs = setup.chatctl().args(["daemon", "logs"]).run().success();
    assert!(logs.stdout.contains("shutting down"), "{logs:#?}");
    let last = setup
        .chatctl()
        .args(["daemon", "logs", "-n", "1"])
        .run()
        .success();
    assert_eq!(last.stdout.lines().count(), 1, "{last:#?}");
    setup.chatctl().args(["daemon", "status"]).run().code(5);
}

#[test]
fn the_autostarted_daemon_takes_the_daemon_settings_of_the_config() {
    let setup = Setup::new();
    let _guard = KillPidFile(&setup.pid_file());
    let database = setup.home.path().join("from-config.sqlite3");
    setup.write_config(&format!(
        "[daemon]\nprovider = \"echo\"\nargs = [\"--database\", {:?}]\n",
        database.display().to_string()
    ));
    // chatctl alone: nothing runs, the first command starts chatd as configured.
    let run = setup
        .chatctl()
        .args(["user", "create", "eli"])
        .run()
        .success();
    assert!(run.stderr.contains("started chatd"), "{run:#?}");
    let json = setup
        .chatctl()
        .args(["--json", "daemon", "status"])
        .run()
        .success()
        .json();
    assert_eq!(json["status"]["database"], database.display().to_string());
    assert!(database.exists());
    // Remembering the user rewrote the file; the settings survive.
    let config = std::fs::read_to_string(setup.home.path().join(".config/chatctl/config.toml"))
        .expect("config");
    assert!(
        config.contains("[daemon]") && config.contains("eli"),
        "{config}"
    );
    let stopped = setup.chatctl().args(["daemon", "stop"]).run().success();
    assert!(
        stopped.stdout.contains("no replies were in flight"),
        "{stopped:#?}"
    );
}

#[test]
fn logs_follow_prints_what_is_appended_until_ctrl_c() {
    let setup = Setup::new();
    std::fs::create_dir_all(setup.data_dir()).expect("data dir");
    let log = setup.data_dir().join("chatd.log");
    std::fs::write(&log, "one\ntwo\nthree\n").expect("a log");
    let mut live = setup
        .chatctl()
        .args(["daemon", "logs", "-f", "-n", "2"])
        .spawn();
    live.read_until(|t| t == "two\nthree\n");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open the log");
    std::io::Write::write_all(&mut file, b"four\n").expect("append");
    live.read_until(|t| t == "two\nthree\nfour\n");
    live.interrupt();
    let run = live.finish();
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "two\nthree\nfour\n");
}
