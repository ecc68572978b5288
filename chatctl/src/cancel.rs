//! `chatctl cancel [ID]`: stop the reply being generated on a conversation (chatd's
//! `POST /conversations/{id}/cancel`), the way out of "a reply is already being
//! generated" for a reply left running by another terminal or a script.

use clap_complete::ArgValueCandidates;

use crate::client::Cancelled;
use crate::completions::dynamic;
use crate::context::Ctx;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation (default: the current one, the last used).
    #[arg(value_name = "ID", add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: Option<i64>,
}

pub const AFTER_HELP: &str = "\
Exit codes:
  0  the reply was stopped; what it had generated is stored (as cancelled)
  3  the conversation does not exist (or is another user's), or no reply is in progress
  1  the server cannot cancel replies (it is not chatd)

Examples:
  chatctl cancel
  chatctl cancel 12
  chatctl --json cancel 12";

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.known_user().await?;
        let id = match self.id {
            Some(id) => id,
            None => user
                .as_ref()
                .and_then(|user| ctx.last_conversation(&user.username))
                .ok_or_else(|| {
                    Coded::usage("no current conversation; name one: chatctl cancel ID")
                })?,
        };
        ctx.own_conversation(id, user.as_ref()).await?;
        match ctx.client.cancel(id).await? {
            Cancelled::Stopped(answer) => {
                if ctx.out.json {
                    ctx.out.json(&answer)?;
                } else {
                    ctx.out.line(&format!(
                        "cancelled the reply on conversation {id}; what it had generated is stored"
                    ))?;
                }
                Ok(())
            }
            Cancelled::NothingInProgress => Err(Coded {
                code: ExitCode::NotFound,
                message: format!("no reply is in progress on conversation {id}"),
            }
            .into()),
            Cancelled::Unsupported => Err(Coded {
                code: ExitCode::Failure,
                message: format!(
                    "{} cannot cancel replies (no cancel endpoint; is it chatd?)",
                    ctx.client.server()
                ),
            }
            .into()),
        }
    }
}

/// A 409 ("a reply is already being generated") with the command that ends it.
pub fn with_cancel_hint(err: anyhow::Error, conversation_id: i64) -> anyhow::Error {
    match err.downcast::<ApiError>() {
        Ok(ApiError::Status {
            status: 409,
            detail,
        }) => ApiError::Status {
            status: 409,
            detail: format!(
                "{}: `chatctl cancel {conversation_id}`",
                detail.trim_end_matches('.')
            ),
        }
        .into(),
        Ok(other) => other.into(),
        Err(other) => other,
    }
}
