//! `chatctl status`: does a daemon answer at the server address, and which one is it
//! (version, provider, model, database, from chatd's `GET /status` extension).
//!
//! It never starts a daemon: the question is whether one is running.

use common::ServerStatus;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::ApiError;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The `--json` shape of `status`.
#[derive(Debug, Serialize)]
pub struct StatusReport<'a> {
    /// The base URL asked.
    pub server: &'a str,
    /// Whether anything answered there.
    pub reachable: bool,
    /// chatd's own report; `null` when unreachable or when the server lacks `/status`.
    pub status: Option<&'a ServerStatus>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let server = ctx.client.server().to_string();
        let answer = ctx.client.status().await;
        let status = match &answer {
            Ok(status) => status.as_ref(),
            Err(_) => None,
        };
        let reachable = !matches!(answer, Err(ApiError::Unreachable { .. }));
        if ctx.out.json {
            ctx.out.json(&StatusReport {
                server: &server,
                reachable,
                status,
            })?;
        }
        let status = answer?;
        if ctx.out.json {
            return Ok(());
        }
        print_rows(&ctx.out, &server, status.as_ref(), None, None)
    }
}

/// The lines of `status` (and `daemon status`, which adds the process and its log).
pub fn print_rows(
    out: &crate::output::Out,
    server: &str,
    status: Option<&ServerStatus>,
    process: Option<&str>,
    log: Option<&str>,
) -> anyhow::Result<()> {
    let row = |label: &str, value: &str| out.line(&format!("{}  {value}", out.dim(label)));
    row("server   ", &format!("{server} (reachable)"))?;
    match status {
        Some(status) => {
            let process = process.map(|p| format!(" ({p})")).unwrap_or_default();
            row(
                "daemon   ",
                &format!("{} {}{process}", status.name, status.version),
            )?;
            row("provider ", &status.provider)?;
            row("model    ", &status.model)?;
            row(
                "database ",
                &format!("{} {}", status.database_backend, status.database),
            )?;
            row(
                "replies  ",
                &format!("{} in progress", status.replies_in_flight),
            )?;
        }
        None => row(
            "daemon   ",
            "unknown (the server has no /status endpoint; not chatd?)",
        )?,
    }
    if let Some(log) = log {
        row("log      ", log)?;
    }
    Ok(())
}
