//! The `conversations` table: a conversation's row and its settings, the title chatd
//! gives it, and the read of one conversation with the messages of its active path.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::known_paths::KnownPaths;
use super::schema::{conversations, messages, reply_checkpoints};
use super::{
    Conn, ConversationRow, ConversationSettingsRow, KnownOrRow, LeaseRow, ListedConversationRow,
    SettingsChange, Store, StoreError, TitleInputs, now, on_conn, paths, tree,
};
use common::Role;

/// Stores a new conversation with its own settings (each `None` is chatd's default);
/// `None` when the user does not exist. A name given here is the user's.
pub(crate) fn insert(
    conn: &mut Conn,
    user_id: i64,
    name: Option<&str>,
    settings: &ConversationSettingsRow,
) -> QueryResult<Option<ConversationRow>> {
    let title_source = name.map(|_| TITLE_BY_USER);
    let inserted = on_conn!(conn, c => diesel::insert_into(conversations::table)
        .values((
            conversations::user_id.eq(user_id),
            conversations::name.eq(name),
            conversations::created_at.eq(now()),
            conversations::model.eq(&settings.model),
            conversations::system_prompt.eq(&settings.system_prompt),
            conversations::params.eq(&settings.params),
            conversations::title_source.eq(title_source),
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

/// The user a conversation belongs to; `None` when it does not exist.
pub(crate) fn owner(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<i64>> {
    on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(conversations::user_id)
        .first(c)
        .optional())
}

pub(crate) fn by_id(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<ConversationRow>> {
    on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(ConversationRow::as_select())
        .first(c)
        .optional())
}

/// What the start of a chat reads of its conversation, in one statement: its owner,
/// active leaf and settings, and its reply lease if one is held. One statement also
/// makes the lease and the leaf one snapshot: a reply that ends releases its lease and
/// moves the leaf in one transaction, so a start sees either the lease (and is busy) or
/// the leaf after that reply, never the leaf before it with the lease gone.
pub(crate) struct ChatStartRead {
    pub user_id: i64,
    pub active_leaf: Option<i64>,
    pub settings: ConversationSettingsRow,
    pub lease: Option<LeaseRow>,
    /// What the path hash of a message after the active leaf is made from: the leaf's
    /// hash, or the system prompt's for a conversation without messages; `None` when
    /// the leaf has none yet (a row from before path hashes), so it is read as usual.
    pub hash_before_next: Option<String>,
}

/// See [`ChatStartRead`]; `None` when the conversation does not exist.
pub(crate) fn for_chat_start(
    conn: &mut Conn,
    conversation_id: i64,
) -> QueryResult<Option<ChatStartRead>> {
    let read = on_conn!(conn, c => conversations::table
        .left_join(reply_checkpoints::table)
        .left_join(messages::table.on(messages::id.nullable().eq(conversations::active_leaf_id)))
        .filter(conversations::id.eq(conversation_id))
        .select((
            conversations::user_id,
            conversations::active_leaf_id,
            messages::path_hash.nullable(),
            ConversationSettingsRow::as_select(),
            // In `LeaseRow`'s order, nullable for the left join.
            (
                reply_checkpoints::conversation_id,
                reply_checkpoints::user_message_id,
                reply_checkpoints::owner,
                reply_checkpoints::content,
                reply_checkpoints::updated_at,
                reply_checkpoints::reply_index,
                reply_checkpoints::reasoning,
            )
                .nullable(),
        ))
        .first::<(i64, Option<i64>, Option<String>, ConversationSettingsRow, Option<LeaseRow>)>(c)
        .optional())?;
    Ok(
        read.map(|(user_id, active_leaf, leaf_hash, settings, lease)| {
            let hash_before_next = match active_leaf {
                None => Some(paths::start(settings.system_prompt.as_deref())),
                Some(_) => leaf_hash,
            };
            ChatStartRead {
                user_id,
                active_leaf,
                settings,
                lease,
                hash_before_next,
            }
        }),
    )
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

/// `title_source` of a name the user gave.
pub const TITLE_BY_USER: &str = "user";

/// A conversation's row and settings together.
pub(crate) fn with_settings(
    conn: &mut Conn,
    conversation_id: i64,
) -> QueryResult<Option<(ConversationRow, ConversationSettingsRow)>> {
    on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select((ConversationRow::as_select(), ConversationSettingsRow::as_select()))
        .first(c)
        .optional())
}

/// See [`Store::update_conversation`]; runs inside one transaction.
fn update(
    conn: &mut Conn,
    conversation_id: i64,
    change: &SettingsChange,
) -> QueryResult<Option<(ConversationRow, ConversationSettingsRow)>> {
    // diesel refuses an UPDATE with nothing to set; an empty change is a read.
    if !change.is_empty() {
        let changed = on_conn!(conn, c => diesel::update(conversations::table.find(conversation_id))
            .set(change)
            .execute(c))?;
        if changed == 0 {
            return Ok(None);
        }
        // The system prompt begins every message's path.
        if change.system_prompt.is_some() {
            paths::rehash(conn, conversation_id)?;
        }
    }
    with_settings(conn, conversation_id)
}

/// What a title is made from: the name (a conversation that has one gets no title) and
/// the user's first message.
fn title_inputs(
    conn: &mut Conn,
    paths: &KnownPaths,
    conversation_id: i64,
) -> QueryResult<Option<TitleInputs>> {
    let Some(conversation) = by_id(conn, conversation_id)? else {
        return Ok(None);
    };
    // The first user message of the active path: its root, unless an edit replaced it.
    let path = match conversation.active_leaf_id {
        Some(leaf) => paths.path_to(conn, leaf, i64::MAX)?,
        None => Vec::new(),
    };
    let first_user_message = tree::rows(conn, &path[..path.len().min(2)])?
        .into_iter()
        .find(|row| row.role == Role::User)
        .map(|row| row.content);
    Ok(Some(TitleInputs {
        user_id: conversation.user_id,
        name: conversation.name,
        first_user_message,
    }))
}

/// Names a conversation that has no name; whether it did. The one conditional UPDATE is
/// what lets a name the user sets while a title is being made win.
fn set_title(
    conn: &mut Conn,
    conversation_id: i64,
    title: &str,
    source: &str,
) -> QueryResult<bool> {
    let unnamed = conversations::table
        .filter(conversations::id.eq(conversation_id))
        .filter(conversations::name.is_null());
    let changed = on_conn!(conn, c => diesel::update(unnamed)
        .set((
            conversations::name.eq(title),
            conversations::title_source.eq(source),
        ))
        .execute(c))?;
    Ok(changed == 1)
}

/// One page of a user's conversations, oldest first.
pub(crate) fn of_user(
    conn: &mut Conn,
    user_id: i64,
    skip: i64,
    limit: i64,
) -> QueryResult<Vec<ListedConversationRow>> {
    on_conn!(conn, c => {
        let rows = conversations::table
            .filter(conversations::user_id.eq(user_id))
            .order(conversations::id.asc())
            .offset(skip)
            .limit(limit)
            .select(ListedConversationRow::as_select())
            .load_iter::<_, diesel::connection::DefaultLoadingMode>(c)?;
        // Sized once: a page is at most `limit` rows, and growing the vector in steps
        // showed in the list read's profile.
        let mut page = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(1000));
        for row in rows {
            page.push(row?);
        }
        Ok(page)
    })
}

/// A conversation whose active path is kept and whose messages `known` has, every one:
/// one statement, so no transaction (`None` otherwise, and for a conversation that does
/// not exist, which the whole read then answers). The path and the messages never
/// change, so they go with whichever row the statement read. This is every read of a
/// conversation unchanged since the last, and saves SQLite's BEGIN and COMMIT, parsed
/// and run each time.
fn with_everything_known<T>(
    conn: &mut Conn,
    paths: &KnownPaths,
    conversation_id: i64,
    known: &impl Fn(&[i64]) -> Vec<Option<T>>,
) -> QueryResult<Option<(ConversationRow, Vec<KnownOrRow<T>>)>> {
    let Some(conversation) = by_id(conn, conversation_id)? else {
        return Ok(None);
    };
    let ids = match conversation.active_leaf_id {
        Some(leaf) => match paths.kept(leaf) {
            Some(ids) => ids,
            None => return Ok(None),
        },
        None => return Ok(Some((conversation, Vec::new()))),
    };
    let found = known(&ids);
    let mut parts = Vec::with_capacity(found.len());
    for kept in found {
        match kept {
            Some(kept) => parts.push(KnownOrRow::Known(kept)),
            None => return Ok(None),
        }
    }
    Ok(Some((conversation, parts)))
}

/// See [`Store::conversation_with_known_messages`]; the caller runs it in one read
/// transaction.
pub(crate) fn with_known_messages<T>(
    conn: &mut Conn,
    paths: &KnownPaths,
    conversation_id: i64,
    known: impl Fn(&[i64]) -> Vec<Option<T>>,
) -> QueryResult<Option<(ConversationRow, Vec<KnownOrRow<T>>)>> {
    let Some(conversation) = by_id(conn, conversation_id)? else {
        return Ok(None);
    };
    // The active path, which is in id order (a parent is older than its children),
    // from the leaf the row just read names: one round trip less than `active_path`.
    let ids = match conversation.active_leaf_id {
        Some(leaf) => paths.path_to(conn, leaf, i64::MAX)?,
        None => Vec::new(),
    };
    let found = known(&ids);
    let unknown: Vec<i64> = ids
        .iter()
        .zip(&found)
        .filter(|(_, have)| have.is_none())
        .map(|(id, _)| *id)
        .collect();
    let mut rows = tree::rows(conn, &unknown)?.into_iter().peekable();
    let mut parts = Vec::with_capacity(ids.len());
    for (id, have) in ids.into_iter().zip(found) {
        while rows.next_if(|row| row.id < id).is_some() {}
        match (have, rows.next_if(|row| row.id == id)) {
            (Some(kept), _) => parts.push(KnownOrRow::Known(kept)),
            (None, Some(row)) => parts.push(KnownOrRow::Row(row)),
            // The message was deleted between the two statements, possible under
            // PostgreSQL's READ COMMITTED (a row the second statement sees but the first
            // did not is skipped above): a message that is gone is left out.
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
        self.create_conversation_with(user_id, name, ConversationSettingsRow::default())
            .await
    }

    /// A new conversation with its own settings (`title_source` is set from `name`);
    /// `None` when the user does not exist.
    pub async fn create_conversation_with(
        &self,
        user_id: i64,
        name: Option<String>,
        settings: ConversationSettingsRow,
    ) -> Result<Option<ConversationRow>, StoreError> {
        self.write(move |conn| Ok(insert(conn, user_id, name.as_deref(), &settings)?))
            .await
    }

    /// A conversation's row alone, in one statement; `None` when it does not exist.
    pub async fn conversation(
        &self,
        conversation_id: i64,
    ) -> Result<Option<ConversationRow>, StoreError> {
        self.read(move |conn| Ok(by_id(conn, conversation_id)?))
            .await
    }

    /// A conversation and its own settings; `None` when it does not exist.
    pub async fn conversation_settings(
        &self,
        conversation_id: i64,
    ) -> Result<Option<(ConversationRow, ConversationSettingsRow)>, StoreError> {
        self.read(move |conn| Ok(with_settings(conn, conversation_id)?))
            .await
    }

    /// Changes a conversation's name and settings and reads them back, in one
    /// transaction; `None` when it does not exist (and nothing changed).
    pub async fn update_conversation(
        &self,
        conversation_id: i64,
        change: SettingsChange,
    ) -> Result<Option<(ConversationRow, ConversationSettingsRow)>, StoreError> {
        self.write_transaction(move |conn| update(conn, conversation_id, &change))
            .await
    }

    /// What a title for the conversation is made from; `None` when it does not exist.
    pub async fn title_inputs(
        &self,
        conversation_id: i64,
    ) -> Result<Option<TitleInputs>, StoreError> {
        let paths = self.paths.clone();
        self.read(move |conn| {
            Ok(conn.read_together(|conn| title_inputs(conn, &paths, conversation_id))?)
        })
        .await
    }

    /// Gives an unnamed conversation `title`, made as `source` says (`first_line` or
    /// `model`); false when it has a name by now, or is gone.
    pub async fn set_title(
        &self,
        conversation_id: i64,
        title: String,
        source: &'static str,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| Ok(set_title(conn, conversation_id, &title, source)?))
            .await
    }

    /// One page of a user's conversations, oldest first; empty for an unknown user.
    pub async fn conversations_of_user(
        &self,
        user_id: i64,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<ListedConversationRow>, StoreError> {
        self.read(move |conn| Ok(of_user(conn, user_id, skip, limit)?))
            .await
    }

    /// A conversation and the messages of its active path (root first, so in id order),
    /// for a caller that keeps messages
    /// it has already rendered: `known` gets the message ids and returns what it has
    /// for each, and only the other rows are read. Messages never change once stored,
    /// and a deleted message's id is never given to another (SQLite's AUTOINCREMENT,
    /// PostgreSQL's sequences), so what the caller kept for an id stays right. Read
    /// together (`Conn::read_together`), unless one statement answers it
    /// (`with_everything_known`); `known` may then be asked twice.
    pub async fn conversation_with_known_messages<T, K>(
        &self,
        conversation_id: i64,
        known: K,
    ) -> Result<Option<(ConversationRow, Vec<KnownOrRow<T>>)>, StoreError>
    where
        T: Send + 'static,
        K: Fn(&[i64]) -> Vec<Option<T>> + Send + 'static,
    {
        let paths = self.paths.clone();
        self.read(move |conn| {
            if let Some(answer) = with_everything_known(conn, &paths, conversation_id, &known)? {
                return Ok(Some(answer));
            }
            Ok(conn
                .read_together(|conn| with_known_messages(conn, &paths, conversation_id, &known))?)
        })
        .await
    }
}
