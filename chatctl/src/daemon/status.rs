//! `chatctl daemon status`: `chatctl status` plus what only this machine knows, the
//! daemon's pid and the log of the one chatctl started.

use common::ServerStatus;
use serde::Serialize;

use crate::autostart;
use crate::context::Ctx;
use crate::error::ApiError;

pub const EXAMPLES: &str = "\
Exit codes: 0 when chatd answers at --server, 5 when nothing does.

Examples:
  chatctl daemon status
  chatctl --json daemon status | jq .pid";

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The `--json` shape of `daemon status`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    server: &'a str,
    reachable: bool,
    /// chatd's pid: as it reports it, else as chatctl recorded it.
    pid: Option<u32>,
    /// The log of the chatd chatctl started, when there is one.
    log: Option<String>,
    status: Option<&'a ServerStatus>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let server = ctx.client.server().to_string();
        let answer = ctx.client.status().await;
        let status = answer.as_ref().ok().and_then(Option::as_ref);
        let reachable = !matches!(answer, Err(ApiError::Unreachable { .. }));
        let recorded = super::recorded_pid(ctx.client.data_dir());
        let pid = status
            .and_then(|s| s.pid)
            .or(recorded.filter(|_| reachable));
        let log = ctx
            .client
            .data_dir()
            .map(autostart::log_path)
            .filter(|path| path.is_file())
            .map(|path| path.display().to_string());
        if ctx.out.json {
            ctx.out.json(&Report {
                server: &server,
                reachable,
                pid,
                log: log.clone(),
                status,
            })?;
        }
        let status = answer?;
        if ctx.out.json {
            return Ok(());
        }
        let started_here = pid.is_some() && pid == recorded;
        let process = match (pid, started_here) {
            (Some(pid), true) => format!("pid {pid}, started by chatctl"),
            (Some(pid), false) => format!("pid {pid}"),
            (None, _) => "pid unknown".to_string(),
        };
        let log = log.filter(|_| started_here);
        crate::status::print_rows(
            &ctx.out,
            &server,
            status.as_ref(),
            Some(&process),
            log.as_deref(),
        )
    }
}
