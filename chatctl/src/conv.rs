//! `chatctl conv new|list|show`: a user's conversations (`POST /conversations/`,
//! `GET /users/{id}/conversations`, `GET /conversations/{id}`); `rename`, `rm`, `prune`
//! and `set` (chatd's conversation management extensions) live in `conv/`.

mod api;
mod prune;
mod rename;
mod rm;
mod set;

use anyhow::Context as _;
use common::{Conversation, ConversationWithMessages, Message};

use crate::context::Ctx;
use crate::output::{MESSAGE_INDENT, Out, indent_continuation, indent_lines};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start a new, empty conversation (and make it the one `send` and `chat --continue`
    /// use).
    New(NewArgs),
    /// List the user's conversations, oldest first.
    List(ListArgs),
    /// Show a conversation with all its messages.
    Show(ShowArgs),
    /// Rename a conversation.
    Rename(rename::Args),
    /// Delete conversations with all their messages (asks first on a terminal).
    Rm(rm::Args),
    /// Delete the user's conversations idle for longer than a duration.
    Prune(prune::Args),
    /// Change a conversation's model, system prompt or temperature.
    Set(set::Args),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// A name for the conversation.
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// How many conversations to skip.
    #[arg(long, default_value_t = 0, conflicts_with = "all")]
    pub skip: u64,
    /// How many conversations to list at most (0-1000).
    #[arg(
        long,
        default_value_t = 10,
        conflicts_with = "all",
        value_parser = clap::value_parser!(u64).range(0..=1000)
    )]
    pub limit: u64,
    /// List every conversation (pages through all of them).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The conversation's id.
    pub id: i64,
}

impl Command {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        match self {
            Command::New(args) => args.run(ctx).await,
            Command::List(args) => args.run(ctx).await,
            Command::Show(args) => args.run(ctx).await,
            Command::Rename(args) => args.run(ctx).await,
            Command::Rm(args) => args.run(ctx).await,
            Command::Prune(args) => args.run(ctx).await,
            Command::Set(args) => args.run(ctx).await,
        }
    }
}

impl NewArgs {
    async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
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

impl ListArgs {
    async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.user().await?;
        let conversations = if self.all {
            ctx.client.all_conversations(user.id).await
        } else {
            ctx.client
                .conversations(user.id, self.skip, self.limit)
                .await
        }
        .context("could not list conversations")?;
        if ctx.out.json {
            ctx.out.json(&conversations)?;
        } else if conversations.is_empty() {
            crate::output::note(&format!(
                "no conversations for {} here; start one with `chatctl chat --new`",
                user.username
            ));
        } else {
            print_list(&ctx.out, &conversations)?;
        }
        Ok(())
    }
}

impl ShowArgs {
    async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let conversation = if ctx.out.json {
            // The documented object, exactly.
            ctx.client.conversation(self.id).await
        } else {
            ctx.client.conversation_with_statuses(self.id).await
        }
        .with_context(|| format!("could not show conversation {}", self.id))?;
        if ctx.out.json {
            ctx.out.json(&conversation)?;
        } else {
            print_conversation(&ctx.out, &conversation, None)?;
        }
        Ok(())
    }
}

/// One line per conversation: id, creation time, name.
pub fn print_list(out: &Out, conversations: &[Conversation]) -> std::io::Result<()> {
    let width = conversations
        .iter()
        .map(|c| c.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    out.line(&out.dim(&format!("{:>width$}  {:<27}  NAME", "ID", "CREATED")))?;
    for c in conversations {
        out.line(&format!(
            "{:>width$}  {:<27}  {}",
            c.id,
            c.created_at,
            c.name.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(())
}

/// A header line and the messages; with `last`, only the last `last` messages.
pub fn print_conversation(
    out: &Out,
    conversation: &ConversationWithMessages,
    last: Option<usize>,
) -> std::io::Result<()> {
    out.line(&out.dim(&format!(
        "conversation {}{} · created {} · {} messages",
        conversation.id,
        conversation
            .name
            .as_deref()
            .map(|n| format!(" {n:?}"))
            .unwrap_or_default(),
        conversation.created_at,
        conversation.messages.len()
    )))?;
    let messages = &conversation.messages;
    let skip = last.map_or(0, |n| messages.len().saturating_sub(n));
    if skip > 0 {
        out.line(&out.dim(&format!(
            "… {skip} earlier messages (`chatctl conv show {}` shows all)",
            conversation.id
        )))?;
    }
    for message in &messages[skip..] {
        print_message(out, message)?;
    }
    Ok(())
}

pub fn print_message(out: &Out, message: &Message) -> std::io::Result<()> {
    let status = match message.status {
        Some(status) if status != common::MessageStatus::Complete => {
            out.dim(&format!(" [{}]", status.as_str()))
        }
        _ => String::new(),
    };
    let label = out.role_label(message.role);
    // Replies are Markdown; what people typed is shown as typed.
    if message.role == common::Role::Assistant
        && let Some(options) = out.markdown(MESSAGE_INDENT.len())
    {
        out.line(&format!("{label}:{status}"))?;
        let rendered = crate::render::render(&message.content, options);
        return out.text(&indent_lines(&rendered, MESSAGE_INDENT));
    }
    out.line(&format!(
        "{label}: {}{status}",
        indent_continuation(&message.content)
    ))
}
