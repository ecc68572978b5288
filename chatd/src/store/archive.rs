//! Export and import: a conversation read whole (its row, its settings, every message),
//! a user's conversations read a page at a time so an export of any size holds one page
//! in memory, and an imported conversation written in one transaction with the times
//! and details it came with.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::messages::{self, NewMessage};
use super::schema::{conversations, messages as messages_table, users};
use super::{
    Conn, ConversationRow, ConversationSettingsRow, MessageDetails, MessageRow, Store, StoreError,
    conversations as conversation_queries, on_conn,
};

/// A conversation as exported: its row, its own settings and every message, in order.
#[derive(Debug, Clone)]
pub struct ConversationArchive {
    pub conversation: ConversationRow,
    pub settings: ConversationSettingsRow,
    pub messages: Vec<MessageRow>,
}

/// A conversation to import; its messages oldest first, each after its parent.
#[derive(Debug, Clone)]
pub struct ImportedConversation {
    pub name: Option<String>,
    pub created_at: NaiveDateTime,
    pub settings: ConversationSettingsRow,
    pub messages: Vec<ImportedMessage>,
    /// The index in `messages` of the active leaf; `None`: the last message.
    pub active: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct ImportedMessage {
    pub role: common::Role,
    pub content: String,
    pub status: common::MessageStatus,
    pub created_at: NaiveDateTime,
    pub details: MessageDetails,
    /// The index in the conversation's `messages` of the message this one follows,
    /// always an earlier one; `None` for a root.
    pub parent: Option<usize>,
}

impl ImportedConversation {
    /// Makes `messages` one line, each message after the one before it: a document
    /// without a tree.
    pub fn as_line(mut self) -> ImportedConversation {
        for (index, message) in self.messages.iter_mut().enumerate() {
            message.parent = index.checked_sub(1);
        }
        self.active = None;
        self
    }
}

fn read_one(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<ConversationArchive>> {
    let Some((conversation, settings)) =
        conversation_queries::with_settings(conn, conversation_id)?
    else {
        return Ok(None);
    };
    let messages = on_conn!(conn, c => messages_table::table
        .filter(messages_table::conversation_id.eq(conversation_id))
        .order(messages_table::id.asc())
        .select(MessageRow::as_select())
        .load(c))?;
    Ok(Some(ConversationArchive {
        conversation,
        settings,
        messages,
    }))
}

fn user_exists(conn: &mut Conn, user_id: i64) -> QueryResult<bool> {
    let count: i64 = on_conn!(conn, c => users::table
        .filter(users::id.eq(user_id))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// A user's conversations with ids above `after`, at most `limit`, each whole.
fn read_page(
    conn: &mut Conn,
    user_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ConversationArchive>> {
    let ids: Vec<i64> = on_conn!(conn, c => conversations::table
        .filter(conversations::user_id.eq(user_id))
        .filter(conversations::id.gt(after))
        .order(conversations::id.asc())
        .limit(limit)
        .select(conversations::id)
        .load(c))?;
    let mut page = Vec::with_capacity(ids.len());
    for id in ids {
        // A conversation deleted between the two reads is left out.
        page.extend(read_one(conn, id)?);
    }
    Ok(page)
}

/// See [`Store::import_conversation`]; runs inside one transaction.
fn import(
    conn: &mut Conn,
    user_id: i64,
    imported: &ImportedConversation,
) -> QueryResult<Option<i64>> {
    if !user_exists(conn, user_id)? {
        return Ok(None);
    }
    let settings = &imported.settings;
    let id: i64 = on_conn!(&mut *conn, c => diesel::insert_into(conversations::table)
        .values((
            conversations::user_id.eq(user_id),
            conversations::name.eq(&imported.name),
            conversations::created_at.eq(imported.created_at),
            conversations::model.eq(&settings.model),
            conversations::system_prompt.eq(&settings.system_prompt),
            conversations::params.eq(&settings.params),
            conversations::title_source.eq(&settings.title_source),
        ))
        .returning(conversations::id)
        .get_result(c))?;
    // The path hash of each message (`paths.rs`), so a front-door client that resends
    // an imported history continues it, without a look-up per message.
    let root_hash = super::paths::start(settings.system_prompt.as_deref());
    let mut stored: Vec<(i64, String)> = Vec::with_capacity(imported.messages.len());
    for (index, message) in imported.messages.iter().enumerate() {
        // The converters name only earlier messages; anything else is made a root
        // rather than a loop or a parent in the future.
        let parent = message
            .parent
            .filter(|&parent| parent < index)
            .and_then(|parent| stored.get(parent));
        let above = parent.map_or(&root_hash, |(_, hash)| hash);
        let path_hash = super::paths::next(above, message.role, &message.content);
        let parent = parent.map(|(id, _)| *id);
        let row = messages::insert(
            conn,
            &NewMessage {
                id: None,
                conversation_id: id,
                role: message.role.as_str(),
                content: &message.content,
                status: message.status.as_str(),
                created_at: message.created_at,
                details: message.details.clone(),
                parent_id: parent,
                path_hash: Some(path_hash.clone()),
            },
        )?;
        stored.push((row.id, path_hash));
    }
    let active = imported
        .active
        .and_then(|index| stored.get(index))
        .or(stored.last())
        .map(|(id, _)| *id);
    super::tree::set_active_leaf(conn, id, active)?;
    Ok(Some(id))
}

impl Store {
    /// A conversation with its settings and every message; `None` when it does not
    /// exist. Read together (`Conn::read_together`), so on SQLite the messages are
    /// those of one moment; on PostgreSQL they are those of the one statement that reads
    /// them.
    pub async fn export_conversation(
        &self,
        conversation_id: i64,
    ) -> Result<Option<ConversationArchive>, StoreError> {
        self.read(move |conn| Ok(conn.read_together(|conn| read_one(conn, conversation_id))?))
            .await
    }

    /// The next page of a user's export: up to `limit` conversations with ids above
    /// `after`, oldest first; `None` when the user does not exist.
    pub async fn export_page(
        &self,
        user_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Option<Vec<ConversationArchive>>, StoreError> {
        self.read(move |conn| {
            Ok(conn.read_together(|conn| {
                if !user_exists(conn, user_id)? {
                    return Ok(None);
                }
                read_page(conn, user_id, after, limit).map(Some)
            })?)
        })
        .await
    }

    /// Stores an imported conversation and its messages in one transaction, with their
    /// own times; its id, `None` when the user does not exist.
    pub async fn import_conversation(
        &self,
        user_id: i64,
        imported: ImportedConversation,
    ) -> Result<Option<i64>, StoreError> {
        self.write_transaction(move |conn| import(conn, user_id, &imported))
            .await
    }

    /// Whether the user exists.
    pub async fn user_exists(&self, user_id: i64) -> Result<bool, StoreError> {
        self.read(move |conn| Ok(user_exists(conn, user_id)?)).await
    }
}
