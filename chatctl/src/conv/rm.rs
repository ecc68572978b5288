//! `chatctl conv rm ID…` (`DELETE /conversations/{id}` for each). Deleting cannot be
//! undone, so on a terminal it asks first; in a script it wants `--yes`, and refuses
//! without it rather than guess.

use std::io::IsTerminal;

use serde::Serialize;

use crate::client::unsupported_or;
use crate::context::Ctx;
use crate::error::{Coded, Interrupted};
use crate::exit_codes::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv rm 12
  chatctl conv rm --yes 12 13 14";

/// Exits 0 once every conversation is deleted, 1 when the question on the terminal is
/// answered no, 2 without a terminal to ask on and without `--yes`, 3 at the first
/// conversation that does not exist (those before it are deleted), or when the server
/// does not support deleting.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ids of the conversations to delete.
    #[arg(
        required = true,
        num_args = 1..,
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::conversations)
    )]
    pub ids: Vec<i64>,
    /// Delete without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// What `--json` prints: the ids deleted, in order.
#[derive(Debug, Serialize)]
struct Deleted<'a> {
    deleted: &'a [i64],
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        if !self.yes {
            confirm(&self.ids).await?;
        }
        let user = ctx.known_user().await?;
        let mut deleted = Vec::with_capacity(self.ids.len());
        for &id in &self.ids {
            if let Err(err) = ctx.refuse_if_not_theirs(id, user.as_ref()).await {
                if !ctx.out.json {
                    report(ctx, &deleted)?;
                }
                return Err(err);
            }
            let result = ctx.client.delete_conversation(id).await;
            if let Err(err) = result {
                if !ctx.out.json {
                    report(ctx, &deleted)?;
                }
                return Err(
                    unsupported_or(err, ctx.client.server(), "deleting conversations")
                        .context(format!("could not delete conversation {id}")),
                );
            }
            deleted.push(id);
        }
        if ctx.out.json {
            ctx.out.json(&Deleted { deleted: &deleted })?;
        } else {
            report(ctx, &deleted)?;
        }
        Ok(())
    }
}

fn report(ctx: &Ctx, deleted: &[i64]) -> std::io::Result<()> {
    for id in deleted {
        ctx.out.line(&format!("deleted conversation {id}"))?;
    }
    Ok(())
}

/// Asks on the terminal; without one, refuses.
async fn confirm(ids: &[i64]) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Coded::usage(
            "refusing to delete without confirmation: there is no terminal to ask on; \
             pass --yes to delete from a script",
        )
        .into());
    }
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let question = if ids.len() == 1 {
        format!("Delete conversation {list} and all its messages?")
    } else {
        format!("Delete conversations {list} and all their messages?")
    };
    let answer = tokio::task::spawn_blocking(move || {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on(&dialoguer::console::Term::stderr())
    })
    .await?;
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => Err(Coded {
            code: ExitCode::Failure,
            message: "nothing deleted".into(),
        }
        .into()),
        Err(dialoguer::Error::IO(err)) if err.kind() == std::io::ErrorKind::Interrupted => {
            Err(Interrupted.into())
        }
        Err(err) => Err(anyhow::Error::new(err).context("could not ask on the terminal")),
    }
}
