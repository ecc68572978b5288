//! `chatctl conv show [ID]`: one conversation with all its messages (default: the
//! current one).

use anyhow::Context as _;

use clap_complete::ArgValueCandidates;

use crate::completions::dynamic;
use crate::context::Ctx;
use crate::error::Coded;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv show
  chatctl conv show 12
  chatctl --json conv show 12 | jq -r '.messages[].content'";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation's id (default: the current one, the last used).
    #[arg(add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: Option<i64>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let id = match self.id {
            Some(id) => id,
            None => {
                let user = ctx.user().await?;
                ctx.last_conversation(&user.username).ok_or_else(|| {
                    Coded::usage(
                        "no current conversation; name one (`chatctl conv list` shows them) \
                         or start one with `chatctl conv new`",
                    )
                })?
            }
        };
        let conversation = if ctx.out.json {
            // The documented object, exactly.
            ctx.client.conversation(id).await
        } else {
            ctx.client.conversation_with_statuses(id).await
        }
        .with_context(|| format!("could not show conversation {id}"))?;
        if ctx.out.json {
            ctx.out.json(&conversation)?;
        } else {
            let marks = super::tree::marks(&ctx.client, id).await;
            super::print_conversation(&ctx.out, &conversation, None, true, &marks)?;
        }
        Ok(())
    }
}
