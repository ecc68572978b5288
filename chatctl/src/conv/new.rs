//! `chatctl conv new`: a new, empty conversation (`POST /conversations/`), made the
//! current one.

use crate::context::Ctx;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv new
  chatctl conv new --name 'Trip plans'
  chatctl --json conv new | jq .id";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A name for the conversation.
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.user().await?;
        let conversation = ctx.new_conversation(&user, self.name).await?;
        if ctx.out.json {
            ctx.out.json(&conversation)?;
        } else {
            ctx.out.line(&format!(
                "created conversation {}{}",
                ctx.out.bold(&conversation.id.to_string()),
                conversation
                    .name
                    .as_deref()
                    .map(|n| format!(" {n:?}"))
                    .unwrap_or_default()
            ))?;
        }
        Ok(())
    }
}
