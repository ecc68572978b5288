//! `chatctl daemon start|stop|status|logs`: the chatd that serves `--server`, managed
//! from chatctl, so that one person needs no other tool. chatctl starts chatd detached
//! with its log and pid in chatctl's data directory (`autostart.rs`); `stop` finds the
//! process by the pid chatd reports in `GET /status` (when the server is on this
//! machine) or the one chatctl recorded.

mod logs;
mod start;
mod status;
mod stop;

use std::path::Path;

use crate::autostart;
use crate::context::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start chatd in the background for --server (arguments after `--` go to chatd).
    #[command(after_help = start::EXAMPLES)]
    Start(start::Args),
    /// Stop chatd: SIGTERM, then wait for it to store its replies and exit.
    #[command(after_help = stop::AFTER_HELP)]
    Stop(stop::Args),
    /// Show whether chatd runs at --server, its pid, provider and log.
    #[command(after_help = status::EXAMPLES)]
    Status(status::Args),
    /// Print the log of the chatd that chatctl started (-f follows it).
    #[command(after_help = logs::EXAMPLES)]
    Logs(logs::Args),
}

impl Command {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        match self {
            Command::Start(args) => args.run(ctx).await,
            Command::Stop(args) => args.run(ctx).await,
            Command::Status(args) => args.run(ctx).await,
            Command::Logs(args) => args.run(ctx).await,
        }
    }
}

/// The pid chatctl recorded when it last started chatd, if that process still runs.
fn recorded_pid(data_dir: Option<&Path>) -> Option<u32> {
    let text = std::fs::read_to_string(autostart::pid_path(data_dir?)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_running_chatd(pid).then_some(pid)
}

/// Whether `pid` is a live chatd process (not another program that got the number
/// after chatd exited, and not a zombie waiting to be reaped).
fn is_running_chatd(pid: u32) -> bool {
    let proc = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = std::fs::read_to_string(proc.join("stat")) else {
        return false;
    };
    // `pid (comm) state ...`; comm may hold spaces or parentheses, so read from the
    // last `)`.
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return false;
    };
    let comm = &stat[open + 1..close];
    let state = stat[close + 1..].trim_start().chars().next();
    comm == "chatd" && !matches!(state, Some('Z' | 'X'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_chatd_counts() {
        // This test process is alive but is not chatd.
        assert!(!is_running_chatd(std::process::id()));
        assert!(!is_running_chatd(u32::MAX));
    }
}
