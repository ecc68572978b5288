//! chatctl on a pseudo-terminal, as a person runs it: a session of its own with the pty
//! as its controlling terminal (so a typed Ctrl-C becomes SIGINT), what it prints read
//! as it comes, and keys typed into it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use crate::support::STEP;

pub struct Pty {
    master: File,
    output: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Pty {
    /// Starts `command` with the terminal as its stdin, stdout and stderr.
    pub fn spawn(mut command: Command) -> (Pty, Child) {
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
        command
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave.try_clone().expect("dup")));
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
        let pty = Pty {
            master: File::from(master),
            output,
            seen: Vec::new(),
        };
        (pty, child)
    }

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

    /// Everything printed, once the program has exited and the terminal has closed
    /// (at most `STEP` more).
    pub fn all(&mut self) -> String {
        let deadline = Instant::now() + STEP;
        while let Ok(chunk) = self
            .output
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.extend(chunk);
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

/// Waits (at most `STEP`) for a child started on a terminal to exit.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "chatctl did not exit");
        thread::sleep(Duration::from_millis(10));
    }
}
