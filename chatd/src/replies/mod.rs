//! Replies in flight. A reply belongs to a task of its own, not to the HTTP request that
//! started it: the task reads the provider to the end (or to a cancel), stores the
//! assistant message exactly once, and publishes every delta to whoever listens. An
//! HTTP response is only a listener, so a client that goes away loses nothing.
//!
//! The registry is keyed by conversation: it enforces one reply at a time per
//! conversation (the 409 of the contract), holds the cancel handle, and lets a later
//! request attach to a reply that is still streaming.
//!
//! Listeners read the reply's deltas from one shared, append-only list behind a
//! `watch` channel, each at its own position. A slow listener therefore costs no memory
//! beyond the reply itself and never holds the generation back. `docs/ARCHITECTURE.md`
//! follows one chat through this module, the lease and the store.
//!
//! A reply whose final write fails stays in the registry, holding its conversation,
//! until a retry stores it (`unstored.rs`); its listeners are told at once that it is
//! not stored yet.
//!
//! A chat is one call, [`Replies::begin`]: reserve the conversation here, take its
//! lease and store the user's message (`lease.rs`), start the reply task, and wait for
//! its first event, so that a provider that fails at once is answered as a 502.
//!
//! Here: the registry, `begin`, the reply task and shutdown, kept in one file (over
//! 400 lines) because they are one state machine, read together. `lease.rs`: the
//! database lease and the checkpointer; `making.rs`: the parameters and the details
//! of a reply; `unstored.rs`: retries of a failed final write and the recovery file;
//! `stop.rs`: stopping the replies of what a delete removes; `cursor.rs`: the place of
//! a listener in a reply, as event ids carry it; `tests.rs`: the state machine driven
//! end to end.

pub mod cursor;
pub mod lease;
mod making;
pub mod relay;
mod stop;
#[cfg(test)]
mod tests;
mod unstored;

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::sse::LineBreakNormalizer;
use common::{ChatParams, MessageStatus};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::events::Event;
use crate::providers::registry::Resolved;
use crate::providers::{Delta, FinishReason, Providers, Relayed, ReplyRequest, Turn, tools};
use crate::store::idempotency::KeyLookup;
use crate::store::{
    BeginChat, BranchRefusal, ChatStart, FinishedReply, MessageRow, Store, StoreError, StoredReply,
    UserTurn,
};
use crate::titles::Titles;
use cursor::ReplyId;
use lease::Lease;
use making::{Making, conversation_params};
pub use unstored::RecoveryFile;

/// How a reply ended, as its listeners see it.
#[derive(Debug, Clone)]
pub struct ReplyEnd {
    pub status: MessageStatus,
    /// The stored assistant message; `None` when nothing was generated (and so nothing
    /// stored) or when storing it failed.
    pub message: Option<MessageRow>,
    /// Why the provider failed, for `Failed`; and, while the reply is not stored yet,
    /// why not.
    pub error: Option<String>,
    /// Whether what had to be stored is in the database. `false` while chatd still holds
    /// the reply and retries its final write.
    pub stored: bool,
}

/// Everything a listener needs: the deltas so far, and the end once there is one.
#[derive(Debug, Default)]
pub struct ReplyState {
    /// The content, delta by delta.
    pub deltas: Vec<String>,
    /// The reasoning, delta by delta, each with the number of content deltas that came
    /// before it, so a listener can give both in the order they came.
    pub reasoning: Vec<(usize, String)>,
    /// The provider's `tool_calls` deltas as it sent them, each with the number of
    /// content deltas before it, like reasoning (only the front door relays them).
    pub tool_calls: Vec<(usize, serde_json::Value)>,
    pub end: Option<ReplyEnd>,
}

impl ReplyState {
    /// Whether anything of the reply (content or reasoning) has come.
    pub fn has_begun(&self) -> bool {
        !self.deltas.is_empty() || !self.reasoning.is_empty() || !self.tool_calls.is_empty()
    }
}

