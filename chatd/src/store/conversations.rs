//! The `conversations` table, and the read of one conversation with its messages.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::{conversations, messages};
use super::{
    Conn, ConversationRow, ConversationSettingsRow, KnownOrRow, MessageRow, Store, StoreError, now,
    on_conn,
};

/// Stores a new conversation; `None` when the user does not exist.
pub(crate) fn insert(
    conn: &mut Conn,
    user_id: i64,
    name: Option<&str>,
) -> QueryResult<Option<ConversationRow>> {
    let inserted = on_conn!(conn, c => diesel::insert_into(conversations::table)
        .values((
            conversations::user_id.eq(user_id),
            conversations::name.eq(name),
            conversations::created_at.eq(now()),
        ))
        .returning(ConversationRow::as_returning())
        .get_result(c));
    match inserted {
        Ok(row) => Ok(Some(row)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => Ok(None),
        Err(other) => Err(other),
    }
}

pub(crate) fn exists(conn: &mut Conn, conversation_id: i64) -> QueryResult<bool> {
    let count: i64 = on_conn!(conn, c => conversations::table
        .filter(conversations::id.eq(conversation_id))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

pub(crate) fn by_id(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<ConversationRow>> {
    on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(ConversationRow::as_select())
        .first(c)
        .optional())
}

/// A conversation's own settings; all `None` when it does not exist.
pub(crate) fn settings(
    conn: &mut Conn,
    conversation_id: i64,
) -> QueryResult<ConversationSettingsRow> {
    Ok(on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(ConversationSettingsRow::as_select())
        .first(c)
        .optional())?
    .unwrap_or_default())
}

/// One page of a user's conversations, oldest first.
pub(crate) fn of_user(
    conn: &mut Conn,
    user_id: i64,
    skip: i64,
    limit: i64,
) -> QueryResult<Vec<ConversationRow>> {
    on_conn!(conn, c => conversations::table
        .filter(conversations::user_id.eq(user_id))
        .order(conversations::id.asc())
        .offset(skip)
        .limit(limit)
        .select(ConversationRow::as_select())
        .load(c))
}

/// The ids of a conversation's messages in order; the (conversation_id, id) index alone
/// answers it.
fn message_ids(conn: &mut Conn, conversation_id: i64) -> QueryResult<Vec<i64>> {
    on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::id.asc())
        .select(messages::id)
        .load(c))
}

/// A conversation's messages from id `from` on, in order.
fn messages_from(conn: &mut Conn, conversation_id: i64, from: i64) -> QueryResult<Vec<MessageRow>> {
    on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::id.ge(from))
        .order(messages::id.asc())
        .select(MessageRow::as_select())
        .load(c))
}

/// See [`Store::conversation_with_known_messages`]; the caller runs it in one read
/// transaction.
pub(crate) fn with_known_messages<T>(
    conn: &mut Conn,
    conversation_id: i64,
    known: impl FnOnce(&[i64]) -> Vec<Option<T>>,
) -> QueryResult<Option<(ConversationRow, Vec<KnownOrRow<T>>)>> {
    let Some(conversation) = by_id(conn, conversation_id)? else {
        return Ok(None);
    };
    let ids = message_ids(conn, conversation_id)?;
    let found = known(&ids);
    let first_unknown = ids
        .iter()
        .zip(&found)
        .find(|(_, have)| have.is_none())
        .map(|(id, _)| *id);
    // Usually the unknown ones are the newest few (a reply since the last read), or all
    // of them: one range read covers both.
    let mut rows = match first_unknown {
        None => Vec::new(),
        Some(from) => messages_from(conn, conversation_id, from)?,
    }
    .into_iter()
    .peekable();
    let mut parts = Vec::with_capacity(ids.len());
    for (id, have) in ids.into_iter().zip(found) {
        while rows.next_if(|row| row.id < id).is_some() {}
        match (have, rows.next_if(|row| row.id == id)) {
            (Some(kept), _) => parts.push(KnownOrRow::Known(kept)),
            (None, Some(row)) => parts.push(KnownOrRow::Row(row)),
            // Cannot happen, as messages are never deleted (a row the second statement
            // sees but the first did not, possible under PostgreSQL's READ COMMITTED, is
            // skipped above); leaving the message out would beat failing the read.
            (None, None) => {}
        }
    }
    Ok(Some((conversation, parts)))
}

impl Store {
    /// `None` when the user does not exist.
    pub async fn create_conversation(
        &self,
        user_id: i64,
        name: Option<String>,
    ) -> Result<Option<ConversationRow>, StoreError> {
        self.write(move |conn| Ok(insert(conn, user_id, name.as_deref())?))
            .await
    }

    /// One page of a user's conversations, oldest first; empty for an unknown user.
    pub async fn conversations_of_user(
        &self,
        user_id: i64,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        self.read(move |conn| Ok(of_user(conn, user_id, skip, limit)?))
            .await
    }

    /// A conversation and all its messages in id order, for a caller that keeps messages
    /// it has already rendered: `known` gets the message ids and returns what it has
    /// for each, and only the other rows are read. Messages never change once stored,
    /// so what the caller kept for an id stays right. One read transaction.
    pub async fn conversation_with_known_messages<T, K>(
        &self,
        conversation_id: i64,
        known: K,
    ) -> Result<Option<(ConversationRow, Vec<KnownOrRow<T>>)>, StoreError>
    where
        T: Send + 'static,
        K: FnOnce(&[i64]) -> Vec<Option<T>> + Send + 'static,
    {
        self.read(move |conn| {
            Ok(conn.transaction(|conn| with_known_messages(conn, conversation_id, known))?)
        })
        .await
    }
}
