//! A reply that another process generates, mirrored in this one as a [`Reply`] whose
//! state the streams here read as they read a local one. The mirror catches up from
//! the reply's checkpoint row (written on request by the owner, which then says
//! `synced`), applies the published deltas past its offsets, and asks for a fresh
//! checkpoint on any gap: an offset past its own, a reconnect of the listener, a buffer
//! it fell behind in. At the end it takes the rest from the stored message.

use std::sync::Arc;
use std::time::Duration;

use common::MessageStatus;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::listener::{Heard, Subscription};
use super::{Control, Note, Part, Relay, conversation_channel};
use crate::replies::cursor::{self, ReplyId, rest_after};
use crate::replies::lease::STALE_AFTER;
use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::store::{LeaseRow, MessageRow, now};

/// How often a follower with nothing heard looks at the lease (a lost `end`, a dead
/// owner), and how long it waits for a `synced` before asking again.
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Batches held while waiting for a checkpoint, at most.
const MAX_HELD: usize = 4096;
/// How long an attach waits for a new mirror's first catch-up.
const FIRST_SYNC: Duration = Duration::from_secs(3);

/// What the follower task keeps beside the mirror's state.
struct Follower {
    relay: Relay,
    reply: Arc<Reply>,
    owner: String,
    subscription: Subscription,
    /// Characters of content and reasoning the mirror holds.
    content: u64,
    reasoning: u64,
    /// Deltas heard while waiting for a checkpoint.
    held: Vec<(u64, u64, Vec<Part>)>,
    /// Waiting for `synced` since this instant.
    syncing: Option<tokio::time::Instant>,
    /// Set once the mirror has caught up for the first time.
    caught_up: watch::Sender<bool>,
    /// The status an `end` said, in case nothing was stored.
    said_end: Option<MessageStatus>,
}

impl Relay {
    /// The reply on `conversation_id` that another process generates, mirrored here
    /// and caught up; `None` when no other process has a reply running there.
    pub(crate) async fn follow(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        let lease = self.other_lease(conversation_id).await?;
        let named = ReplyId {
            user_message: lease.user_message_id,
            index: lease.reply_index,
        };
        if let Some(mirror) = self.mirror_of(conversation_id, named) {
            return Some(mirror);
        }
        // Listening before the first look at the checkpoint: nothing published after it
        // is missed.
        let subscription = self
            .listener
            .subscribe(&conversation_channel(conversation_id))
            .await;
        let (question, _) = self
            .store
            .message_with_next(lease.user_message_id)
            .await
            .ok()
            .flatten()?;
        let (state, _) = watch::channel(ReplyState::default());
        let reply = Arc::new(Reply {
            conversation_id,
            user_message: question,
            reply_index: lease.reply_index,
            state,
            cancel: CancellationToken::new(),
            checkpointed: Default::default(),
        });
        {
            let mut mirrors = self.mirrors();
            // Two attaches at once: the first mirror made wins, the other is dropped.
            if let Some(existing) = mirrors
                .get(&conversation_id)
                .and_then(std::sync::Weak::upgrade)
                .filter(|m| m.id() == named)
            {
                return Some(existing);
            }
            mirrors.insert(conversation_id, Arc::downgrade(&reply));
        }
        let (caught_up, mut first) = watch::channel(false);
        let follower = Follower {
            relay: self.clone(),
            reply: reply.clone(),
            owner: lease.owner,
            subscription,
            content: 0,
            reasoning: 0,
            held: Vec::new(),
            syncing: None,
            caught_up,
            said_end: None,
        };
        tokio::spawn(follower.run());
        let _ = tokio::time::timeout(FIRST_SYNC, first.wait_for(|done| *done)).await;
        Some(reply)
    }

    /// Asks the process generating the reply on `conversation_id` to stop it; returns
    /// the mirror to wait on for its end, `None` when no other process has one there.
    pub(crate) async fn cancel(&self, conversation_id: i64) -> Option<Arc<Reply>> {
        let lease = self.other_lease(conversation_id).await?;
        let mirror = self.follow(conversation_id).await?;
        let control = Control::Cancel {
            c: conversation_id,
            r: lease.user_message_id,
        };
        if let Err(e) = self.send_control(&lease.owner, &control).await {
            tracing::warn!(conversation_id, "relay: could not ask for a cancel: {e}");
            return None;
        }
        Some(mirror)
    }