/// A reply in flight.
#[derive(Debug)]
pub struct Reply {
    pub conversation_id: i64,
    /// The stored user message this reply answers.
    pub user_message: MessageRow,
    /// Which of the user message's replies this is (0: its first).
    pub reply_index: i32,
    state: watch::Sender<ReplyState>,
    cancel: CancellationToken,
    /// How many deltas the last checkpoint held.
    checkpointed: AtomicUsize,
}

impl Reply {
    /// The reply's name in cursors.
    pub fn id(&self) -> ReplyId {
        ReplyId {
            user_message: self.user_message.id,
            index: self.reply_index,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<ReplyState> {
        self.state.subscribe()
    }

    /// Asks this reply (and no later one on its conversation) to stop; it stores what it
    /// generated, as `cancelled`. Nothing happens to a reply that has ended.
    pub fn stop(&self) {
        self.cancel.cancel();
    }
}

#[derive(Debug, Default)]
struct Registry {
    /// `None` marks a conversation reserved by a request that has not started its
    /// reply yet (it is still storing the user message).
    in_flight: HashMap<i64, Option<Arc<Reply>>>,
}

/// The registry of replies in flight, shared by every request.
#[derive(Debug, Clone)]
pub struct Replies {
    registry: Arc<Mutex<Registry>>,
    tasks: TaskTracker,
    /// Cancelled when chatd stops waiting for replies at shutdown.
    abort: CancellationToken,
    store: Store,
    providers: Arc<Providers>,
    system_prompt: Option<String>,
    /// Replies that may run at once; past it, new chats are refused with a 503.
    max_in_flight: usize,
    /// How many past messages go to the provider with a new one.
    history_limit: i64,
    /// This process's reply leases in the database.
    lease: Lease,
    /// Where replies still unstored at exit are kept for the next start.
    recovery: RecoveryFile,
    /// Names conversations without a name after their first complete reply.
    titles: Option<Titles>,
    /// Counts the replies started, so a listener can wait for the next one.
    starts: watch::Sender<u64>,
    /// The replies of other chatd processes on the same PostgreSQL; `None` on SQLite.
    relay: Option<relay::Relay>,
    /// Where reply and message events are announced (`GET /events`).
    feed: Option<crate::events::Feed>,
}

/// What one chat uses instead of its conversation's settings; `None` keeps them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatOverrides {
    /// `PROVIDER/MODEL` or a bare name, already checked against the providers.
    pub model: Option<String>,
    /// Each parameter given replaces the conversation's.
    pub params: Option<ChatParams>,
    /// What the front door relays to the provider as it came.
    pub relayed: Option<Relayed>,
}

/// Why a chat could not begin.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// chatd is shutting down and starts no reply (503).
    #[error("chatd is shutting down")]
    ShuttingDown,
    /// A reply is already running on this conversation, in this chatd or another one
    /// sharing the database (409).
    #[error("a reply is already running on this conversation")]
    Busy,
    /// The conversation's last reply has ended but is not stored yet (503): the
    /// database refused its final write and chatd is retrying it.
    #[error("the conversation's last reply is not stored yet")]
    Unstored,
    /// chatd runs as many replies as it may (503); the cap is given.
    #[error("too many replies in flight (the limit is {0})")]
    Full(usize),
    #[error("conversation not found")]
    NoConversation,
    /// The conversation's last message is no longer the one the turn expected (409).
    #[error("the conversation was continued by another request")]
    Moved,
    /// The chat's idempotency key was used before with the same body: the chat of
    /// this user message answers it.
    #[error("this request was sent before")]
    Repeat(i64),
    /// The chat's idempotency key was used before with another body (422).
    #[error("the idempotency key was used with another request")]
    KeyReused,
    /// The message an edit or a regenerate names cannot be branched at (422).
    #[error("the message named cannot be branched at")]
    NoBranch(BranchRefusal),
    /// The provider failed before its first delta (502); its reason is given.
    #[error("the provider failed: {0}")]
    ProviderFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conversation reserved for one reply; dropping it without `start` frees it.
#[derive(Debug)]
struct Slot {
    replies: Replies,
    conversation_id: i64,
    started: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.started {
            self.replies.release(self.conversation_id);
        }
    }
}

