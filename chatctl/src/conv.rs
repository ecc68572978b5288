//! `chatctl conv new|list|show`: a user's conversations (`POST /conversations/`,
//! the summaries list (`listing.rs`), `GET /conversations/{id}`) and `rename`, `rm`,
//! `prune` and `set` (chatd's conversation management extensions). A group meant to
//! grow: each subcommand is a variant of `Command` with its own `Args` in `conv/`.

mod prune;
mod rename;
mod rm;
mod set;
pub mod tree;

mod list;
mod new;
mod show;

use common::{ConversationWithMessages, Message};

use crate::context::Ctx;
use crate::output::{MESSAGE_INDENT, Out, indent_continuation, indent_lines};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start a new, empty conversation (and make it the one `send` and `chat --continue`
    /// use).
    #[command(after_help = new::EXAMPLES)]
    New(new::Args),
    /// List the user's conversations, the most recently active first.
    #[command(after_help = list::EXAMPLES)]
    List(list::Args),
    /// Show a conversation with all its messages (default: the current one).
    #[command(after_help = show::EXAMPLES)]
    Show(show::Args),
    /// Rename a conversation.
    #[command(after_help = rename::EXAMPLES)]
    Rename(rename::Args),
    /// Delete conversations with all their messages (asks first on a terminal).
    #[command(after_help = rm::EXAMPLES)]
    Rm(rm::Args),
    /// Delete the user's conversations idle for longer than a duration.
    #[command(after_help = prune::EXAMPLES)]
    Prune(prune::Args),
    /// Change a conversation's model, system prompt or temperature.
    #[command(after_help = set::EXAMPLES)]
    Set(set::Args),
    /// Show a conversation's branches as an indented tree (the active path marked `*`).
    #[command(after_help = tree::EXAMPLES)]
    Tree(tree::Args),
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
            Command::Tree(args) => args.run(ctx).await,
        }
    }
}

/// `id`, else the current conversation (the last used), else a usage error.
pub async fn given_or_current(ctx: &mut Ctx, id: Option<i64>) -> anyhow::Result<i64> {
    if let Some(id) = id {
        return Ok(id);
    }
    let user = ctx.user().await?;
    ctx.last_conversation(&user.username).ok_or_else(|| {
        crate::error::Coded::usage(
            "no current conversation; name one (`chatctl conv list` shows them)",
        )
        .into()
    })
}

/// A header line and the messages; with `last`, only the last `last` messages; with
/// `details`, a dim line under each reply with its model, tokens and status (when the
/// server keeps them: chatd's messages extension); a message with other versions is
/// labelled with its place among them (`you ‹2/3›:`, from `marks`).
pub fn print_conversation(
    out: &Out,
    conversation: &ConversationWithMessages,
    last: Option<usize>,
    details: bool,
    marks: &tree::Marks,
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
        print_message(out, message, marks.get(&message.id).copied())?;
        if details
            && message.role == common::Role::Assistant
            && let Some(line) = crate::reply_details::stored(message)
        {
            out.line(&out.dim(&format!("{MESSAGE_INDENT}{line}")))?;
        }
    }
    Ok(())
}
pub fn print_message(
    out: &Out,
    message: &Message,
    mark: Option<tree::Mark>,
) -> std::io::Result<()> {
    let status = match message.status {
        Some(status) if status != common::MessageStatus::Complete => {
            out.dim(&format!(" [{}]", status.as_str()))
        }
        _ => String::new(),
    };
    let mut label = out.role_label(message.role);
    if let Some(mark) = mark {
        label.push_str(&out.dim(&format!(" {mark}")));
    }
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
