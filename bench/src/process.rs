//! The processes under test: chatd as its real release binary (temporary database and
//! home, none of the user's settings, `--listen 127.0.0.1:0`), the harness's own helper
//! roles, the open-file limit they all need, and memory read from `/proc/<pid>/status`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Descriptors for 10,000 client sockets, as many upstream ones, and slack. Children
/// inherit the limit, so chatd gets it too.
pub const OPEN_FILES: u64 = 65_536;

/// Raises this process's open-file limit (both soft and hard: the harness runs as
/// whoever runs it, and only the soft limit can be raised without privilege).
pub fn raise_open_files() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let wanted = Rlimit {
        current: Some(OPEN_FILES),
        maximum: Some(OPEN_FILES.max(current.maximum.unwrap_or(OPEN_FILES))),
    };
    if setrlimit(Resource::Nofile, wanted).is_err() {
        let hard = current.maximum.unwrap_or(OPEN_FILES);
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: current.maximum,
            },
        );
    }
    getrlimit(Resource::Nofile).current.unwrap_or(0)
}

/// User plus system CPU time `pid` has used so far, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; the state, field 3, comes
    // first after the name.
    let ticks: u64 = [14 - 3, 15 - 3]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // In USER_HZ, which Linux reports in /proc as 100 per second whatever its own tick.
    ticks as f64 / 100.0
}

/// A loopback listener with the same accept backlog as chatd's (capped by the
/// kernel's `somaxconn`): tokio's default of 1024 overflows when chatd opens thousands of
/// upstream connections within a second, and each dropped SYN costs a 1 to 3 s retry
/// that would be charged to chatd's time to first token.
pub fn loopback_listener() -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(65_535)
}

/// This executable's path, as it was when the harness started. The harness's own
/// `cargo build` may replace the file (cargo relinks it when the three packages built
/// together unify features differently from `cargo run -p chatd-bench`; bench/Cargo.toml
/// keeps them alike, but a feature chatctl adds later would bring it back), after which
/// `current_exe()` names the unlinked original, "... (deleted)", which cannot be
/// started. The path taken first names the new file, which can.
pub fn own_executable() -> &'static std::io::Result<PathBuf> {
    static PATH: std::sync::OnceLock<std::io::Result<PathBuf>> = std::sync::OnceLock::new();
    PATH.get_or_init(std::env::current_exe)
}

/// A child that prints its address as its first line and is killed when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub child: Child,
    /// From spawning to the first line on stdout.
    pub announced_after: Duration,
    pub spawned_at: Instant,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// SIGTERM, then up to 20 s for chatd to store its replies and exit, then SIGKILL.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id()
            && let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Where chatd's log of a run goes, beside its database.
pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

/// chatd on `database`, its home and logs in `dir`.
pub async fn chatd(
    binary: &Path,
    dir: &Path,
    database: &Path,
    extra: &[String],
    log: &str,
) -> anyhow::Result<Server> {
    let home = dir.join("home");
    std::fs::create_dir_all(&home)?;
    let log_file = std::fs::File::create(log_path(dir, log))?;
    let mut command = Command::from(testkit::isolated(binary, &home));
    command
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(database)
        .args(extra)
        .env("CHATD_LOG", "warn")
        .stderr(Stdio::from(log_file));
    spawn(command, "chatd listening on http://").await
}

/// This same executable in one of its helper roles (`upstream …`, `reference …`).
pub async fn helper(args: &[String]) -> anyhow::Result<Server> {
    let me = own_executable()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("cannot find the harness's own executable: {e}"))?;
    let mut command = Command::new(me);
    command.args(args).stderr(Stdio::inherit());
    spawn(command, "listening ").await
}

async fn spawn(mut command: Command, prefix: &str) -> anyhow::Result<Server> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let spawned_at = Instant::now();
    let mut child = command.spawn().context("could not start the process")?;
    let Some(stdout) = child.stdout.take() else {
        bail!("no stdout")
    };
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("the process said nothing for 20 s")??
        .context("the process exited before saying where it listens")?;
    let announced_after = spawned_at.elapsed();
    let rest = line
        .strip_prefix(prefix)
        .with_context(|| format!("unexpected first line {line:?}"))?;
    let addr: SocketAddr = if let Ok(port) = rest.trim().parse::<u16>() {
        SocketAddr::from(([127, 0, 0, 1], port))
    } else {
        rest.split('/')
            .next()
            .unwrap_or_default()
            .parse()
            .with_context(|| format!("no address in {line:?}"))?
    };
    // The rest of stdout is drained so the child can never block on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Server {
        addr,
        child,
        announced_after,
        spawned_at,
    })
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Watches a process's memory over one scenario: resets the kernel's peak (writing 5 to
/// `clear_refs` sets VmHWM back to the current RSS) and also samples VmRSS every 10 ms,
/// in case the reset is not permitted.
pub struct RssWatch {
    pid: u32,
    stop: tokio::sync::watch::Sender<bool>,
    sampler: tokio::task::JoinHandle<u64>,
}

impl RssWatch {
    pub fn start(pid: u32) -> RssWatch {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                peak = peak.max(status_kb(pid, "VmRSS").unwrap_or(0));
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
            }
            peak
        });
        RssWatch { pid, stop, sampler }
    }

    /// The peak RSS in kB since `start`.
    pub async fn finish(self) -> u64 {
        let hwm = status_kb(self.pid, "VmHWM").unwrap_or(0);
        let _ = self.stop.send(true);
        let sampled = self.sampler.await.unwrap_or(0);
        hwm.max(sampled)
    }
}