impl Replies {
    pub fn new(
        store: Store,
        providers: Arc<Providers>,
        system_prompt: Option<String>,
        max_in_flight: usize,
        history_limit: i64,
        recovery: RecoveryFile,
    ) -> Self {
        Replies {
            registry: Arc::default(),
            tasks: TaskTracker::new(),
            abort: CancellationToken::new(),
            lease: Lease::new(store.clone()),
            store,
            providers,
            system_prompt,
            max_in_flight: max_in_flight.max(1),
            history_limit,
            recovery,
            titles: None,
            starts: watch::Sender::new(0),
            relay: None,
            feed: None,
        }
    }

    /// Announces messages stored and replies started and ended on `feed`.
    pub fn with_feed(mut self, feed: crate::events::Feed) -> Self {
        // Titles are stored by a task of their own and announced there.
        self.titles = self
            .titles
            .take()
            .map(|titles| titles.with_feed(feed.clone()));
        self.feed = Some(feed);
        self
    }

    /// The relay's connection and this process's name, when there is a relay.
    pub fn relay_listener(&self) -> Option<(relay::listener::Listener, String)> {
        self.relay.as_ref().map(relay::Relay::listener)
    }

    fn announce(&self, event: crate::events::Event) {
        if let Some(feed) = &self.feed {
            feed.announce(event);
        }
    }

    /// Relays replies to and from the other chatd processes on the PostgreSQL database
    /// at `url` (LISTEN/NOTIFY, `relay/`), and answers their requests.
    pub fn with_relay(mut self, url: &str) -> Result<Self, String> {
        let relay = relay::Relay::start(
            url,
            self.lease.owner_name(),
            self.store.clone(),
            self.abort.clone(),
        )?;
        self.relay = Some(relay);
        self.spawn_relay_control();
        Ok(self)
    }

    /// Gives conversations without a name a title after their first complete reply.
    pub fn with_titles(mut self, titles: Titles) -> Self {
        self.titles = Some(titles);
        self
    }

