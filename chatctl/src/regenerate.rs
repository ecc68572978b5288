//! `chatctl regenerate [ID]`: another reply in a conversation, made beside the last one
//! (or beside `--message MSG_ID`), which stays in the conversation on its own branch
//! (docs/API.md §3.19); printed as `send` prints a reply.

use clap_complete::ArgValueCandidates;

use crate::completions::dynamic;
use crate::context::Ctx;
use crate::reply;
use crate::send::Printer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation (default: the current one, the last used).
    #[arg(value_name = "ID", add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: Option<i64>,

    /// The assistant message to answer again (default: the last reply).
    #[arg(long, value_name = "MSG_ID")]
    pub message: Option<i64>,

    /// With --json: print each event as it arrives, one JSON object per line.
    #[arg(long)]
    pub stream: bool,

    /// Show the model's reasoning, dimmed on stderr, while it streams.
    #[arg(long)]
    pub show_reasoning: bool,
}

pub const AFTER_HELP: &str = "\
Exit codes: as `chatctl send` (0 complete; 6 failed, interrupted or truncated; 1
cancelled; 4 when a reply is already being generated there).

Examples:
  chatctl regenerate
  chatctl regenerate 12 --message 40
  chatctl conv tree 12      # both replies, the new one active";

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        if let Some(id) = self.id {
            let user = ctx.known_user().await?;
            ctx.own_conversation(id, user.as_ref()).await?;
        }
        let id = crate::conv::given_or_current(ctx, self.id).await?;
        let out = ctx.out.clone();
        let mut printer = Printer::new(&out, self.stream, self.show_reasoning);
        let outcome = reply::regenerate(
            &ctx.client,
            id,
            self.message,
            printer.show_reasoning,
            |event| printer.event(event),
        )
        .await
        .map_err(|err| crate::cancel::with_cancel_hint(err, id))?;
        printer.finish(outcome)
    }
}
