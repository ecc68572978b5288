//! `chatctl attach ID`: the reply being generated on a conversation, printed live as
//! `send` prints one, from its start or from the event after `--after CURSOR` (an event
//! id chatd sent, as `send --json --stream` does not show but `--detach --json` gives
//! as `reply.cursor`). A stream that breaks is resumed where it broke.

use clap_complete::ArgValueCandidates;

use crate::completions::dynamic;
use crate::context::Ctx;
use crate::error::Coded;
use crate::exit_codes::ExitCode;
use crate::reply;
use crate::send::Printer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation.
    #[arg(value_name = "ID", add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: i64,

    /// Start after this event id (a reply cursor such as `12:40`) instead of the start.
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,

    /// With --json: print each event as it arrives, one JSON object per line.
    #[arg(long)]
    pub stream: bool,

    /// Show the model's reasoning, dimmed on stderr, while it streams.
    #[arg(long)]
    pub show_reasoning: bool,
}

pub const AFTER_HELP: &str = "\
Exit codes: as `chatctl send` (0 complete; 6 failed, interrupted or truncated; 1
cancelled); 3 when no reply is being generated there.

Examples:
  chatctl attach 12
  chatctl attach 12 --after 31:120
  chatctl --json attach --stream 12";

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.known_user().await?;
        ctx.own_conversation(self.id, user.as_ref()).await?;
        let out = ctx.out.clone();
        let mut printer = Printer::new(&out, self.stream, self.show_reasoning);
        let followed = reply::follow(
            &ctx.client,
            self.id,
            self.after.as_deref(),
            printer.show_reasoning,
            |event| printer.event(event),
        )
        .await?;
        match followed {
            Some(outcome) => printer.finish(outcome),
            None => Err(Coded {
                code: ExitCode::NotFound,
                message: format!("no reply is being generated on conversation {}", self.id),
            }
            .into()),
        }
    }
}