    /// Puts a new reply for `conversation_id` in the registry, in the state given.
    fn hold(
        &self,
        conversation_id: i64,
        user_message: MessageRow,
        reply_index: i32,
        state: ReplyState,
    ) -> Arc<Reply> {
        let (state, _) = watch::channel(state);
        let reply = Arc::new(Reply {
            conversation_id,
            user_message,
            reply_index,
            state,
            cancel: CancellationToken::new(),
            checkpointed: AtomicUsize::new(0),
        });
        self.registry()
            .in_flight
            .insert(conversation_id, Some(reply.clone()));
        self.starts.send_modify(|count| *count += 1);
        reply
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The lock guards a map whose every update is a single insert or remove, so a
        // panic elsewhere cannot leave it half-changed.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Begins a chat: stores the user's `text` on the conversation and starts its reply,
    /// answering once the reply has its first delta or has ended, so that a provider
    /// that fails before its first delta is reported as such and not as a stream.
    pub async fn begin(
        &self,
        conversation_id: i64,
        text: String,
    ) -> Result<Arc<Reply>, BeginError> {
        self.begin_with(
            conversation_id,
            UserTurn::one(text),
            ChatOverrides::default(),
        )
        .await
    }

    /// [`Replies::begin`] for a turn of one or more user messages, with a model and
    /// parameters that replace the conversation's for this one reply (the OpenAI front
    /// door, whose every request names its model).
    pub async fn begin_with(
        &self,
        conversation_id: i64,
        turn: UserTurn,
        overrides: ChatOverrides,
    ) -> Result<Arc<Reply>, BeginError> {
        let reply = self.begin_at_once(conversation_id, turn, overrides).await?;
        wait_for_start(reply).await
    }

    /// [`Replies::begin_with`] without waiting for the reply's first event: answers once
    /// the user's messages are stored and the reply task runs (a Responses API
    /// `background` request). A provider that fails at once is then only told by the
    /// reply's end.
    pub async fn begin_at_once(
        &self,
        conversation_id: i64,
        turn: UserTurn,
        overrides: ChatOverrides,
    ) -> Result<Arc<Reply>, BeginError> {
        if self.is_closed() {
            return Err(BeginError::ShuttingDown);
        }
        // A repeat must not be refused as busy by its own first request's reply: the
        // key is looked up before the conversation is reserved (and again in the
        // transaction that stores the turn, for a repeat racing its first).
        if let Some(key) = &turn.key
            && let Some(seen) = seen_before(self.store.look_up_key(key.clone()).await?)
        {
            return Err(seen);
        }
        let slot = self.reserve(conversation_id)?;
        let begun = self
            .lease
            .begin_chat(conversation_id, turn, self.history_limit)
            .await?;
        self.start_begun(slot, begun, overrides)
    }

    /// Starts a new reply to a user message that has one already, or has none (docs/
    /// API.md §3.19): the parent of the assistant message `message_id`, by default the
    /// active leaf's. Answers as [`Replies::begin_with`] does, once the reply has its
    /// first event.
    pub async fn regenerate(
        &self,
        conversation_id: i64,
        message_id: Option<i64>,
    ) -> Result<Arc<Reply>, BeginError> {
        let reply = self.regenerate_at_once(conversation_id, message_id).await?;
        wait_for_start(reply).await
    }

    /// [`Replies::regenerate`] without waiting for the reply's first event.
    pub async fn regenerate_at_once(
        &self,
        conversation_id: i64,
        message_id: Option<i64>,
    ) -> Result<Arc<Reply>, BeginError> {
        self.regenerate_with(conversation_id, message_id, ChatOverrides::default())
            .await
    }

    /// [`Replies::regenerate_at_once`] with this reply's own model or parameters (the
    /// AI SDK route's `model`).
    pub async fn regenerate_with(
        &self,
        conversation_id: i64,
        message_id: Option<i64>,
        overrides: ChatOverrides,
    ) -> Result<Arc<Reply>, BeginError> {
        if self.is_closed() {
            return Err(BeginError::ShuttingDown);
        }
        let slot = self.reserve(conversation_id)?;
        let begun = self
            .lease
            .begin_regenerate(conversation_id, message_id, self.history_limit)
            .await?;
        self.start_begun(slot, begun, overrides)
    }

    /// Starts the reply of a chat whose start the store has answered.
    fn start_begun(
        &self,
        slot: Slot,
        begun: BeginChat,
        overrides: ChatOverrides,
    ) -> Result<Arc<Reply>, BeginError> {
        let conversation_id = slot.conversation_id;
        let mut started = match begun {
            BeginChat::Started(started) => started,
            BeginChat::NoConversation => return Err(BeginError::NoConversation),
            // Another chatd process on the same database is generating it.
            BeginChat::Busy => return Err(BeginError::Busy),
            BeginChat::Moved => return Err(BeginError::Moved),
            BeginChat::NoBranch(refusal) => return Err(BeginError::NoBranch(refusal)),
            // Never `New`: the store answers `Seen` only for a key it found.
            BeginChat::Seen(seen) => return Err(seen_before(seen).unwrap_or(BeginError::Moved)),
        };
        if let Some(model) = overrides.model {
            started.settings.model = Some(model);
        }
        if let Some(params) = overrides.params {
            let mut merged =
                conversation_params(conversation_id, started.settings.params.as_deref());
            merged.temperature = params.temperature.or(merged.temperature);
            merged.top_p = params.top_p.or(merged.top_p);
            merged.max_tokens = params.max_tokens.or(merged.max_tokens);
            merged.seed = params.seed.or(merged.seed);
            started.settings.params = serde_json::to_string(&merged).ok();
        }
        Ok(self.start(slot, started, overrides.relayed))
    }

    /// Reserves the conversation for a new reply.
    fn reserve(&self, conversation_id: i64) -> Result<Slot, BeginError> {
        let mut registry = self.registry();
        if let Some(held) = registry.in_flight.get(&conversation_id) {
            let ended = held
                .as_ref()
                .is_some_and(|reply| reply.state.borrow().end.is_some());
            return Err(if ended {
                BeginError::Unstored
            } else {
                BeginError::Busy
            });
        }
        if registry.in_flight.len() >= self.max_in_flight {
            return Err(BeginError::Full(self.max_in_flight));
        }
        registry.in_flight.insert(conversation_id, None);
        Ok(Slot {
            replies: self.clone(),
            conversation_id,
            started: false,
        })
    }

    fn release(&self, conversation_id: i64) {
        self.registry().in_flight.remove(&conversation_id);
    }

    /// The reply streaming on a conversation, if any, for a listener to attach to.
    pub fn attach(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        self.registry()
            .in_flight
            .get(&conversation_id)
            .and_then(Clone::clone)
    }

    /// The reply streaming on a conversation in this process or, on PostgreSQL, in
    /// another one (mirrored here by the relay).
    pub async fn attach_anywhere(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        if let Some(reply) = self.attach(conversation_id) {
            return Some(reply);
        }
        match &self.relay {
            Some(relay) => relay.follow(conversation_id).await,
            None => None,
        }
    }

    /// [`Replies::cancel`] of a reply in this process or, on PostgreSQL, in another
    /// one, which is asked to stop it (and stores it, once, as `cancelled`).
    pub async fn cancel_anywhere(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        if let Some(reply) = self.cancel(conversation_id) {
            return Some(reply);
        }
        match &self.relay {
            Some(relay) => relay.cancel(conversation_id).await,
            None => None,
        }
    }

    /// The reply on a conversation other than `after` (any reply without it): the one
    /// that came after it, as one reply runs at a time; waiting up to `within` for one
    /// to start; `None` when none did.
    pub async fn next_reply(
        &self,
        conversation_id: i64,
        after: Option<ReplyId>,
        within: Duration,
    ) -> Option<Arc<Reply>> {
        // Subscribed before looking, so a start between the look and the wait is seen.
        let mut starts = self.starts.subscribe();
        let mut remote = match &self.relay {
            Some(relay) => Some(relay.starts_on(conversation_id).await),
            None => None,
        };
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let found = self
                .attach_anywhere(conversation_id)
                .await
                .filter(|reply| after.is_none_or(|after| reply.id() != after));
            if found.is_some() {
                return found;
            }
            let heard_remote = async {
                match remote.as_mut() {
                    Some(subscription) => subscription.recv().await,
                    None => std::future::pending().await,
                }
            };
            let woke = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    changed = starts.changed() => changed.is_ok(),
                    heard = heard_remote => heard.is_some(),
                }
            })
            .await;
            match woke {
                Ok(true) => {}
                Ok(false) | Err(_) => return None,
            }
        }
    }

    /// Replies being generated (or about to be).
    pub fn in_flight(&self) -> usize {
        let registry = self.registry();
        registry.in_flight.len() - Self::count_unstored(&registry)
    }

    /// Replies that have ended and wait for their final write.
    pub fn unstored(&self) -> usize {
        Self::count_unstored(&self.registry())
    }

    fn count_unstored(registry: &Registry) -> usize {
        registry
            .in_flight
            .values()
            .flatten()
            .filter(|reply| reply.state.borrow().end.is_some())
            .count()
    }

    /// Asks the reply on a conversation to stop; it stores what it generated. Returns
    /// the reply so the caller can wait for its end, `None` when nothing streams (a
    /// reply that has ended and waits to be stored can no longer be cancelled).
    pub fn cancel(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        let reply = self
            .attach(conversation_id)
            .filter(|reply| reply.state.borrow().end.is_none())?;
        reply.cancel.cancel();
        Some(reply)
    }

    /// chatd's own system prompt, for conversations without one.
    pub fn default_system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// Starts generating the reply for a reserved conversation: the provider of the
    /// conversation's model (or chatd's default) is given the started chat's history,
    /// oldest first, ending with the user's message, after the conversation's system
    /// prompt (or chatd's, when it has none), with the conversation's parameters.
    fn start(&self, mut slot: Slot, started: ChatStart, relayed: Option<Relayed>) -> Arc<Reply> {
        slot.started = true;
        let conversation_id = slot.conversation_id;
        let ChatStart {
            user_message,
            reply_index,
            history,
            settings,
            user_id,
            ..
        } = started;
        let reply = self.hold(
            conversation_id,
            user_message,
            reply_index,
            ReplyState::default(),
        );
        self.announce(Event::MessageCreated {
            message_id: reply.user_message.id,
            conversation_id,
            user_id,
            role: common::Role::User,
        });
        self.announce(Event::ReplyStarted {
            conversation_id,
            user_id,
            reply_id: reply.user_message.id,
        });

        let mut turns = Vec::with_capacity(history.len() + 1);
        if let Some(prompt) = settings
            .system_prompt
            .as_ref()
            .or(self.system_prompt.as_ref())
        {
            turns.push(Turn {
                role: "system",
                content: prompt.as_str().into(),
            });
        }
        turns.extend(
            history
                .iter()
                .filter(|message| !message.content.is_empty())
                .map(|message| Turn {
                    role: message.role.as_str(),
                    content: message.content.clone(),
                }),
        );
        // No title source: the conversation had no name when the chat started.
        let untitled = settings.title_source.is_none();
        let resolved = self.providers.resolve(settings.model.as_deref());
        let params = conversation_params(conversation_id, settings.params.as_deref());
        let mut request = resolved.request(params, turns);
        request.relayed = relayed;
        let this = self.clone();
        let task_reply = reply.clone();
        let reply_for_end = reply.clone();
        self.tasks.spawn(async move {
            this.clone()
                .generate(task_reply, resolved, request, untitled)
                .await;
            this.announce_end(user_id, &reply_for_end);
        });
        if let Some(relay) = &self.relay {
            relay.publish(reply.clone());
        }
        reply
    }

    /// The reply task: provider → deltas → store, exactly once; then, for a conversation
    /// `untitled` when the chat started whose reply is complete, its title.
    async fn generate(
        self,
        reply: Arc<Reply>,
        resolved: Resolved,
        request: ReplyRequest,
        untitled: bool,
    ) {
        let mut text = String::new();
        let mut normalizer = LineBreakNormalizer::default();
        let mut error: Option<String> = None;
        let mut made = Making::new();

        let status = tokio::select! {
            biased;
            _ = self.abort.cancelled() => MessageStatus::Interrupted,
            _ = reply.cancel.cancelled() => MessageStatus::Cancelled,
            started = resolved.provider.provider.stream(request) => match started {
                Err(e) => {
                    error = Some(e.0);
                    MessageStatus::Failed
                }
                Ok(mut deltas) => {
                    // Made once, not per delta: each `cancelled()` locks the token's
                    // tree and registers a waiter, which showed per token in profiles
                    // of thousands of streams.
                    let aborted = self.abort.cancelled();
                    let cancelled = reply.cancel.cancelled();
                    tokio::pin!(aborted, cancelled);
                    loop {
                        let next = tokio::select! {
                            biased;
                            _ = &mut aborted => break MessageStatus::Interrupted,
                            _ = &mut cancelled => break MessageStatus::Cancelled,
                            next = deltas.next() => next,
                        };
                        match next {
                            Some(Ok(Delta::End(ending))) => {
                                made.finish_reason = ending.said;
                                break match ending.reason {
                                    FinishReason::Stop => MessageStatus::Complete,
                                    FinishReason::Length => MessageStatus::Truncated,
                                };
                            }
                            Some(Ok(Delta::Model(name))) => made.model = Some(name),
                            Some(Ok(Delta::Usage(usage))) => made.usage = Some(usage),
                            Some(Ok(Delta::ToolCalls(calls))) => {
                                made.began();
                                if !made.tool_calls.add(&calls) {
                                    error = Some(format!(
                                        "the provider's tool calls passed {} MiB",
                                        tools::MAX_TOOL_CALL_BYTES >> 20
                                    ));
                                    break MessageStatus::Failed;
                                }
                                reply.state.send_modify(|state| {
                                    let at = state.deltas.len();
                                    state.tool_calls.push((at, calls));
                                });
                            }
                            Some(Ok(Delta::Reasoning(delta))) => {
                                let delta = delta.replace('\0', "");
                                if delta.is_empty() {
                                    continue;
                                }
                                made.began();
                                made.reasoning.push_str(&delta);
                                reply.state.send_modify(|state| {
                                    let at = state.deltas.len();
                                    state.reasoning.push((at, delta));
                                });
                            }
                            // Providers end with `End` or an error; a stream that just
                            // stops was cut short.
                            None => {
                                error = Some("the provider's stream stopped before the reply was finished".into());
                                break MessageStatus::Failed;
                            }
                            Some(Err(e)) => {
                                error = Some(e.0);
                                break MessageStatus::Failed;
                            }
                            Some(Ok(Delta::Text(delta))) => {
                                // NUL is dropped: PostgreSQL's text cannot store it.
                                // Neither step copies a token that needs no change.
                                let mut delta = normalizer.normalize_owned(delta);
                                if delta.contains('\0') {
                                    delta = delta.replace('\0', "");
                                }
                                if delta.is_empty() {
                                    continue;
                                }
                                made.began();
                                text.push_str(&delta);
                                reply.state.send_modify(|state| state.deltas.push(delta));
                            }
                        }
                    }
                }
            },
        };

        if let Some(cause) = &error {
            tracing::warn!(
                conversation_id = reply.conversation_id,
                "provider failed: {cause}"
            );
        }
        // A reply that stopped before producing anything is not stored: there is no
        // assistant message to show, and the client was told why (502, or the end event).
        // One the provider ended (complete, or cut at its token limit) is, even empty.
        // Reasoning counts as something generated: a reply cut off while it thought
        // keeps its thoughts.
        let nothing_generated = text.is_empty()
            && made.reasoning.is_empty()
            && made.tool_calls.is_empty()
            && !matches!(status, MessageStatus::Complete | MessageStatus::Truncated);
        let finished = (!nothing_generated).then(|| FinishedReply {
            conversation_id: reply.conversation_id,
            user_message_id: reply.user_message.id,
            reply_index: reply.reply_index,
            // Tool calls are kept as a placeholder naming them (`providers/tools.rs`).
            content: tools::with_placeholder(&text, &made.tool_calls.names()),
            status,
            details: made.details(&resolved),
        });
        let first_try = self
            .final_write(reply.conversation_id, finished.clone())
            .await;
        let message = match first_try {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(
                    conversation_id = reply.conversation_id,
                    "could not store the reply; keeping it and trying again: {e}"
                );
                let why = format!(
                    "the reply is not stored yet ({}); chatd keeps it and stores it once \
                     the database is back",
                    e.fault().map_or("a database error", |fault| fault.detail())
                );
                let error = Some(match error {
                    Some(cause) => format!("{cause}; {why}"),
                    None => why,
                });
                // Listeners hear the truth now; the conversation stays held (a new chat
                // would be stored before this reply) until the retries succeed.
                reply.state.send_modify(|state| {
                    state.end = Some(ReplyEnd {
                        status,
                        message: None,
                        error,
                        stored: false,
                    })
                });
                self.store_until_done(&reply, finished).await;
                self.release(reply.conversation_id);
                return;
            }
        };
        // Free the conversation before announcing the end, so that a client that sends
        // its next message the moment this one ends is not told a reply is running.
        self.release(reply.conversation_id);
        let stored_complete = message.is_some() && status == MessageStatus::Complete;
        reply.state.send_modify(|state| {
            state.end = Some(ReplyEnd {
                status,
                message,
                error,
                stored: true,
            })
        });
        if untitled
            && stored_complete
            && let Some(titles) = &self.titles
        {
            titles.spawn(reply.conversation_id, &resolved);
        }
    }

    /// Announces how a reply ended (and its stored answer) once its task is done.
    fn announce_end(&self, user_id: i64, reply: &Reply) {
        let Some(end) = reply.state.borrow().end.clone() else {
            return;
        };
        let message_id = end.message.as_ref().map(|m| m.id);
        if let Some(message_id) = message_id {
            self.announce(Event::MessageCreated {
                message_id,
                conversation_id: reply.conversation_id,
                user_id,
                role: common::Role::Assistant,
            });
        }
        self.announce(Event::ReplyEnded {
            conversation_id: reply.conversation_id,
            user_id,
            reply_id: reply.user_message.id,
            message_id,
            status: end.status,
            stored: end.stored,
        });
    }

    /// Stores a finished reply (or, when nothing was generated, gives up its lease).
    /// `Ok(None)`: nothing to show as stored.
    async fn final_write(
        &self,
        conversation_id: i64,
        finished: Option<FinishedReply>,
    ) -> Result<Option<MessageRow>, StoreError> {
        let Some(finished) = finished else {
            return self.lease.release(conversation_id).await.map(|()| None);
        };
        match self.store.insert_assistant_message(finished).await? {
            StoredReply::Inserted(row) => Ok(Some(row)),
            StoredReply::AlreadyAnswered => {
                tracing::warn!(
                    conversation_id,
                    "the reply was already stored; it is not stored twice"
                );
                Ok(None)
            }
            StoredReply::NoConversation => {
                tracing::warn!(
                    conversation_id,
                    "the conversation is gone; its reply is not stored"
                );
                Ok(None)
            }
        }
    }

    /// At start-up, after `recover_unstored`: stores the replies that a dead process
    /// (the last run of this chatd, or a peer) was cut off in, as `interrupted`, and
    /// frees their conversations. Returns how many were stored.
    pub async fn recover_interrupted(&self) -> Result<usize, StoreError> {
        self.lease.recover_abandoned().await
    }

    /// At shutdown: lets the replies in flight finish for up to `grace`, then stops the
    /// rest (stored as `interrupted`) and waits until they are stored.
    pub async fn drain(&self, grace: Duration) {
        self.tasks.close();
        let pending = self.tasks.len();
        if pending > 0 {
            tracing::info!(
                "waiting up to {} s for {pending} replies in flight",
                grace.as_secs()
            );
        }
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            let unstored = self.unstored();
            let generating = self.tasks.len().saturating_sub(unstored);
            if generating > 0 {
                tracing::warn!(
                    "stopping {generating} replies still in flight; what they generated is \
                     stored as interrupted"
                );
            }
            if unstored > 0 {
                tracing::warn!(
                    "{unstored} replies the database refused are kept for the next start"
                );
            }
            self.abort.cancel();
            if tokio::time::timeout(Duration::from_secs(10), self.tasks.wait())
                .await
                .is_err()
            {
                tracing::error!("some replies could not be stored before exit");
            }
        }
    }

    /// True once `drain` has begun: no new reply may start.
    pub fn is_closed(&self) -> bool {
        self.tasks.is_closed()
    }
}

