//! `chatctl chat`: the interactive session. The history is shown on entry, each reply
//! streams in live, Ctrl-C stops a reply (the daemon is asked to cancel it) and leaves
//! the session usable, and `/`-commands switch, start, rename, reconfigure (`manage.rs`)
//! or delete conversations, and edit, regenerate and switch branches (`branches.rs`). A reply that is still being generated (by another client,
//! or left behind by `send | head`) is followed live instead of failing the next
//! message with a 409.
//!
//! On a terminal the prompt is a line editor (`prompt.rs`) and the commands come from
//! one table (`commands.rs`); otherwise lines are read from stdin, one message each,
//! which is how scripts and the tests drive a session. Conversation content goes to
//! stdout, everything about the session itself to stderr.

mod branches;
mod commands;
mod editor;
mod find;
mod manage;
mod prompt;
mod transcript;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::summaries::SummaryOrder;
use common::{ConversationSettings, ConversationWithMessages, Role, User};
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use self::commands::{Action, Line};
use self::prompt::{Candidates, Prompt, Read};
use self::transcript::{Render, report};
use crate::client::{Autostart, Client};
use crate::context::Ctx;
use crate::conv::print_conversation;
use crate::error::{self, ApiError, Coded, Interrupted};
use crate::exit_codes::ExitCode;
use crate::listing::{self, Entry, MoreHint, Window};
use crate::output::{indent_continuation, note};
use crate::reply;

/// How many messages of history to show on entry.
const HISTORY_SHOWN: usize = 20;
/// How many conversations the picker offers (most recently active first).
const PICKER_SIZE: u64 = 200;
/// How many conversations `/list` shows without a number.
const LIST_SIZE: u64 = 10;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation to open (default: pick one on a terminal, else the last one used,
    /// else a new one).
    #[arg(
        value_name = "ID",
        conflicts_with_all = ["new", "continue"],
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::conversations)
    )]
    pub id: Option<i64>,

    /// Start a new conversation.
    #[arg(long, conflicts_with = "continue")]
    pub new: bool,

    /// Continue the last conversation used (a new one when there is none).
    #[arg(id = "continue", long = "continue")]
    pub continue_last: bool,

    /// Show the model's reasoning, dimmed, while it streams (else a spinner says
    /// "thinking").
    #[arg(long)]
    pub show_reasoning: bool,
}

/// How long Tab waits for the daemon's list of conversations.
const COMPLETION_WAIT: Duration = Duration::from_secs(2);
/// The prompt history, in chatctl's data directory.
const HISTORY_FILE: &str = "prompt-history.txt";

