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

/// Seconds of CPU the whole machine has spent busy (user, nice, system, irq, softirq,
/// steal; not idle or waiting for I/O), from the first line of `/proc/stat`.
fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return f64::NAN;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return f64::NAN;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    busy as f64 / 100.0
}

/// CPU used over a span by the processes of a run and by everything else on the
/// machine: other processes' CPU is what disturbed the figures.
pub struct CpuWindow {
    pids: Vec<u32>,
    ours: Vec<f64>,
    machine: f64,
    at: Instant,
}

/// What a `CpuWindow` saw.
#[derive(Debug, Clone)]
pub struct CpuUse {
    /// Per pid, in the order given to `start`.
    pub ours: Vec<f64>,
    /// Busy CPU of every other process (and the kernel's own work for them).
    pub others: f64,
    pub wall: f64,
}

impl CpuWindow {
    pub fn start(pids: &[u32]) -> CpuWindow {
        CpuWindow {
            pids: pids.to_vec(),
            ours: pids.iter().map(|&p| process::cpu_seconds(p)).collect(),
            machine: machine_busy_seconds(),
            at: Instant::now(),
        }
    }

    pub fn finish(&self) -> CpuUse {
        let ours: Vec<f64> = self
            .pids
            .iter()
            .zip(&self.ours)
            .map(|(&p, before)| process::cpu_seconds(p) - before)
            .collect();
        let machine = machine_busy_seconds() - self.machine;
        CpuUse {
            others: (machine - ours.iter().sum::<f64>()).max(0.0),
            ours,
            wall: self.at.elapsed().as_secs_f64(),
        }
    }
}

impl CpuUse {
    /// Share of the machine's cores busy over the span, ours and others together.
    pub fn busy_percent(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        (self.ours.iter().sum::<f64>() + self.others) / (self.wall * cores) * 100.0
    }
}
