//! `chatctl wait ID`: waits for the reply in flight on a conversation to end (a reply
//! left running by `send --detach`, another terminal or a script) and prints how it
//! ended: its text on stdout (the end object with `--json`), the details on stderr,
//! and the exit code of its status, as `send` ends. A reply that has already ended is
//! answered at once from the stored conversation.

use clap_complete::ArgValueCandidates;
use common::{Role, StreamEnd};

use crate::completions::dynamic;
use crate::context::Ctx;
use crate::error::Coded;
use crate::exit_codes::ExitCode;
use crate::reply::{self, Outcome};
use crate::send::verdict;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation.
    #[arg(value_name = "ID", add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: i64,

    /// Give up after this many seconds (exit code 1); the reply goes on.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
}

pub const AFTER_HELP: &str = "\
Exit codes: as `chatctl send` (0 complete; 6 failed, interrupted or truncated; 1
cancelled, or --timeout reached); 3 when the conversation has no reply.

Examples:
  id=$(chatctl send --detach summarise the log); chatctl wait \"$id\"
  chatctl --json wait 12 --timeout 60 | jq -r .status";

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.known_user().await?;
        ctx.own_conversation(self.id, user.as_ref()).await?;
        let waiting = reply::follow(&ctx.client, self.id, None, false, |_| Ok(()));
        let followed = match self.timeout {
            None => waiting.await?,
            Some(seconds) => {
                let limit = std::time::Duration::try_from_secs_f64(seconds)
                    .map_err(|_| Coded::usage("--timeout takes a number of seconds"))?;
                tokio::time::timeout(limit, waiting).await.map_err(|_| Coded {
                    code: ExitCode::Failure,
                    message: format!(
                        "the reply on conversation {} did not end within {seconds} s; it goes on",
                        self.id
                    ),
                })??
            }
        };
        let end = match followed {
            Some(outcome) => outcome.end,
            None => self.last_reply(ctx).await?,
        };
        if ctx.out.json {
            ctx.out.json(&end)?;
        } else if let Some(message) = &end.message {
            ctx.out.line(message.content.trim_end_matches('\n'))?;
        }
        crate::reply_details::show(&end, &ctx.out);
        verdict(Outcome {
            end,
            interrupted: false,
        })
    }

    /// Nothing in flight: the conversation's last reply, as it was stored.
    async fn last_reply(&self, ctx: &Ctx) -> anyhow::Result<StreamEnd> {
        let conversation = ctx.client.conversation_with_statuses(self.id).await?;
        let Some(message) = conversation
            .messages
            .last()
            .filter(|message| message.role == Role::Assistant)
        else {
            return Err(Coded {
                code: ExitCode::NotFound,
                message: format!(
                    "conversation {} has no reply, and none is being generated",
                    self.id
                ),
            }
            .into());
        };
        Ok(StreamEnd {
            conversation_id: self.id,
            status: message.status.unwrap_or(common::MessageStatus::Complete),
            message: Some(message.clone()),
            error: None,
            stored: true,
        })
    }
}
