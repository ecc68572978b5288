//! The `reply_checkpoints` rows: a conversation's reply lease, which lets one reply at a
//! time run on a conversation across every chatd sharing the database, and holds what
//! the reply has generated so far. Here is only the SQL; who is alive is judged by the
//! lease's owner (`replies::lease`) through [`LeaseJudge`].

use std::sync::Arc;

use common::MessageStatus;
use diesel::prelude::*;

use super::messages;
use super::schema::reply_checkpoints;
use super::{Conn, LeaseRow, MessageDetails, Store, StoreError, now, on_conn, tree};

/// Tells the store whose leases are whose: the name this process leases under, and
/// whether another holder's lease may be taken over.
pub trait LeaseJudge: Send + Sync + 'static {
    /// This process's name in the leases it takes.
    fn owner(&self) -> &str;
    /// Whether `lease`'s holder is dead, so the lease may be taken over. Asked only by a
    /// caller that holds this process's own reservation of the conversation.
    fn is_dead(&self, lease: &LeaseRow) -> bool;
}

/// The lease of a conversation held in `owner`'s name.
#[diesel::dsl::auto_type(no_type_alias)]
fn held_by<'a>(conversation_id: i64, owner: &'a str) -> _ {
    reply_checkpoints::table
        .filter(reply_checkpoints::conversation_id.eq(conversation_id))
        .filter(reply_checkpoints::owner.eq(owner))
}

/// The lease row of a conversation, if it has one.
pub(crate) fn of(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<LeaseRow>> {
    on_conn!(conn, c => reply_checkpoints::table
        .find(conversation_id)
        .select(LeaseRow::as_select())
        .first(c)
        .optional())
}

/// Every lease row.
pub(crate) fn all(conn: &mut Conn) -> QueryResult<Vec<LeaseRow>> {
    on_conn!(conn, c => reply_checkpoints::table.select(LeaseRow::as_select()).load(c))
}

/// Takes a free conversation's lease for the reply `reply_index` to `user_message_id`.
/// A lease that exists already fails it (unique violation): the caller's transaction
/// is then refused.
pub(crate) fn take(
    conn: &mut Conn,
    conversation_id: i64,
    user_message_id: i64,
    reply_index: i32,
    owner: &str,
) -> QueryResult<()> {
    on_conn!(conn, c => diesel::insert_into(reply_checkpoints::table)
        .values((
            reply_checkpoints::conversation_id.eq(conversation_id),
            reply_checkpoints::user_message_id.eq(user_message_id),
            reply_checkpoints::reply_index.eq(reply_index),
            reply_checkpoints::owner.eq(owner),
            reply_checkpoints::content.eq(""),
            reply_checkpoints::updated_at.eq(now()),
        ))
        .execute(c))
    .map(|_| ())
}

/// Gives up `owner`'s lease on a conversation; whether there was one.
pub(crate) fn release(conn: &mut Conn, conversation_id: i64, owner: &str) -> QueryResult<bool> {
    on_conn!(conn, c => diesel::delete(held_by(conversation_id, owner)).execute(c)).map(|n| n == 1)
}

/// Gives up the lease of the reply `reply_index` to `user_message_id`, whoever holds it.
pub(crate) fn release_for(
    conn: &mut Conn,
    conversation_id: i64,
    user_message_id: i64,
    reply_index: i32,
) -> QueryResult<()> {
    on_conn!(conn, c => diesel::delete(
        reply_checkpoints::table
            .filter(reply_checkpoints::conversation_id.eq(conversation_id))
            .filter(reply_checkpoints::user_message_id.eq(user_message_id))
            .filter(reply_checkpoints::reply_index.eq(reply_index)),
    )
    .execute(c))
    .map(|_| ())
}

/// Takes over a dead holder's lease: deletes it and, when this call was the one that
/// deleted it and the reply was never stored, stores what it generated as
/// `interrupted`. Two processes taking over at once store it once: only one deletes.
/// Returns whether a message was stored.
pub(crate) fn take_over(conn: &mut Conn, lease: &LeaseRow) -> QueryResult<bool> {
    let claimed = release(conn, lease.conversation_id, &lease.owner)?;
    // A user message deleted with its turn meanwhile has nothing to attach a reply to.
    let Some(asked) = tree::answering(conn, lease.user_message_id)? else {
        return Ok(false);
    };
    let answered = asked.replies > i64::from(lease.reply_index);
    if !claimed || answered || lease.content.is_empty() {
        return Ok(false);
    }
    messages::store_reply(
        conn,
        lease.conversation_id,
        (lease.user_message_id, asked.path_hash),
        &lease.content,
        MessageStatus::Interrupted,
        MessageDetails::NONE,
    )?;
    Ok(true)
}

/// What a reply has generated so far, as a checkpoint keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    pub content: String,
    pub reasoning: String,
}

/// Refreshes `owner`'s leases, with the text so far of those whose text changed.
pub(crate) fn refresh(
    conn: &mut Conn,
    owner: &str,
    checkpoints: &[(i64, Option<Generated>)],
) -> QueryResult<()> {
    let at = now();
    for (conversation_id, generated) in checkpoints {
        let mine = held_by(*conversation_id, owner);
        on_conn!(&mut *conn, c => match generated {
            Some(text) => diesel::update(mine)
                .set((
                    reply_checkpoints::content.eq(&text.content),
                    reply_checkpoints::reasoning.eq(&text.reasoning),
                    reply_checkpoints::updated_at.eq(at),
                ))
                .execute(c)?,
            None => diesel::update(mine)
                .set(reply_checkpoints::updated_at.eq(at))
                .execute(c)?,
        });
    }
    Ok(())
}

/// Takes over every lease whose holder `judge` finds dead; returns how many replies
/// were stored as `interrupted`.
pub(crate) fn recover(conn: &mut Conn, judge: &dyn LeaseJudge) -> QueryResult<usize> {
    let mut recovered = 0;
    for lease in all(conn)? {
        if judge.is_dead(&lease) && take_over(conn, &lease)? {
            recovered += 1;
        }
    }
    Ok(recovered)
}

impl Store {
    /// Gives up `judge`'s lease on a conversation without storing a message (nothing
    /// was generated).
    pub async fn release_reply(
        &self,
        conversation_id: i64,
        judge: Arc<dyn LeaseJudge>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| Ok(release(conn, conversation_id, judge.owner()).map(|_| ())?))
            .await
    }

    /// Refreshes the leases of `judge`'s replies in flight, with what each has generated
    /// so far where it changed, all in one transaction. Each item is (conversation id,
    /// text so far if it changed).
    pub async fn checkpoint_replies(
        &self,
        judge: Arc<dyn LeaseJudge>,
        checkpoints: Vec<(i64, Option<Generated>)>,
    ) -> Result<(), StoreError> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        self.write_transaction(move |conn| refresh(conn, judge.owner(), &checkpoints))
            .await
    }

    /// The lease row of a conversation: who generates its reply and what it had
    /// generated at its last checkpoint; `None` when no reply runs on it.
    pub async fn reply_lease(&self, conversation_id: i64) -> Result<Option<LeaseRow>, StoreError> {
        self.read(move |conn| Ok(of(conn, conversation_id)?)).await
    }

    /// At start-up: stores every reply whose holder died mid-reply (a previous run of
    /// this chatd, or a dead peer) as an `interrupted` assistant message, and frees its
    /// conversation. Returns how many were stored.
    pub async fn recover_interrupted_replies(
        &self,
        judge: Arc<dyn LeaseJudge>,
    ) -> Result<usize, StoreError> {
        self.write_transaction(move |conn| recover(conn, &*judge))
            .await
    }
}
