//! Deleting: a conversation, a user's conversations older than a date, a user. Each is
//! one transaction that deletes the children before their parents (reply leases,
//! messages, conversations, the user), so nothing is left behind even on a connection
//! that somehow lacks `foreign_keys=ON`; the schema's `ON DELETE CASCADE` says the same.
//! Whether a reply is still running on a conversation is the caller's to settle first
//! (`replies`): the store only deletes rows.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{conversations, messages, reply_checkpoints, users};
use super::{Conn, Store, StoreError, on_conn};

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

impl Store {
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
        self.read(move |conn| Ok(conn.transaction(|conn| conversations_of(conn, user_id))?))
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
