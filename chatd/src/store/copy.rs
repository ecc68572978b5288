//! `chatd migrate-data`: tables read in id-ordered batches from one database and
//! inserted, ids kept, into another; messages keep their parents and path hashes,
//! conversations their active leaves.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::messages::{self, NewMessage};
use super::schema::{conversations, messages as messages_table, users};
use super::{
    Conn, ConversationRow, ConversationSettingsRow, MessageRow, Store, StoreError, UserRow, on_conn,
};

/// The tables a copy goes through, parents first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Conversations,
    Messages,
}

/// Rows of each table, for copying a database.
#[derive(Debug, Default)]
pub struct ExportBatch {
    pub users: Vec<UserRow>,
    /// Each conversation with its own settings and title source, its client's chat id
    /// (`chat_keys.rs`) and its active leaf (`tree.rs`).
    pub conversations: Vec<(
        ConversationRow,
        ConversationSettingsRow,
        Option<String>,
        Option<i64>,
    )>,
    /// Each message with its path hash, copied as it is (`paths.rs`).
    pub messages: Vec<(MessageRow, Option<String>)>,
}

impl ExportBatch {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.conversations.is_empty() && self.messages.is_empty()
    }

    pub fn len(&self) -> usize {
        self.users.len() + self.conversations.len() + self.messages.len()
    }

    /// The largest id in the batch, to continue after.
    pub fn last_id(&self) -> Option<i64> {
        self.users
            .iter()
            .map(|r| r.id)
            .chain(self.conversations.iter().map(|(r, _, _, _)| r.id))
            .chain(self.messages.iter().map(|(r, _)| r.id))
            .max()
    }
}

fn export(conn: &mut Conn, table: Table, after_id: i64, batch: i64) -> QueryResult<ExportBatch> {
    let mut rows = ExportBatch::default();
    on_conn!(conn, c => match table {
        Table::Users => {
            rows.users = users::table
                .filter(users::id.gt(after_id))
                .order(users::id.asc())
                .limit(batch)
                .select(UserRow::as_select())
                .load(c)?;
        }
        Table::Conversations => {
            rows.conversations = conversations::table
                .filter(conversations::id.gt(after_id))
                .order(conversations::id.asc())
                .limit(batch)
                .select((
                    ConversationRow::as_select(),
                    ConversationSettingsRow::as_select(),
                    conversations::chat_key,
                    conversations::active_leaf_id,
                ))
                .load(c)?;
        }
        Table::Messages => {
            rows.messages = messages_table::table
                .filter(messages_table::id.gt(after_id))
                .order(messages_table::id.asc())
                .limit(batch)
                .select((MessageRow::as_select(), messages_table::path_hash))
                .load(c)?;
        }
    });
    Ok(rows)
}

fn counts(conn: &mut Conn) -> QueryResult<(i64, i64, i64)> {
    on_conn!(conn, c => Ok((
        users::table.count().get_result(c)?,
        conversations::table.count().get_result(c)?,
        messages_table::table.count().get_result(c)?,
    )))
}

fn import(conn: &mut Conn, rows: &ExportBatch) -> QueryResult<()> {
    for user in &rows.users {
        on_conn!(&mut *conn, c => diesel::insert_into(users::table)
            .values((
                users::id.eq(user.id),
                users::username.eq(&user.username),
                users::email.eq(&user.email),
                users::created_at.eq(user.created_at),
            ))
            .execute(c))?;
    }
    for (conversation, settings, chat_key, active_leaf) in &rows.conversations {
        on_conn!(&mut *conn, c => diesel::insert_into(conversations::table)
            .values((
                conversations::id.eq(conversation.id),
                conversations::user_id.eq(conversation.user_id),
                conversations::name.eq(&conversation.name),
                conversations::created_at.eq(conversation.created_at),
                conversations::model.eq(&settings.model),
                conversations::system_prompt.eq(&settings.system_prompt),
                conversations::params.eq(&settings.params),
                conversations::title_source.eq(&settings.title_source),
                conversations::chat_key.eq(chat_key),
                conversations::active_leaf_id.eq(active_leaf),
            ))
            .execute(c))?;
    }
    for (message, path_hash) in &rows.messages {
        messages::insert(
            conn,
            &NewMessage {
                id: Some(message.id),
                conversation_id: message.conversation_id,
                role: message.role.as_str(),
                content: &message.content,
                status: message.status.as_str(),
                created_at: message.created_at,
                details: message.details.clone(),
                parent_id: message.parent_id,
                path_hash: path_hash.clone(),
            },
        )?;
    }
    if let Conn::Postgres(c) = conn {
        c.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), \
                 GREATEST((SELECT max(id) FROM users), 1)); \
             SELECT setval(pg_get_serial_sequence('conversations', 'id'), \
                 GREATEST((SELECT max(id) FROM conversations), 1)); \
             SELECT setval(pg_get_serial_sequence('messages', 'id'), \
                 GREATEST((SELECT max(id) FROM messages), 1));",
        )?;
    }
    Ok(())
}

impl Store {
    /// Rows of one table in id order, at most `batch` of them after `after_id`, for
    /// copying a database table by table (parents before children).
    pub async fn export_batch(
        &self,
        table: Table,
        after_id: i64,
        batch: i64,
    ) -> Result<ExportBatch, StoreError> {
        self.read(move |conn| Ok(export(conn, table, after_id, batch)?))
            .await
    }

    /// Row counts of (users, conversations, messages).
    pub async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        self.read(|conn| Ok(conn.read_together(counts)?)).await
    }

    /// Inserts rows copied from another database, keeping their ids; the target must
    /// hold none of them. Afterwards PostgreSQL's id sequences continue past them.
    pub async fn import_batch(&self, rows: ExportBatch) -> Result<(), StoreError> {
        self.write_transaction(move |conn| import(conn, &rows))
            .await
    }
}
