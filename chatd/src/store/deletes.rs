//! Deleting: a conversation, a user's conversations older than a date, a user, and the
//! last turn of a conversation (a Responses API response, a turn an AI SDK client
//! regenerates). Each is
//! one transaction that deletes the children before their parents (reply leases,
//! messages, conversations, the user), so nothing is left behind even on a connection
//! that somehow lacks `foreign_keys=ON`; the schema's `ON DELETE CASCADE` says the same.
//! Whether a reply is still running on a conversation is the caller's to settle first
//! (`replies`): the store only deletes rows.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{conversations, messages, reply_checkpoints, users};
use super::{Conn, Store, StoreError, on_conn, tree};
use common::Role;

/// Ids per statement when deleting a list of conversations: well under SQLite's bound
/// on parameters (32,766) and PostgreSQL's (65,535).
const IDS_PER_STATEMENT: usize = 500;

/// Deletes these conversations with their messages and leases.
fn delete_listed(conn: &mut Conn, ids: &[i64]) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        on_conn!(&mut *conn, c => {
            diesel::delete(
                reply_checkpoints::table.filter(reply_checkpoints::conversation_id.eq_any(chunk)),
            )
            .execute(c)?;
            diesel::delete(messages::table.filter(messages::conversation_id.eq_any(chunk)))
                .execute(c)?;
            deleted += diesel::delete(conversations::table.filter(conversations::id.eq_any(chunk)))
                .execute(c)?;
        });
    }
    Ok(deleted)
}

fn user_exists(conn: &mut Conn, user_id: i64) -> QueryResult<bool> {
    let count: i64 = on_conn!(conn, c => users::table
        .filter(users::id.eq(user_id))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// The ids of a user's conversations; `None` when the user does not exist.
fn conversations_of(conn: &mut Conn, user_id: i64) -> QueryResult<Option<Vec<i64>>> {
    if !user_exists(conn, user_id)? {
        return Ok(None);
    }
    on_conn!(conn, c => conversations::table
        .filter(conversations::user_id.eq(user_id))
        .select(conversations::id)
        .load(c))
    .map(Some)
}

/// See [`Store::prune_conversations`]; runs inside one transaction.
fn prune(conn: &mut Conn, user_id: i64, before: NaiveDateTime) -> QueryResult<Option<Vec<i64>>> {
    if !user_exists(conn, user_id)? {
        return Ok(None);
    }
    let of_user = conversations::table
        .filter(conversations::user_id.eq(user_id))
        .select(conversations::id);
    type Read = (
        Vec<(i64, NaiveDateTime)>,
        Vec<(i64, Option<NaiveDateTime>)>,
        Vec<i64>,
    );
    // Each conversation's creation, its newest message's time, and whether it is leased.
    let (created, newest_message, leased): Read = on_conn!(conn, c => (
        conversations::table
            .filter(conversations::user_id.eq(user_id))
            .select((conversations::id, conversations::created_at))
            .load(c)?,
        messages::table
            .filter(messages::conversation_id.eq_any(of_user))
            .group_by(messages::conversation_id)
            .select((messages::conversation_id, diesel::dsl::max(messages::created_at)))
            .load(c)?,
        reply_checkpoints::table
            .filter(reply_checkpoints::conversation_id.eq_any(of_user))
            .select(reply_checkpoints::conversation_id)
            .load(c)?,
    ));
    let newest_message: HashMap<i64, NaiveDateTime> = newest_message
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect();
    // A conversation with a reply in flight (its lease row) is kept: it is in use.
    let leased: HashSet<i64> = leased.into_iter().collect();
    let old: Vec<i64> = created
        .into_iter()
        .filter(|(id, created_at)| {
            let last_activity = newest_message.get(id).unwrap_or(created_at);
            *last_activity < before && !leased.contains(id)
        })
        .map(|(id, _)| id)
        .collect();
    delete_listed(conn, &old)?;
    Ok(Some(old))
}

/// See [`Store::delete_user`]; runs inside one transaction.
fn delete_user(conn: &mut Conn, user_id: i64) -> QueryResult<Option<Vec<i64>>> {
    let Some(conversations) = conversations_of(conn, user_id)? else {
        return Ok(None);
    };
    delete_listed(conn, &conversations)?;
    on_conn!(conn, c => diesel::delete(users::table.find(user_id)).execute(c))?;
    Ok(Some(conversations))
}

/// What [`Store::delete_last_turn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnDelete {
    /// The turn's messages are gone; `true` when the conversation went with them (it
    /// held nothing else).
    Deleted { conversation_deleted: bool },
    /// The conversation goes on after the turn's reply: only a last turn is deleted.
    NotLast,
    /// A reply is running on the conversation (its lease is held, by another chatd
    /// sharing the database, since the caller stopped its own).
    Busy,
    /// No such user message.
    Missing,
}

/// See [`Store::delete_last_turn`]; runs inside one transaction. `keep_empty` keeps the
/// conversation even when nothing is left in it.
fn delete_last_turn(
    conn: &mut Conn,
    user_message_id: i64,
    keep_empty: bool,
) -> QueryResult<TurnDelete> {
    let Some((conversation_id, _, role)) = tree::placement(conn, user_message_id)? else {
        return Ok(TurnDelete::Missing);
    };
    if role != Role::User.as_str() {
        return Ok(TurnDelete::Missing);
    }
    let assistant = Role::Assistant.as_str();
    // The last turn is the end of the active path: the user message, and at most its
    // reply after it.
    let path = tree::active_path(conn, conversation_id)?;
    let Some(at) = path.iter().position(|&id| id == user_message_id) else {
        return Ok(TurnDelete::NotLast);
    };
    let answered_last = match &path[at + 1..] {
        [] => true,
        [only] => tree::placement(conn, *only)?.is_some_and(|(_, _, role)| role == assistant),
        _ => false,
    };
    if !answered_last {
        return Ok(TurnDelete::NotLast);
    }
    let leased: i64 = on_conn!(conn, c => reply_checkpoints::table
        .filter(reply_checkpoints::conversation_id.eq(conversation_id))
        .count()
        .get_result(c))?;
    if leased > 0 {
        return Ok(TurnDelete::Busy);
    }
    // The turn begins after the reply before it: the user messages sent together.
    let mut first = at;
    while first > 0
        && tree::placement(conn, path[first - 1])?.is_some_and(|(_, _, role)| role != assistant)
    {
        first -= 1;
    }
    let before = first.checked_sub(1).map(|k| path[k]);
    // The turn goes with everything below its first message: its other replies and
    // the branches made from them.
    let doomed = tree::subtree(conn, path[first])?;
    for chunk in doomed.chunks(IDS_PER_STATEMENT) {
        on_conn!(&mut *conn, c => diesel::delete(messages::table.filter(messages::id.eq_any(chunk)))
            .execute(c))?;
    }
    tree::set_active_leaf(conn, conversation_id, before)?;
    let remaining: i64 = on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .count()
        .get_result(c))?;
    let conversation_deleted = remaining == 0 && !keep_empty;
    if conversation_deleted {
        delete_listed(conn, &[conversation_id])?;
    }
    Ok(TurnDelete::Deleted {
        conversation_deleted,
    })
}

