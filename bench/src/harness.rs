//! The surroundings of a full run: the release binaries it measures, the directory they
//! run in, the machine's description and load, and the progress lines on stderr.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::process::{self, Server};

/// Everything a scenario needs to start chatd and chatctl.
pub struct Env {
    pub chatd: PathBuf,
    pub chatctl: PathBuf,
    /// The run's temporary directory: databases, logs and the children's home.
    pub dir: PathBuf,
}

impl Env {
    /// chatd on `database` with `extra` flags, its log in `LOG.log`.
    pub async fn chatd(
        &self,
        database: &Path,
        extra: &[String],
        log: &str,
    ) -> anyhow::Result<Server> {
        process::chatd(&self.chatd, &self.dir, database, extra, log).await
    }
}

pub fn progress(text: &str) {
    eprintln!("[{:>7.1} s] {text}", started().elapsed().as_secs_f64());
}

/// When the run started; the first call fixes it.
pub fn started() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Builds chatd and chatctl in release mode into this executable's target directory and
/// returns that directory.
pub fn build_binaries() -> anyhow::Result<PathBuf> {
    if cfg!(debug_assertions) {
        bail!("the load generator must be optimised: run `cargo run --release -p chatd-bench`");
    }
    let exe = process::own_executable()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("cannot find the harness's own executable: {e}"))?;
    let release = exe
        .parent()
        .context("the harness's executable has no directory")?
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    progress("building chatd and chatctl (release)");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "chatd",
            "-p",
            "chatctl",
            // Built together with the harness (already up to date), so cargo unifies
            // the same features and does not rebuild reqwest and chatd on every run.
            "-p",
            "chatd-bench",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", release.parent().unwrap_or(&release))
        .status()
        .context("could not run cargo")?;
    if !status.success() {
        bail!("building chatd and chatctl failed");
    }
    Ok(release)
}

/// Cores, CPU model and memory, from `/proc`.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split(':')
                    .nth(1)
                    .map(|s| s.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores, {cpu}, {:.1} GiB",
        mem as f64 / 1024.0 / 1024.0
    )
}

/// The 1, 5 and 15 minute load averages: how busy the shared machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