/// `--json` lines about the session itself (the reply events are `reply::ReplyEvent`).
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum SessionEvent<'a> {
    /// On entry, and after `/new` or `/switch`: the conversation with its messages.
    Conversation(&'a ConversationWithMessages),
    /// After `/list`.
    Conversations { conversations: &'a [Entry] },
    /// After `/rename`, `/model` and `/system`: the conversation's settings as stored.
    Settings(&'a ConversationSettings),
    /// After `/rm`; the new conversation follows as a `conversation` line.
    Deleted { conversation_id: i64 },
    /// After `/search`.
    Hits {
        hits: &'a [common::archive::SearchHit],
    },
    /// After `/branches`.
    Branches { branches: &'a [branches::Branch] },
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        // Keep SIGINT with us for the whole session, so that Ctrl-C at any point is ours
        // to handle (stop the reply, or leave) instead of killing the process mid-write.
        let _sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("could not watch for Ctrl-C")?;
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let user = if self.id.is_some() {
            // Opening a given conversation needs no user; only `/new` and `/switch` do.
            match ctx.user_name() {
                Ok(_) => Some(ctx.user().await?),
                Err(_) => None,
            }
        } else {
            Some(ctx.user().await?)
        };
        let mut session = Session {
            input: if terminal {
                let candidates = Arc::new(DaemonCandidates {
                    client: Arc::new(Client::new(
                        ctx.client.server(),
                        Autostart::NotForThisCommand,
                        None,
                    )?),
                    user_id: user.as_ref().map(|u| u.id),
                    runtime: tokio::runtime::Handle::current(),
                });
                let history = ctx.store.data_dir().map(|dir| dir.join(HISTORY_FILE));
                Input::Terminal(Box::new(Prompt::new(
                    history,
                    ctx.out.stderr_color(),
                    candidates,
                )?))
            } else {
                Input::Lines(BufReader::new(tokio::io::stdin()).lines())
            },
            color: ctx.out.stderr_color(),
            ctx,
            user,
            conversation_id: 0,
            show_reasoning: self.show_reasoning,
        };
        let Some(id) = session.first_conversation(&self).await? else {
            return Ok(());
        };
        session.open(id).await?;
        if terminal {
            note("Type a message, /help for commands, /quit to leave.");
        }
        session.run().await
    }
}

enum Input {
    Terminal(Box<Prompt>),
    Lines(Lines<BufReader<Stdin>>),
}

/// Completion's view of the daemon: a client of its own (the session's is busy while
/// the prompt reads), asked on the session's runtime with a bounded wait.
struct DaemonCandidates {
    client: Arc<Client>,
    user_id: Option<i64>,
    runtime: tokio::runtime::Handle,
}

impl DaemonCandidates {
    /// What `ask` gets from the daemon, or `None` when it fails or takes too long.
    fn ask<T: Send + 'static, F>(&self, ask: impl FnOnce(Arc<Client>) -> F) -> Option<T>
    where
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let asked = ask(Arc::clone(&self.client));
        self.runtime.spawn(async move {
            let _ = tx.send(asked.await);
        });
        rx.recv_timeout(COMPLETION_WAIT).ok()?.ok()
    }
}

impl Candidates for DaemonCandidates {
    fn conversations(&self) -> Vec<(i64, Option<String>)> {
        let Some(user_id) = self.user_id else {
            return Vec::new();
        };
        let conversations =
            self.ask(move |client| async move { client.all_conversations(user_id).await });
        conversations
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|c| (c.id, c.name))
            .collect()
    }

    fn models(&self) -> Vec<String> {
        let models = self.ask(|client| async move { client.models().await });
        models
            .flatten()
            .map(|models| {
                models
                    .providers
                    .into_iter()
                    .flat_map(|provider| provider.models)
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Session<'a> {
    ctx: &'a mut Ctx,
    user: Option<User>,
    input: Input,
    color: bool,
    conversation_id: i64,
    show_reasoning: bool,
}

enum Turn {
    Continue,
    Quit,
}

impl Session<'_> {
    fn user(&self) -> anyhow::Result<&User> {
        self.user.as_ref().ok_or_else(|| {
            Coded::usage("no user given; pass --user NAME (or set CHATCTL_USER)").into()
        })
    }

    /// The conversation to start with; `None` when the person left the picker.
    async fn first_conversation(&mut self, args: &Args) -> anyhow::Result<Option<i64>> {
        if let Some(id) = args.id {
            self.ctx.own_conversation(id, self.user.as_ref()).await?;
            return Ok(Some(id));
        }
        let user = self.user()?.clone();
        if args.new {
            return Ok(Some(self.create(None).await?));
        }
        let last = self.ctx.last_conversation(&user.username);
        if args.continue_last || matches!(self.input, Input::Lines(_)) {
            if let Some(id) = last
                && self.belongs_to_user(id).await?
            {
                return Ok(Some(id));
            }
            if args.continue_last {
                note("No previous conversation here; starting a new one.");
            }
            return Ok(Some(self.create(None).await?));
        }
        self.pick(last).await
    }

    async fn belongs_to_user(&self, id: i64) -> anyhow::Result<bool> {
        let Some(user) = &self.user else {
            return Ok(true);
        };
        match self.ctx.client.conversation(id).await {
            Ok(conversation) => Ok(conversation.user_id == user.id),
            Err(err) if err.is_not_found() => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    async fn create(&mut self, name: Option<String>) -> anyhow::Result<i64> {
        let user = self.user()?.clone();
        Ok(self.ctx.new_conversation(&user, name).await?.id)
    }

    /// Lets the person pick a conversation on the terminal (or a new one).
    async fn pick(&mut self, preferred: Option<i64>) -> anyhow::Result<Option<i64>> {
        let user = self.user()?.clone();
        let window = Window::Page {
            skip: 0,
            limit: PICKER_SIZE,
        };
        let conversations = listing::fetch(&self.ctx.client, user.id, window, SummaryOrder::Newest)
            .await
            .context("could not list conversations")?
            .entries;
        if conversations.is_empty() {
            return Ok(Some(self.create(None).await?));
        }
        let mut items = vec!["+ new conversation".to_string()];
        items.extend(listing::picker_items(&conversations, preferred));
        let default = preferred
            .and_then(|id| conversations.iter().position(|c| c.id == id))
            .map_or(0, |i| i + 1);
        let color = self.color;
        let choice = blocking_prompt(move || {
            dialoguer::FuzzySelect::with_theme(theme(color).as_ref())
                .with_prompt("Conversation (type to filter)")
                .items(&items)
                .default(default)
                .interact_opt()
        })
        .await?;
        match choice {
            None => Ok(None),
            Some(0) => Ok(Some(self.create(None).await?)),
            Some(i) => Ok(conversations.get(i - 1).map(|c| c.id)),
        }
    }

    /// Makes `id` the current conversation and shows its history.
    async fn open(&mut self, id: i64) -> anyhow::Result<()> {
        let client = &self.ctx.client;
        let conversation = if self.ctx.out.json {
            client.conversation(id).await
        } else {
            client.conversation_with_statuses(id).await
        }
        .with_context(|| format!("could not open conversation {id}"))?;
        self.conversation_id = id;
        if let Some(user) = &self.user {
            let name = user.username.clone();
            self.ctx.remember_conversation(&name, id);
        }
        let out = &self.ctx.out;
        if out.json {
            out.json_line(&SessionEvent::Conversation(&conversation))?;
        } else {
            let marks = crate::conv::tree::marks(&self.ctx.client, id).await;
            print_conversation(out, &conversation, Some(HISTORY_SHOWN), false, &marks)?;
        }
        // A reply still being generated belongs to the history: show it live. When the
        // history ends with an answer, only a later reply is (an interrupted one would
        // be shown again).
        let shown = shown_reply_end(&conversation.messages);
        self.follow(shown.as_deref()).await?;
        Ok(())
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        // Bounded by the input: each pass consumes one line, and the session ends at the
        // end of input, /quit or Ctrl-C.
        loop {
            let Some(line) = self.read_line().await? else {
                return Ok(());
            };
            match self.turn(&line).await {
                Ok(Turn::Continue) => {}
                Ok(Turn::Quit) => return Ok(()),
                Err(err) => {
                    let verdict = error::classify(&err);
                    // A closed stdout ends the session; so does any error when a script
                    // drives it, so that the script sees the exit code.
                    if !verdict.report || matches!(self.input, Input::Lines(_)) {
                        return Err(err);
                    }
                    note(&format!("chatctl: {err:#}"));
                    if verdict.code == ExitCode::Unreachable {
                        note("(the session goes on; try again once the daemon is back)");
                    }
                }
            }
        }
    }

    /// The next line, `None` at the end of input (Ctrl-D on a terminal); SIGINT while
    /// piped input is read is `Interrupted`.
    async fn read_line(&mut self) -> anyhow::Result<Option<String>> {
        match &mut self.input {
            Input::Lines(lines) => tokio::select! {
                line = lines.next_line() => Ok(line.map_err(crate::stdin::line_error)?),
                _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
            },
            Input::Terminal(prompt) => match prompt.read().await? {
                Read::Line(line) => Ok(Some(line)),
                Read::End => Ok(None),
            },
        }
    }

    async fn turn(&mut self, line: &str) -> anyhow::Result<Turn> {
        let (spec, arg) =
            match commands::parse(line).map_err(|err| Coded::usage(err.to_string()))? {
                Line::Empty => return Ok(Turn::Continue),
                Line::Message(text) => return self.say(text).await,
                Line::Command(spec, arg) => (spec, arg),
            };
        match spec.action {
            Action::Quit => return Ok(Turn::Quit),
            Action::Help => note(&commands::help()),
            Action::New => {
                let id = self.create(arg.map(str::to_string)).await?;
                self.open(id).await?;
            }
            Action::Switch => {
                let id = match arg {
                    Some(id) => id
                        .parse()
                        .map_err(|_| Coded::usage(format!("not a conversation id: {id:?}")))?,
                    None => {
                        if !matches!(self.input, Input::Terminal(_)) {
                            return Err(Coded::usage("/switch needs an ID here: /switch ID").into());
                        }
                        match self.pick(Some(self.conversation_id)).await? {
                            Some(id) => id,
                            None => return Ok(Turn::Continue),
                        }
                    }
                };
                self.ctx.own_conversation(id, self.user.as_ref()).await?;
                self.open(id).await?;
            }
            Action::List => {
                let user = self.user()?.clone();
                let window = match arg.unwrap_or("") {
                    "" => Window::Page {
                        skip: 0,
                        limit: LIST_SIZE,
                    },
                    "all" => Window::All,
                    n => Window::Page {
                        skip: 0,
                        limit: n.parse().map_err(|_| {
                            Coded::usage(format!("/list takes a number or `all`, not {n:?}"))
                        })?,
                    },
                };
                let listing =
                    listing::fetch(&self.ctx.client, user.id, window, SummaryOrder::Newest).await?;
                let out = &self.ctx.out;
                if out.json {
                    out.json_line(&SessionEvent::Conversations {
                        conversations: &listing.entries,
                    })?;
                } else {
                    let current = Some(self.conversation_id);
                    listing::print(out, &listing, current, MoreHint::Slash)?;
                }
            }
            Action::History => {
                let id = self.conversation_id;
                self.open(id).await?;
            }
            Action::Regenerate => self.regenerate().await?,
            Action::Edit => return self.edit(arg).await,
            Action::Branches => self.list_branches().await?,
            Action::Branch => self.switch_branch(arg).await?,
            Action::Search => self.search(arg.unwrap_or_default()).await?,
            Action::Rename => {
                if let Some(name) = arg {
                    self.rename(name).await?;
                }
            }
            Action::Model => self.model(arg).await?,
            Action::System => self.system(arg).await?,
            Action::Remove => return self.remove(arg).await,
        }
        Ok(Turn::Continue)
    }

    /// Sends one message and streams the reply.
    async fn say(&mut self, message: &str) -> anyhow::Result<Turn> {
        self.say_edit(message, None).await
    }

    /// Sends one message (beside the earlier user message `edit_of`, when given) and
    /// streams the reply.
    async fn say_edit(&mut self, message: &str, edit_of: Option<i64>) -> anyhow::Result<Turn> {
        let out = self.ctx.out.clone();
        if !out.json && matches!(self.input, Input::Lines(_)) {
            // Nobody saw the line being typed: echo it so the transcript reads right.
            out.line(&format!(
                "{}: {}",
                out.role_label(Role::User),
                indent_continuation(message)
            ))?;
        }
        let id = self.conversation_id;
        let show = self.show_reasoning;
        let mut render = Render::new(&out, show);
        let client = &self.ctx.client;
        let result =
            reply::stream_edit(client, id, message, edit_of, show, |e| render.event(e)).await;
        render.close_line()?;
        let outcome = match result {
            // Another client's reply is still streaming here (or one left behind by an
            // earlier `send | head`): show it to its end, then send ours once more.
            Err(err) if is_conflict(&err) => {
                note("[a reply is still being generated here; following it first]");
                // When it has ended meanwhile there is nothing to follow; retry anyway.
                self.follow(None).await?;
                let mut render = Render::new(&out, show);
                let client = &self.ctx.client;
                let result =
                    reply::stream_edit(client, id, message, edit_of, show, |e| render.event(e))
                        .await;
                render.close_line()?;
                result?
            }
            other => other?,
        };
        report(&outcome, &out);
        Ok(Turn::Continue)
    }

    /// Shows the reply in flight on the current conversation, if there is one; returns
    /// whether there was.
    async fn follow(&mut self, after: Option<&str>) -> anyhow::Result<bool> {
        let out = self.ctx.out.clone();
        let show = self.show_reasoning;
        let mut render = Render::new(&out, show);
        let result = reply::follow(&self.ctx.client, self.conversation_id, after, show, |e| {
            render.event(e)
        })
        .await;
        render.close_line()?;
        match result? {
            Some(outcome) => {
                report(&outcome, &out);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn is_conflict(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ApiError>()
        .is_some_and(|api| api.status() == Some(409))
}

fn theme(color: bool) -> Box<dyn Theme> {
    if color {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

/// Runs a blocking dialoguer prompt off the runtime; Ctrl-C in it becomes `Interrupted`.
async fn blocking_prompt<T: Send + 'static>(
    prompt: impl FnOnce() -> dialoguer::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    match tokio::task::spawn_blocking(prompt).await? {
        Ok(value) => Ok(value),
        Err(dialoguer::Error::IO(err)) if err.kind() == std::io::ErrorKind::Interrupted => {
            Err(Interrupted.into())
        }
        Err(err) => Err(anyhow::Error::new(err).context("the prompt failed")),
    }
}

/// The cursor at the end of the history's last reply (`{user message}:end`), when the
/// history ends with an answer to a user message.
fn shown_reply_end(messages: &[common::Message]) -> Option<String> {
    match messages {
        [.., question, answer] if question.role == Role::User && answer.role == Role::Assistant => {
            Some(format!("{}:end", question.id))
        }
        _ => None,
    }
}
