//! Test support: a real chatd on an ephemeral port with a temporary database, and the
//! real chatctl binary run against it with a temporary HOME, so the user's own config
//! and data are never touched. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long any one chatctl or chatd step may take before the test gives up.
pub const STEP: Duration = Duration::from_secs(60);

pub fn chatctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chatctl"))
}

/// `CHATD_BIN`, else `chatd` next to chatctl in the target directory, built there first
/// when missing (so `cargo test -p chatctl` works on a fresh checkout).
pub fn chatd_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CHATD_BIN") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "CHATD_BIN={} is not a file", path.display());
        return path;
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_chatd).clone()
}

fn build_chatd() -> PathBuf {
    let bin_dir = chatctl_bin()
        .parent()
        .expect("chatctl has a directory")
        .to_path_buf();
    let path = bin_dir.join("chatd");
    if path.is_file() {
        return path;
    }
    let target_dir = bin_dir.parent().expect("a target directory");
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "-p", "chatd", "--bin", "chatd", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if bin_dir.file_name().is_some_and(|name| name == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build -p chatd");
    assert!(
        status.success() && path.is_file(),
        "no chatd binary at {}; build it with `cargo build -p chatd` (or set CHATD_BIN)",
        path.display()
    );
    path
}

/// Starts chatd on `listen` with its database in `dir`; the child and the URL it says
/// it listens on.
fn spawn_chatd(dir: &TempDir, listen: &str, extra: &[String]) -> (Child, String) {
    let stderr = std::fs::File::create(dir.path().join("chatd.stderr")).expect("log file");
    let mut child = testkit::isolated(chatd_bin(), &dir.path().join("home"))
        .args(["--listen", listen, "--database"])
        .arg(dir.path().join("chat.sqlite3"))
        .args(extra)
        .env("CHATD_PROVIDER", "echo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start chatd");
    let stdout = child.stdout.take().expect("chatd stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Keep draining so chatd never blocks on a full pipe.
        for _ in lines {}
    });
    let line = match rx.recv_timeout(STEP) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("chatd.stderr")).unwrap_or_default();
            panic!("chatd did not say where it listens; its stderr:\n{log}");
        }
    };
    let url = line
        .strip_prefix("chatd listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from chatd: {line:?}"))
        .trim()
        .replace("http://0.0.0.0:", "http://127.0.0.1:");
    (child, url)
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A running chatd (killed on drop) and a home directory for chatctl.
pub struct Daemon {
    child: Child,
    pub url: String,
    pub dir: TempDir,
    /// The arguments it was started with, for `restart`.
    extra: Vec<String>,
}

impl Daemon {
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    /// Starts chatd with `extra` arguments (the echo provider unless they name another).
    pub fn start_with(extra: &[&str]) -> Daemon {
        Daemon::start_listening("127.0.0.1:0", extra)
    }

    /// Starts chatd on `listen` (a wildcard bind is still reached over 127.0.0.1).
    pub fn start_listening(listen: &str, extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let (child, url) = spawn_chatd(&dir, listen, &extra);
        Daemon {
            child,
            url,
            dir,
            extra,
        }
    }

    /// Stops chatd (SIGKILL) and starts it again on the same address and database, as
    /// after a crash; chatctl's home is kept.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let address = self.url.trim_start_matches("http://");
        let listen = address.split('/').next().unwrap_or(address).to_string();
        let (child, url) = spawn_chatd(&self.dir, &listen, &self.extra);
        self.child = child;
        assert_eq!(url, self.url, "chatd came back elsewhere");
    }

    /// The home directory chatctl runs with.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// chatctl against this daemon.
    pub fn chatctl(&self) -> Chatctl {
        Chatctl::new(self.home()).env("CHATCTL_SERVER", &self.url)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished chatctl run left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "chatctl failed: {self:#?}");
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }

    /// Parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:#?}"))
    }

    /// Parses stdout as one JSON object per line.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("line {line:?} is not JSON ({err}): {self:#?}"))
            })
            .collect()
    }

    /// The single-line `chatctl: …` error on stderr.
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let line = self.stderr.trim_end();
        assert!(
            line.starts_with("chatctl: ") && !line.contains('\n'),
            "expected one `chatctl: …` line on stderr: {self:#?}"
        );
        line
    }
}

/// A chatctl command line being put together.
pub struct Chatctl {
    command: Command,
}