impl Store {
    /// Deletes the turn a user message belongs to (the user messages sent together with
    /// it, and their reply), when it ends its conversation's active path, with every
    /// message below it (its other replies and their branches); the path then ends
    /// where the turn began. A conversation left empty goes too. A reply still running
    /// on it is the caller's to stop first.
    pub async fn delete_last_turn(&self, user_message_id: i64) -> Result<TurnDelete, StoreError> {
        self.write_transaction(move |conn| delete_last_turn(conn, user_message_id, false))
            .await
    }

    /// [`Store::delete_last_turn`] for a turn about to be sent again (an AI SDK
    /// regenerate): the conversation stays, with its settings and title, even if empty.
    pub async fn clear_last_turn(&self, user_message_id: i64) -> Result<TurnDelete, StoreError> {
        self.write_transaction(move |conn| delete_last_turn(conn, user_message_id, true))
            .await
    }

    /// Deletes a conversation with its messages and its reply lease; whether it existed.
    pub async fn delete_conversation(&self, conversation_id: i64) -> Result<bool, StoreError> {
        self.write_transaction(move |conn| Ok(delete_listed(conn, &[conversation_id])? == 1))
            .await
    }

    /// The ids of a user's conversations; `None` when the user does not exist.
    pub async fn conversation_ids_of_user(
        &self,
        user_id: i64,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        self.read(move |conn| Ok(conn.read_together(|conn| conversations_of(conn, user_id))?))
            .await
    }

    /// Deletes a user's conversations whose last activity (their newest message, or
    /// their creation when they have none) is before `before`, except those with a
    /// reply in flight; returns the ids deleted, `None` when the user does not exist.
    pub async fn prune_conversations(
        &self,
        user_id: i64,
        before: NaiveDateTime,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        self.write_transaction(move |conn| prune(conn, user_id, before))
            .await
    }

    /// Deletes a user with every conversation, message and reply lease of theirs;
    /// returns the ids of the conversations deleted, `None` when the user does not exist.
    pub async fn delete_user(&self, user_id: i64) -> Result<Option<Vec<i64>>, StoreError> {
        self.write_transaction(move |conn| delete_user(conn, user_id))
            .await
    }
}