/// The error that answers a chat whose key was seen before; `None` for a new key.
fn seen_before(lookup: KeyLookup) -> Option<BeginError> {
    match lookup {
        KeyLookup::New => None,
        KeyLookup::OtherBody => Some(BeginError::KeyReused),
        KeyLookup::Repeat(answer) => Some(match answer.user_message_id {
            Some(id) => BeginError::Repeat(id),
            None => BeginError::KeyReused,
        }),
    }
}

/// Waits for a reply's first event: a provider that failed before its first delta is
/// the chat's error (502), not a stream.
async fn wait_for_start(reply: Arc<Reply>) -> Result<Arc<Reply>, BeginError> {
    let mut listener = reply.subscribe();
    first_event(&mut listener).await;
    let state = listener.borrow();
    if let Some(end) = &state.end
        && !state.has_begun()
        && end.status == MessageStatus::Failed
        && let Some(cause) = &end.error
    {
        return Err(BeginError::ProviderFailed(cause.clone()));
    }
    drop(state);
    Ok(reply)
}

/// Waits until a listener's reply has its first delta (of content or reasoning) or its
/// end, whichever comes first.
async fn first_event(rx: &mut watch::Receiver<ReplyState>) {
    // The sender lives as long as the `Reply`, which the caller holds, so this cannot
    // see a closed channel; an error would only mean the same as an end.
    let _ = rx
        .wait_for(|state| state.has_begun() || state.end.is_some())
        .await;
}
