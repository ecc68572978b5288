//! `chatctl conv rename ID NAME` (`PATCH /conversations/{id}` with a `name`).

use common::UpdateConversationRequest;

use super::set::print_settings;
use crate::client::unsupported_or;
use crate::context::Ctx;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv rename 12 'Trip to Lyon'
  chatctl --json conv rename 12 Recipes | jq .title_source";

/// Exits 0 once renamed, 2 for a name the server refuses (over 200 characters), 3 when
/// the conversation does not exist or the server does not support renaming.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation's id.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::conversations))]
    pub id: i64,
    /// Its new name.
    pub name: String,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.known_user().await?;
        ctx.refuse_if_not_theirs(self.id, user.as_ref()).await?;
        let change = UpdateConversationRequest {
            name: Some(Some(self.name)),
            ..UpdateConversationRequest::default()
        };
        let settings = ctx
            .client
            .update_conversation(self.id, &change)
            .await
            .map_err(|err| unsupported_or(err, ctx.client.server(), "renaming conversations"))
            .map_err(|err| err.context(format!("could not rename conversation {}", self.id)))?;
        if ctx.out.json {
            ctx.out.json(&settings)?;
        } else {
            print_settings(&ctx.out, &settings)?;
        }
        Ok(())
    }
}