    /// The lease of a reply another live-looking process holds on the conversation.
    async fn other_lease(&self, conversation_id: i64) -> Option<LeaseRow> {
        let lease = self.store.reply_lease(conversation_id).await.ok()??;
        (lease.owner != *self.owner && now() - lease.updated_at <= STALE_AFTER).then_some(lease)
    }

    fn mirror_of(&self, conversation_id: i64, reply: ReplyId) -> Option<Arc<Reply>> {
        self.mirrors()
            .get(&conversation_id)
            .and_then(std::sync::Weak::upgrade)
            .filter(|m| m.id() == reply)
    }

    /// Subscribes to a conversation's channel, for a waiter on its next reply.
    pub(crate) async fn starts_on(&self, conversation_id: i64) -> Subscription {
        self.listener
            .subscribe(&conversation_channel(conversation_id))
            .await
    }
}

impl Follower {
    fn id(&self) -> i64 {
        self.reply.user_message.id
    }

    /// Which of its user message's replies the mirrored one is (regenerated ones: 1, ...).
    fn index(&self) -> i32 {
        self.reply.reply_index
    }

    /// Runs until the reply ends (or its owner stops answering, after `STALE_AFTER`).
    async fn run(mut self) {
        self.ask_sync().await;
        let mut looks = tokio::time::interval(LOOK_EVERY);
        looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let heard = tokio::select! {
                heard = self.subscription.recv() => heard,
                _ = looks.tick() => {
                    if self.look_at_lease().await {
                        return;
                    }
                    continue;
                }
            };
            let Some(heard) = heard else {
                return self.finish().await;
            };
            let note = match heard {
                Heard::Reconnected => {
                    self.ask_sync().await;
                    continue;
                }
                Heard::Note(payload) => match serde_json::from_str::<Note>(&payload) {
                    Ok(note) => note,
                    Err(_) => continue,
                },
            };
            match note {
                Note::Delta { r, c, t, p } if r == self.id() => {
                    if self.syncing.is_some() {
                        // Bounded: what is dropped here the next checkpoint holds.
                        if self.held.len() >= MAX_HELD {
                            self.held.clear();
                        }
                        self.held.push((c, t, p));
                    } else if !self.apply(c, t, p) {
                        self.ask_sync().await;
                    }
                }
                Note::Synced { r } if r == self.id() && self.syncing.is_some() => {
                    self.catch_up().await;
                }
                Note::End { r, s, stored } if r == self.id() => {
                    self.said_end = Some(s);
                    if stored {
                        return self.finish().await;
                    }
                    self.end_unstored(s);
                }
                // A later reply started: this one ended, its `end` lost.
                Note::Start { r } if r > self.id() => return self.finish().await,
                _ => {}
            }
        }
    }

    /// Applies a batch at offsets (`c`, `t`); `false` (and nothing applied) when it
    /// starts past what the mirror holds: a gap.
    fn apply(&mut self, c: u64, t: u64, parts: Vec<Part>) -> bool {
        if c > self.content || t > self.reasoning {
            return false;
        }
        let (mut at_c, mut at_t) = (c, t);
        let mut new_content = Vec::new();
        let mut new_reasoning = Vec::new();
        for part in parts {
            match part {
                Part::C(text) => {
                    if let Some(rest) = rest_after(&text, at_c, self.content) {
                        new_content.push(rest.to_string());
                        self.content += cursor::chars(rest);
                    }
                    at_c += cursor::chars(&text);
                }
                Part::T(text) => {
                    if let Some(rest) = rest_after(&text, at_t, self.reasoning) {
                        new_reasoning.push((new_content.len(), rest.to_string()));
                        self.reasoning += cursor::chars(rest);
                    }
                    at_t += cursor::chars(&text);
                }
            }
        }
        if new_content.is_empty() && new_reasoning.is_empty() {
            return true;
        }
        self.reply.state.send_modify(|state| {
            // Reasoning is placed after the content that came before it in the batch.
            let base = state.deltas.len();
            for (before, text) in new_reasoning {
                state.reasoning.push((base + before, text));
            }
            state.deltas.extend(new_content);
        });
        true
    }

    async fn ask_sync(&mut self) {
        self.syncing = Some(tokio::time::Instant::now());
        let control = Control::Sync {
            c: self.reply.conversation_id,
        };
        if let Err(e) = self.relay.send_control(&self.owner, &control).await {
            tracing::debug!("relay: could not ask for a checkpoint: {e}");
        }
    }

    /// Takes what the checkpoint row holds past the mirror, then the deltas held.
    async fn catch_up(&mut self) {
        let conversation_id = self.reply.conversation_id;
        let Ok(lease) = self.relay.store.reply_lease(conversation_id).await else {
            return;
        };
        let Some(lease) =
            lease.filter(|l| l.user_message_id == self.id() && l.reply_index == self.index())
        else {
            // The reply ended meanwhile; `finish` reads it stored.
            self.held.clear();
            self.syncing = None;
            return;
        };
        let checkpoint = vec![
            Part::T(lease.reasoning.clone()),
            Part::C(lease.content.clone()),
        ];
        self.apply(0, 0, checkpoint);
        self.syncing = None;
        let held = std::mem::take(&mut self.held);
        let mut gap = false;
        for (c, t, parts) in held {
            if gap || !self.apply(c, t, parts.clone()) {
                gap = true;
                self.held.push((c, t, parts));
            }
        }
        if gap {
            self.ask_sync().await;
        } else {
            self.caught_up.send_replace(true);
        }
    }

    /// Looks at the lease when nothing was heard for a while; `true` once the reply was
    /// finished here.
    async fn look_at_lease(&mut self) -> bool {
        let lease = match self
            .relay
            .store
            .reply_lease(self.reply.conversation_id)
            .await
        {
            Ok(lease) => lease,
            Err(_) => return false,
        };
        match lease.filter(|l| l.user_message_id == self.id() && l.reply_index == self.index()) {
            None => {
                self.finish().await;
                true
            }
            Some(lease) if now() - lease.updated_at > STALE_AFTER => {
                self.end_with(ReplyEnd {
                    status: MessageStatus::Interrupted,
                    message: None,
                    error: Some("the chatd process generating this reply stopped answering".into()),
                    stored: false,
                });
                true
            }
            Some(_) => {
                if self
                    .syncing
                    .is_some_and(|since| since.elapsed() >= LOOK_EVERY)
                {
                    // No `synced` came (the owner's listener may be reconnecting): the
                    // row as it is now, and ask again if that still leaves a gap.
                    self.catch_up().await;
                }
                false
            }
        }
    }

    /// An `end` while the owner still retries its final write: listeners learn it now.
    fn end_unstored(&mut self, status: MessageStatus) {
        self.reply.state.send_modify(|state| {
            state.end.get_or_insert(ReplyEnd {
                status,
                message: None,
                error: Some(
                    "the reply is not stored yet; the chatd process that generated it keeps \
                     it and stores it once the database is back"
                        .into(),
                ),
                stored: false,
            });
        });
    }

    /// The reply has ended: the rest, and the end, from the stored message.
    async fn finish(&mut self) {
        let stored = self
            .relay
            .store
            .message_with_reply(self.id(), self.index())
            .await;
        let answer = match stored {
            Ok(Some((_, next))) => next.filter(|m| m.role == common::Role::Assistant),
            _ => None,
        };
        let end = match answer {
            Some(answer) => {
                self.take_rest(&answer);
                ReplyEnd {
                    status: answer.status,
                    message: Some(answer),
                    error: None,
                    stored: true,
                }
            }
            None => ReplyEnd {
                status: self.said_end.unwrap_or(MessageStatus::Failed),
                message: None,
                error: Some("the reply ended before anything of it was generated".into()),
                stored: true,
            },
        };
        self.end_with(end);
    }

    fn take_rest(&mut self, answer: &MessageRow) {
        let parts = vec![
            Part::T(answer.details.reasoning.clone().unwrap_or_default()),
            Part::C(answer.content.clone()),
        ];
        self.apply(0, 0, parts);
    }

    fn end_with(&mut self, end: ReplyEnd) {
        self.reply.state.send_modify(|state| state.end = Some(end));
        self.caught_up.send_replace(true);
        let conversation_id = self.reply.conversation_id;
        let mut mirrors = self.relay.mirrors();
        if mirrors
            .get(&conversation_id)
            .is_some_and(|m| std::ptr::eq(m.as_ptr(), Arc::as_ptr(&self.reply)))
        {
            mirrors.remove(&conversation_id);
        }
    }
}
