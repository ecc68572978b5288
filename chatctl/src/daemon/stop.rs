//! `chatctl daemon stop`: SIGTERM to chatd, then a bounded wait while it lets its
//! replies finish (or stops and stores them as interrupted) and exits; then what became
//! of the replies that were in flight.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::loopback::{LoopbackHost, loopback_host};
use serde::Serialize;

use crate::autostart;
use crate::context::Ctx;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;

pub const AFTER_HELP: &str = "\
Exit codes: 0 when chatd has exited (or none was running), 1 when it could not be
stopped or is still storing replies when --timeout runs out.

Examples:
  chatctl daemon stop
  chatctl daemon stop --timeout 120";

const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long to wait for chatd to store its replies and exit, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
}

/// The `--json` shape of `daemon stop`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    server: &'a str,
    /// `null` when nothing was running.
    pid: Option<u32>,
    replies_in_flight: usize,
    /// Of those, how many were stored; `null` when chatd's log cannot tell.
    replies_stored: Option<usize>,
    /// Of the stored, how many were cut short (stored as interrupted).
    replies_interrupted: Option<usize>,
    /// How many chatd kept for its next start because the database refused them.
    replies_kept: Option<usize>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let server = ctx.client.server().to_string();
        let data_dir = ctx.client.data_dir().map(Path::to_path_buf);
        let status = match ctx.client.status().await {
            Ok(status) => status,
            Err(ApiError::Unreachable { .. }) => None,
            Err(err) => return Err(err.into()),
        };
        let on_this_machine = ctx
            .client
            .base()
            .host_str()
            .and_then(loopback_host)
            .is_some_and(LoopbackHost::surely_local);
        let recorded = super::recorded_pid(data_dir.as_deref());
        let reported = status
            .as_ref()
            .and_then(|s| s.pid)
            .filter(|&pid| on_this_machine && super::is_running_chatd(pid));
        let Some(pid) = reported.or(recorded) else {
            if status.is_some() {
                return Err(Coded {
                    code: ExitCode::Failure,
                    message: format!(
                        "a daemon answers at {server}, but chatctl cannot tell its process \
                         (not on this machine, or it does not report its pid); stop it where \
                         it runs"
                    ),
                }
                .into());
            }
            crate::output::note(&format!("no chatd runs at {server}; nothing to stop"));
            if ctx.out.json {
                ctx.out.json(&Report {
                    server: &server,
                    pid: None,
                    replies_in_flight: 0,
                    replies_stored: None,
                    replies_interrupted: None,
                    replies_kept: None,
                })?;
            }
            return Ok(());
        };
        let in_flight = status.as_ref().map_or(0, |s| s.replies_in_flight);
        // Only the log of the chatd chatctl started is ours to read.
        let log = data_dir
            .as_deref()
            .map(autostart::log_path)
            .filter(|_| recorded == Some(pid));
        let log_start = log
            .as_deref()
            .and_then(|path| std::fs::metadata(path).ok())
            .map_or(0, |meta| meta.len());

        let target = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
            .ok_or_else(|| anyhow::anyhow!("not a process id: {pid}"))?;
        rustix::process::kill_process(target, rustix::process::Signal::TERM)
            .map_err(|err| anyhow::anyhow!("could not signal chatd (pid {pid}): {err}"))?;
        if in_flight > 0 && !ctx.out.json {
            crate::output::note(&format!(
                "waiting for chatd (pid {pid}) to store {in_flight} replies in flight…"
            ));
        }
        let polls = self.timeout.saturating_mul(1000) / POLL.as_millis() as u64 + 1;
        let mut exited = false;
        for _ in 0..polls {
            if !super::is_running_chatd(pid) {
                exited = true;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        if !exited {
            return Err(Coded {
                code: ExitCode::Failure,
                message: format!(
                    "chatd (pid {pid}) has not exited after {} s; it may still be storing \
                     replies (wait, or `kill -9 {pid}`: what it generated is checkpointed and \
                     stored as interrupted at the next start)",
                    self.timeout
                ),
            }
            .into());
        }
        if recorded == Some(pid)
            && let Some(dir) = &data_dir
        {
            let _ = std::fs::remove_file(autostart::pid_path(dir));
        }
        let shutdown = log.map(|path| read_shutdown(&path, log_start));
        let (stored, interrupted, kept) = match &shutdown {
            Some(s) => (
                Some(in_flight.saturating_sub(s.kept)),
                Some(s.interrupted),
                Some(s.kept),
            ),
            None => (None, None, None),
        };
        if ctx.out.json {
            ctx.out.json(&Report {
                server: &server,
                pid: Some(pid),
                replies_in_flight: in_flight,
                replies_stored: stored,
                replies_interrupted: interrupted,
                replies_kept: kept,
            })?;
            return Ok(());
        }
        let replies = match (in_flight, stored, interrupted, kept) {
            (0, ..) => "no replies were in flight".to_string(),
            (n, Some(stored), Some(interrupted), Some(kept)) => {
                let mut text = format!("{stored} of {n} replies in flight stored");
                if interrupted > 0 {
                    text.push_str(&format!(" ({interrupted} cut short, as interrupted)"));
                }
                if kept > 0 {
                    text.push_str(&format!(
                        "; {kept} kept for the next start (the database refused them)"
                    ));
                }
                text
            }
            (n, ..) => format!("{n} replies were in flight (chatd stores them as it exits)"),
        };
        ctx.out
            .line(&format!("stopped chatd (pid {pid}); {replies}"))?;
        Ok(())
    }
}

/// What chatd's log says about its shutdown, from `offset` on.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shutdown {
    /// Replies stopped at the end of the grace period, stored as interrupted.
    interrupted: usize,
    /// Replies kept in the recovery file for the next start.
    kept: usize,
}

fn read_shutdown(path: &PathBuf, offset: u64) -> Shutdown {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path)
        && file.seek(SeekFrom::Start(offset)).is_ok()
    {
        // A bounded read: the shutdown lines are the last few of the log.
        let _ = file.take(1 << 20).read_to_string(&mut text);
    }
    parse_shutdown(&text)
}

/// Reads the numbers out of chatd's shutdown lines (`replies/mod.rs`, `drain`).
fn parse_shutdown(text: &str) -> Shutdown {
    let mut shutdown = Shutdown::default();
    let number_before = |line: &str, marker: &str| -> Option<usize> {
        let before = &line[..line.find(marker)?];
        before.split_whitespace().last()?.parse().ok()
    };
    for line in text.lines() {
        if let Some(n) = number_before(line, " replies still in flight") {
            shutdown.interrupted = n;
        }
        if let Some(n) = number_before(line, " replies the database refused are kept") {
            shutdown.kept = n;
        }
    }
    shutdown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shutdown_lines_give_their_numbers() {
        let log = "2026-12-02T01:00:00Z  INFO chatd: shutting down: no new connections\n\
                   2026-12-02T01:00:10Z  WARN chatd::replies: stopping 2 replies still in \
                   flight; what they generated is stored as interrupted\n\
                   2026-12-02T01:00:10Z  WARN chatd::replies: 1 replies the database refused \
                   are kept for the next start\n";
        assert_eq!(
            parse_shutdown(log),
            Shutdown {
                interrupted: 2,
                kept: 1
            }
        );
        assert_eq!(parse_shutdown("stopped\n"), Shutdown::default());
    }
}
