//! Conversations named by a client's own chat id (`chat_key`, unique among one user's
//! conversations): the AI SDK's UI message stream routes (`routes/ui_chat/`) find and
//! make their conversations by it.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::conversations as conversation_rows;
use super::schema::conversations;
use super::{Conn, ConversationSettingsRow, Store, StoreError, on_conn};

/// What [`Store::conversation_for_chat_key`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKeyed {
    Found(i64),
    /// Made now, with the settings given.
    Created(i64),
    /// The user does not exist (deleted since the caller looked it up).
    NoUser,
}

fn by_key(conn: &mut Conn, user_id: i64, key: &str) -> QueryResult<Option<i64>> {
    on_conn!(conn, c => conversations::table
        .filter(conversations::user_id.eq(user_id))
        .filter(conversations::chat_key.eq(key))
        .select(conversations::id)
        .first(c)
        .optional())
}

/// See [`Store::conversation_for_chat_key`]; runs inside one transaction.
fn find_or_create(
    conn: &mut Conn,
    user_id: i64,
    key: &str,
    settings: &ConversationSettingsRow,
) -> QueryResult<ChatKeyed> {
    if let Some(id) = by_key(conn, user_id, key)? {
        return Ok(ChatKeyed::Found(id));
    }
    let Some(row) = conversation_rows::insert(conn, user_id, None, settings)? else {
        return Ok(ChatKeyed::NoUser);
    };
    on_conn!(conn, c => diesel::update(conversations::table.find(row.id))
        .set(conversations::chat_key.eq(key))
        .execute(c))?;
    Ok(ChatKeyed::Created(row.id))
}

impl Store {
    /// The conversation of `user_id` that the client calls `key`, if there is one.
    pub async fn conversation_by_chat_key(
        &self,
        user_id: i64,
        key: String,
    ) -> Result<Option<i64>, StoreError> {
        self.read(move |conn| Ok(by_key(conn, user_id, &key)?))
            .await
    }

    /// The conversation of `user_id` that the client calls `key`, made with `settings`
    /// when there is none yet, in one transaction.
    pub async fn conversation_for_chat_key(
        &self,
        user_id: i64,
        key: String,
        settings: ConversationSettingsRow,
    ) -> Result<ChatKeyed, StoreError> {
        let looked_up = key.clone();
        let attempt = self
            .write_transaction(move |conn| find_or_create(conn, user_id, &key, &settings))
            .await;
        match attempt {
            // Made at the same moment by another request, on PostgreSQL (SQLite's one
            // writer runs the two transactions one after the other).
            Err(StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            ))) => match self.conversation_by_chat_key(user_id, looked_up).await? {
                Some(id) => Ok(ChatKeyed::Found(id)),
                None => Ok(ChatKeyed::NoUser),
            },
            other => other,
        }
    }
}
