//! `chatctl send`: one message, its reply streamed to stdout as it arrives. For scripts:
//! `--json` prints the stored assistant message with its outcome, `--json --stream`
//! prints one JSON object per event, `--detach` returns once the message is stored.
//! [`Printer`] and [`verdict`] print a reply and end by how it ended, for `attach` and
//! `wait` too.

use std::io::{IsTerminal, Write};

use common::{ChatRequest, MessageStatus};

use crate::context::Ctx;
use crate::error::{ApiError, Coded, Interrupted, ReplyIncomplete};
use crate::output::{Out, ReplyText};
use crate::reconnect;
use crate::reply::{self, Outcome, ReplyEvent};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation to send to (default: the last one used, else a new one).
    #[arg(
        short = 'c',
        long = "conversation",
        value_name = "ID",
        conflicts_with = "new",
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::conversations)
    )]
    pub conversation: Option<i64>,

    /// Start a new conversation for this message.
    #[arg(long)]
    pub new: bool,

    /// Send the message as an edit of this earlier user message of the conversation: it
    /// is stored beside it on a new branch, and answered there (the old version stays;
    /// `chatctl conv tree` shows both).
    #[arg(long, value_name = "MSG_ID", conflicts_with = "new")]
    pub edit_of: Option<i64>,

    /// Return once the message is stored, printing the conversation id (the object
    /// with --json); the reply runs on: follow it with `chatctl attach` or `chatctl wait`.
    #[arg(long, conflicts_with_all = ["stream", "show_reasoning"])]
    pub detach: bool,

    /// With --json: print each event as it arrives, one JSON object per line.
    #[arg(long)]
    pub stream: bool,

    /// Start a new conversation on this model (PROVIDER/MODEL, see `chatctl models`).
    #[arg(
        long,
        value_name = "MODEL",
        conflicts_with = "conversation",
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::models)
    )]
    pub model: Option<String>,

    /// Show the model's reasoning, dimmed on stderr, while it streams.
    #[arg(long)]
    pub show_reasoning: bool,

    /// The message (several words are joined by spaces); `-`, or no message with stdin
    /// not a terminal, reads it from stdin.
    #[arg(num_args = 0.., value_name = "MESSAGE|-")]
    pub message: Vec<String>,
}

pub const EXAMPLES: &str = "\
A connection that drops is retried with the same Idempotency-Key (the message is
stored once), and a stream that breaks is resumed where it broke.

Examples:
  chatctl send what is a monad
  git diff | chatctl send --new
  id=$(chatctl send --detach write a long story); chatctl wait \"$id\"";

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let from_stdin = (self.message.len() == 1 && self.message[0] == "-")
            || (self.message.is_empty() && crate::stdin::is_piped());
        let message = if from_stdin {
            crate::stdin::read_message().await?
        } else if self.message.is_empty() {
            return Err(Coded::usage(
                "no message given; pass it as words, or `-` to type it (or pipe it in)",
            )
            .into());
        } else {
            self.message.join(" ")
        };
        if message.trim().is_empty() {
            return Err(Coded::usage("the message is empty").into());
        }
        let conversation_id = self.pick_conversation(ctx).await?;

        if self.detach {
            return detach(ctx, conversation_id, message, self.edit_of).await;
        }

        let out = ctx.out.clone();
        let mut printer = Printer::new(&out, self.stream, self.show_reasoning);
        let outcome = reply::stream_edit(
            &ctx.client,
            conversation_id,
            &message,
            self.edit_of,
            printer.show_reasoning,
            |event| printer.event(event),
        )
        .await
        .map_err(|err| crate::cancel::with_cancel_hint(err, conversation_id))?;
        printer.finish(outcome)
    }

    /// `-c ID`, a new conversation for `--new`, else the last one used (if it still
    /// exists), else a new one.
    async fn pick_conversation(&self, ctx: &mut Ctx) -> anyhow::Result<i64> {
        if let Some(id) = self.conversation {
            let user = ctx.known_user().await?;
            ctx.own_conversation(id, user.as_ref()).await?;
            // Remembered only once the server has confirmed it exists.
            if let Some(user) = user {
                ctx.remember_conversation(&user.username, id);
            }
            return Ok(id);
        }
        let user = ctx.user().await?;
        if let Some(model) = &self.model {
            let request = common::CreateConversationRequest {
                user_id: user.id,
                name: None,
            };
            let conversation = ctx
                .client
                .create_conversation_with_model(&request, model)
                .await?;
            ctx.remember_conversation(&user.username, conversation.id);
            if std::io::stderr().is_terminal() && !ctx.out.json {
                crate::output::note(&format!(
                    "(new conversation {} on {model})",
                    conversation.id
                ));
            }
            return Ok(conversation.id);
        }
        if !self.new
            && let Some(id) = ctx.last_conversation(&user.username)
        {
            match ctx.client.conversation(id).await {
                Ok(conversation) if conversation.user_id == user.id => return Ok(id),
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err.into()),
            }
        }
        let conversation = ctx.new_conversation(&user, None).await?;
        if std::io::stderr().is_terminal() && !ctx.out.json {
            crate::output::note(&format!("(new conversation {})", conversation.id));
        }
        Ok(conversation.id)
    }
}

