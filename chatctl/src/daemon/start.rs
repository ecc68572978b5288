//! `chatctl daemon start [-- CHATD ARGS]`.

use serde::Serialize;

use crate::autostart;
use crate::context::Ctx;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;

pub const EXAMPLES: &str = "\
chatd runs with the [daemon] settings of chatctl's config.toml (provider, model, args);
arguments after `--` replace them.

Examples:
  chatctl daemon start
  chatctl daemon start -- --provider openai --model gpt-4o-mini
  chatctl --server http://127.0.0.1:9000/api/v1 daemon start";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments for chatd (instead of the [daemon] settings).
    #[arg(last = true, value_name = "CHATD_ARGS")]
    pub chatd_args: Vec<String>,
}

/// The `--json` shape of `daemon start`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    server: &'a str,
    /// `null` when a daemon already answered.
    pid: Option<u32>,
    started: bool,
    log: Option<String>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let server = ctx.client.server().to_string();
        let listen = autostart::listen_address(ctx.client.base()).ok_or_else(|| {
            Coded::usage(format!(
                "chatctl starts chatd only for a local http:// address ending in {}, such as \
                 the default; start chatd yourself for {server}",
                common::API_BASE
            ))
        })?;
        match ctx.client.status().await {
            Err(ApiError::Unreachable { .. }) => {}
            Err(err) => return Err(err.into()),
            Ok(status) => {
                let pid = status.and_then(|s| s.pid);
                if ctx.out.json {
                    ctx.out.json(&Report {
                        server: &server,
                        pid,
                        started: false,
                        log: None,
                    })?;
                } else {
                    let pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    ctx.out
                        .line(&format!("chatd already runs at {server}{pid}"))?;
                }
                return Ok(());
            }
        }
        let args = if self.chatd_args.is_empty() {
            ctx.store.remembered.daemon.chatd_args()
        } else {
            self.chatd_args
        };
        let started = autostart::start(&listen, &args, ctx.client.data_dir())
            .await
            .map_err(|why| Coded {
                code: ExitCode::Failure,
                message: format!("could not start chatd: {why}"),
            })?;
        if ctx.out.json {
            ctx.out.json(&Report {
                server: &server,
                pid: Some(started.pid),
                started: true,
                log: Some(started.log.display().to_string()),
            })?;
        } else {
            ctx.out.line(&format!(
                "started chatd (pid {}) at {server}; log: {}",
                started.pid,
                started.log.display()
            ))?;
        }
        Ok(())
    }
}