impl Chatctl {
    pub fn new(home: PathBuf) -> Chatctl {
        Chatctl {
            command: testkit::isolated(chatctl_bin(), &home),
        }
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Chatctl {
        self.command.env(key, value);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Chatctl
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Runs to the end with `stdin` as input.
    pub fn run_with_stdin(self, stdin: &str) -> Run {
        self.run_with_stdin_bytes(stdin.as_bytes())
    }

    /// Runs to the end with `stdin` as input, which need not be text.
    pub fn run_with_stdin_bytes(mut self, stdin: &[u8]) -> Run {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatctl");
        let mut input = child.stdin.take().expect("stdin");
        let bytes = stdin.to_vec();
        thread::spawn(move || {
            let _ = input.write_all(&bytes);
        });
        let stdout = reader(child.stdout.take().expect("stdout"));
        let stderr = reader(child.stderr.take().expect("stderr"));
        let code = wait(&mut child);
        let run = Run {
            code,
            stdout: stdout.recv_timeout(STEP).expect("stdout read"),
            stderr: stderr.recv_timeout(STEP).expect("stderr read"),
        };
        // Pipes are never a terminal: nothing decorative may appear in them.
        assert!(
            !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
            "escape codes in a pipe: {run:#?}"
        );
        run
    }

    pub fn run(self) -> Run {
        self.run_with_stdin("")
    }

    /// Starts chatctl and hands back its pipes, for tests that talk to it while it runs.
    pub fn spawn(mut self) -> Live {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatctl");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = stdout;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let stderr = reader(child.stderr.take().expect("stderr"));
        Live {
            child,
            stdin,
            chunks,
            stdout: Vec::new(),
            stderr,
        }
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// Waits for `child` to exit, at most `STEP`.
fn wait(child: &mut Child) -> i32 {
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chatctl did not exit within {STEP:?}");
}

/// A chatctl that is still running.
pub struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: Receiver<Vec<u8>>,
    stdout: Vec<u8>,
    stderr: Receiver<String>,
}

impl Live {
    pub fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(text.as_bytes()).expect("write to chatctl");
        stdin.flush().expect("flush to chatctl");
    }

    /// Reads stdout until `done` says so (or panics after `STEP`); returns all of it.
    pub fn read_until(&mut self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let text = String::from_utf8_lossy(&self.stdout).into_owned();
            if done(&text) {
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.stdout.extend(chunk),
                Err(_) => panic!("chatctl's stdout never got there; it has: {text:?}"),
            }
        }
    }

    /// Stops reading stdout: the pipe closes, as when `head` has had enough.
    pub fn close_stdout(&mut self) {
        let (_, empty) = mpsc::channel();
        // Dropping the receiver makes the reading thread stop and drop the pipe on its
        // next chunk.
        self.chunks = empty;
    }

    /// Whether chatctl has exited (without waiting for it).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Sends SIGINT, as Ctrl-C in a terminal would.
    pub fn interrupt(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("send SIGINT");
    }

    /// Waits for the exit; returns the code, the rest of stdout and all of stderr.
    pub fn finish(mut self) -> Run {
        self.stdin = None;
        let code = wait(&mut self.child);
        let deadline = Instant::now() + STEP;
        while let Ok(chunk) = self
            .chunks
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.stdout.extend(chunk);
        }
        Run {
            code,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: self.stderr.recv_timeout(STEP).expect("stderr read"),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages of conversation `id`, as the server stored them.
pub fn stored_messages(daemon: &Daemon, id: i64) -> Vec<serde_json::Value> {
    let run = daemon
        .chatctl()
        .args(["--json", "conv", "show", &id.to_string()])
        .run()
        .success();
    run.json()["messages"]
        .as_array()
        .expect("messages array")
        .clone()
}

/// Creates user `name` (which also makes them the remembered user); returns the id.
pub fn with_user(daemon: &Daemon, name: &str) -> i64 {
    let run = daemon
        .chatctl()
        .args(["--json", "user", "create", name])
        .run()
        .success();
    run.json()["id"].as_i64().expect("user id")
}

/// The ids of the remembered user's conversations, in the order they were created
/// (whatever order the list is shown in).
pub fn conversation_ids(daemon: &Daemon) -> Vec<i64> {
    let run = daemon
        .chatctl()
        .args(["--json", "conv", "list", "--all"])
        .run()
        .success();
    let mut ids: Vec<i64> = run
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

/// Reads one HTTP/1.1 request from `stream` (for the small stand-in servers of these
/// tests): its request line and body, and the stream to answer on. `None` when the
/// client went away first.
pub fn read_request(stream: std::net::TcpStream) -> Option<(String, Vec<u8>, std::net::TcpStream)> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(STEP));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0usize;
    for _ in 0..100 {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((request_line, body, reader.into_inner()))
}

/// Kills the daemon whose pid chatctl recorded in this file, whatever the test's outcome.
pub struct KillPidFile<'a>(pub &'a std::path::Path);

impl Drop for KillPidFile<'_> {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(self.0)
            .ok()
            .and_then(|pid| pid.trim().parse().ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// A new conversation of the remembered user; returns its id.
pub fn new_conversation(daemon: &Daemon) -> i64 {
    daemon
        .chatctl()
        .args(["--json", "conv", "new"])
        .run()
        .success()
        .json()["id"]
        .as_i64()
        .expect("conversation id")
}

/// The ids of a JSON list of conversations, in order.
pub fn ids(list: &serde_json::Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}