/// `send --detach`: the message stored and its reply started, nothing waited for.
async fn detach(
    ctx: &mut Ctx,
    conversation_id: i64,
    message: String,
    edit_of: Option<i64>,
) -> anyhow::Result<()> {
    let request = ChatRequest {
        conversation_id,
        message,
        edit_of,
    };
    let key = reconnect::fresh_key();
    let mut attempt = 0;
    let detached = loop {
        match ctx.client.chat_detached(&request, &key).await {
            // Sent again with the same key: chatd stores the message once.
            Err(ApiError::Transport { .. }) if attempt < reconnect::RETRIES => {
                tokio::time::sleep(reconnect::pause(attempt)).await;
                attempt += 1;
            }
            other => break other?,
        }
    };
    if ctx.out.json {
        ctx.out.json(&detached)?;
    } else {
        ctx.out.line(&detached.conversation_id.to_string())?;
    }
    Ok(())
}

/// Prints a reply as `send` does: tokens on stdout as they come (rendered on a
/// terminal), reasoning dimmed on stderr when asked for, one JSON object per event with
/// `--json --stream`, the stored message with `--json`; then how it ended.
pub struct Printer<'o> {
    out: &'o Out,
    text: ReplyText<'o>,
    stream_json: bool,
    pub show_reasoning: bool,
    reasoning_open: bool,
}

impl<'o> Printer<'o> {
    pub fn new(out: &'o Out, stream: bool, show_reasoning: bool) -> Printer<'o> {
        Printer {
            out,
            // Rendered as Markdown on a terminal, as written on a pipe or with --raw.
            text: ReplyText::new(out, ""),
            stream_json: out.json && stream,
            show_reasoning: show_reasoning && !out.json,
            reasoning_open: false,
        }
    }

    pub fn event(&mut self, event: ReplyEvent<'_>) -> std::io::Result<()> {
        let out = self.out;
        match (&event, out.json) {
            _ if self.stream_json => out.json_line(&event),
            (ReplyEvent::Reasoning { content }, false) if self.show_reasoning => {
                self.reasoning_open = !content.ends_with('\n');
                let dimmed = crate::reply_details::dim_for_stderr(content, out);
                // A stderr that cannot be written to is not worth failing the reply.
                let _ = write!(std::io::stderr().lock(), "{dimmed}");
                Ok(())
            }
            (ReplyEvent::Token { content }, false) => {
                if std::mem::take(&mut self.reasoning_open) {
                    let _ = writeln!(std::io::stderr().lock());
                }
                self.text.push(content)
            }
            (ReplyEvent::End(end), true) => out.json(end),
            _ => Ok(()),
        }
    }

    /// Ends the printed reply; the error carries the exit code of how it ended.
    pub fn finish(mut self, outcome: Outcome) -> anyhow::Result<()> {
        if !self.out.json {
            self.text.finish()?;
        }
        crate::reply_details::show(&outcome.end, self.out);
        verdict(outcome)
    }
}

/// How a reply's end maps to chatctl's exit: complete and stored is success.
pub fn verdict(outcome: Outcome) -> anyhow::Result<()> {
    if outcome.interrupted {
        return Err(Interrupted.into());
    }
    match outcome.end.status {
        MessageStatus::Complete if !outcome.end.stored => Err(ReplyIncomplete {
            status: MessageStatus::Complete,
            error: outcome.end.error,
        }
        .into()),
        MessageStatus::Complete => Ok(()),
        status => Err(ReplyIncomplete {
            status,
            error: outcome.end.error,
        }
        .into()),
    }
}
