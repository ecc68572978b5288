//! chatctl on a pseudo-terminal, as a person uses it: the harness (`spawn`, `Pty`) and
//! a session with the spinner, Ctrl-C typed during a reply (the line discipline turns
//! it into SIGINT), and `NO_COLOR` keeping colour codes out even on a terminal. The
//! prompt's keys are in `prompt.rs`, replies rendered as Markdown in `markdown.rs`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use crate::support::{Daemon, STEP, chatctl_bin, conversation_ids, stored_messages, with_user};

pub struct Pty {
    master: File,
    child: Child,
    output: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Pty {
    /// Everything printed so far, once `done` holds for it (at most `STEP`).
    pub fn wait_for(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let text = String::from_utf8_lossy(&self.seen).into_owned();
            if done(&text) {
                return text;
            }
            match self
                .output
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!("never saw {what} on the terminal; it shows: {text:?}"),
            }
        }
    }

    pub fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("type");
        self.master.flush().expect("flush");
    }

    /// Waits (at most `STEP`) for chatctl to exit; its exit code and everything it
    /// printed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + STEP;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let text = self.wait_for("anything", |_| true);
                panic!("chatctl did not exit; the terminal shows {text:?}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The rest of the output, until the reading thread sees the terminal close.
        let deadline = Instant::now() + STEP;
        while let Ok(chunk) = self
            .output
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.extend(chunk);
        }
        (
            status.code(),
            String::from_utf8_lossy(&self.seen).into_owned(),
        )
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` as the screen shows it once the spinners are gone: a spinner draws on a line
/// of its own and clears it (`\r` ESC `[2K`) before anything else is printed there.
pub fn without_spinners(text: &str) -> String {
    const CLEAR: &str = "\r\u{1b}[2K";
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(CLEAR) {
        match piece.strip_suffix(CLEAR) {
            Some(drawn) => {
                let line_start = drawn.rfind('\n').map_or(0, |i| i + 1);
                out.push_str(&drawn[..line_start]);
            }
            None => out.push_str(piece),
        }
    }
    out
}

/// Whether `text` holds an SGR (colour or style) escape sequence: ESC [ digits/; m.
pub fn has_sgr(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|params| {
            let end = params
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(params.len());
            params[end..].starts_with('m')
        })
    })
}

/// chatctl with `args` on a pseudo-terminal of 100 columns, as the controlling terminal
/// of a session of its own (so a typed Ctrl-C becomes SIGINT, as in a real terminal).
pub fn spawn(daemon: &Daemon, args: &[&str], env: &[(&str, &str)]) -> Pty {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let slave_path = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: OwnedFd = File::options()
        .read(true)
        .write(true)
        .open(slave_path.to_str().expect("utf-8 path"))
        .expect("open slave")
        .into();
    tcsetwinsize(
        &slave,
        Winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("window size");

    let home = daemon.home();
    let mut command = testkit::isolated(chatctl_bin(), &home);
    command
        .args(args)
        .env("CHATCTL_SERVER", &daemon.url)
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave.try_clone().expect("dup")));
    for (key, value) in env {
        command.env(key, value);
    }
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            rustix::process::ioctl_tiocsctty(std::io::stdin().as_fd())?;
            Ok(())
        });
    }
    let child = command.spawn().expect("start chatctl");
    drop(command);
    drop(slave);

    let mut reader = File::from(master.try_clone().expect("dup master"));
    let (tx, output) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once chatctl has exited and closed the terminal.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    Pty {
        master: File::from(master),
        child,
        output,
        seen: Vec::new(),
    }
}

#[test]
fn a_terminal_session_streams_survives_ctrl_c_and_respects_no_color() {
    let daemon = Daemon::start_with(&["--echo-delay-ms", "50"]);
    with_user(&daemon, "wren");
    let mut pty = spawn(&daemon, &["chat", "--new"], &[("NO_COLOR", "1")]);

    pty.wait_for("the prompt", |t| t.contains("you"));
    pty.type_keys("hello terminal\r");
    pty.wait_for("the first reply", |t| {
        without_spinners(t).contains("assistant:\r\n  hello terminal\r\n")
    });
    let words: Vec<String> = (1..=300).map(|n| format!("w{n}")).collect();
    pty.type_keys(&format!("{}\r", words.join(" ")));
    // The label comes with the first token; the paragraph is held until it ends.
    pty.wait_for("the reply streaming", |t| {
        t.matches("assistant:").count() == 2
    });
    pty.type_keys("\u{3}");
    let text = pty.wait_for("the stop notice", |t| t.contains("[reply stopped"));
    // What had arrived is shown once the reply stops.
    assert!(text.contains("  w1"), "{text:?}");
    pty.type_keys("/quit\r");
    let (code, text) = pty.finish();
    assert_eq!(code, Some(0), "{text:?}");
    assert!(!has_sgr(&text), "colour despite NO_COLOR: {text:?}");

    let id = conversation_ids(&daemon)[0];
    let stored = stored_messages(&daemon, id);
    assert_eq!(stored.len(), 4, "{stored:#?}");
    assert_eq!(stored[0]["content"], "hello terminal");
}

#[test]
fn spinners_leave_the_screen_as_it_was() {
    let drawn = "a:\r\n⠁ waiting…   \r\u{1b}[2K⠂ waiting…   \r\u{1b}[2K  text\r\n";
    assert_eq!(without_spinners(drawn), "a:\r\n  text\r\n");
}

#[test]
fn sgr_detection_is_precise() {
    assert!(has_sgr("a\u{1b}[1;32mb"));
    assert!(has_sgr("\u{1b}[0m"));
    assert!(!has_sgr("\u{1b}[3A\u{1b}[2K\r"));
    assert!(!has_sgr("plain"));
}
