//! The `messages` table: the one insert every message goes through, and the two writes
//! of a chat, its start (the user's message, under the reply lease, after the active
//! leaf or beside an edited message; or, for a regenerate, none) and its end (the
//! assistant's message, giving the lease up). Each write that adds a message moves the
//! conversation's active leaf to it (`tree.rs`), in the same transaction.

use std::sync::Arc;

use chrono::NaiveDateTime;
use common::{MessageStatus, Role};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::idempotency::{self, KeptAnswer, KeyLookup};
use super::known_paths::KnownPaths;
use super::known_texts::{KnownTexts, Said};
use super::schema::messages;
use super::{
    BeginChat, ChatStart, Conn, FinishedReply, LeaseJudge, MessageDetails, MessageRow, Store,
    StoreError, StoredReply, UserTurn, conversations, lease, now, on_conn, paths, tree,
};
use super::{Branch, BranchRefusal};

/// A message to store. `id` is `None` except when copying a database, which keeps ids.
///
/// Every `None` is bound as NULL (the columns' default) rather than written as
/// `DEFAULT`, so that the insert is one fixed statement that diesel prepares once per
/// connection; `id` is therefore not inserted from here but by `insert`, which names it
/// only when it is given.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(crate) struct NewMessage<'a> {
    #[diesel(skip_insertion)]
    pub id: Option<i64>,
    pub conversation_id: i64,
    pub role: &'a str,
    pub content: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    pub details: MessageDetails,
    /// The message it follows (`None`: a root).
    pub parent_id: Option<i64>,
    /// The message's path hash (`paths.rs`) when it is known already (a copied row);
    /// `None` has `insert` make it from its parent's.
    #[diesel(skip_insertion)]
    pub path_hash: Option<String>,
}

impl<'a> NewMessage<'a> {
    /// A message stored now, after `parent_id`.
    pub fn now(
        conversation_id: i64,
        parent_id: Option<i64>,
        role: Role,
        content: &'a str,
        status: MessageStatus,
    ) -> NewMessage<'a> {
        NewMessage {
            id: None,
            conversation_id,
            role: role.as_str(),
            content,
            status: status.as_str(),
            created_at: now(),
            details: MessageDetails::NONE,
            parent_id,
            path_hash: None,
        }
    }
}

pub(crate) fn insert(conn: &mut Conn, message: &NewMessage) -> QueryResult<MessageRow> {
    let path_hash = match &message.path_hash {
        Some(known) => Some(known.clone()),
        None => {
            let role = if message.role == Role::Assistant.as_str() {
                Role::Assistant
            } else {
                Role::User
            };
            paths::of_new(
                conn,
                message.conversation_id,
                message.parent_id,
                role,
                message.content,
            )?
        }
    };
    match message.id {
        // A copied row keeps its id (rare: `migrate-data` only).
        Some(id) => on_conn!(conn, c => diesel::insert_into(messages::table)
            .values((messages::id.eq(id), message, messages::path_hash.eq(&path_hash)))
            .returning(MessageRow::as_returning())
            .get_result(c)),
        None => on_conn!(conn, c => diesel::insert_into(messages::table)
            .values((message, messages::path_hash.eq(&path_hash)))
            .returning(MessageRow::as_returning())
            .get_result(c)),
    }
}

/// Stores a message after the conversation's active leaf and makes it the active leaf.
pub(crate) fn append(
    conn: &mut Conn,
    conversation_id: i64,
    role: Role,
    content: &str,
    status: MessageStatus,
) -> QueryResult<MessageRow> {
    let parent = tree::active_leaf(conn, conversation_id)?;
    let row = insert(
        conn,
        &NewMessage::now(conversation_id, parent, role, content, status),
    )?;
    tree::set_active_leaf(conn, conversation_id, Some(row.id))?;
    Ok(row)
}

/// The last `limit` messages of a conversation's active path, oldest first; in a read.
pub(crate) fn latest(
    conn: &mut Conn,
    paths: &KnownPaths,
    conversation_id: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    match tree::active_leaf(conn, conversation_id)? {
        Some(leaf) => tree::path_rows(conn, paths, leaf, limit),
        None => Ok(Vec::new()),
    }
}

/// A message by id, with its first reply (a user message and its answer, for the
/// front door's responses).
fn with_next(conn: &mut Conn, id: i64) -> QueryResult<Option<(MessageRow, Option<MessageRow>)>> {
    let Some(message): Option<MessageRow> = on_conn!(conn, c => messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(c)
        .optional())?
    else {
        return Ok(None);
    };
    let next = tree::reply(conn, id, 0)?;
    Ok(Some((message, next)))
}

/// The parent an edit of the user message `edited` gets (its own), once it is known to
/// be a user message of `conversation_id`.
fn parent_of_edit(
    conn: &mut Conn,
    conversation_id: i64,
    edited: i64,
) -> QueryResult<Result<Option<i64>, BranchRefusal>> {
    Ok(match tree::placement(conn, edited)? {
        None => Err(BranchRefusal::Unknown),
        Some((of, _, _)) if of != conversation_id => Err(BranchRefusal::OtherConversation),
        Some((_, _, role)) if role != Role::User.as_str() => Err(BranchRefusal::WrongRole),
        Some((_, parent, _)) => Ok(parent),
    })
}

/// Takes the conversation's reply lease, taking a dead holder's over; `false` when a
/// live holder has it.
fn take_free_lease(
    conn: &mut Conn,
    conversation_id: i64,
    judge: &dyn LeaseJudge,
) -> QueryResult<bool> {
    if let Some(held) = lease::of(conn, conversation_id)? {
        if !judge.is_dead(&held) {
            return Ok(false);
        }
        lease::take_over(conn, &held)?;
    }
    Ok(true)
}

/// See [`Store::begin_chat`]; runs inside one transaction.
pub(crate) fn begin_chat(
    conn: &mut Conn,
    paths: &KnownPaths,
    texts: &KnownTexts,
    conversation_id: i64,
    turn: &UserTurn,
    history_limit: i64,
    judge: &dyn LeaseJudge,
) -> QueryResult<BeginChat> {
    if let Some(key) = &turn.key {
        match idempotency::look_up(conn, key)? {
            KeyLookup::New => {}
            seen => return Ok(BeginChat::Seen(seen)),
        }
    }
    let Some(start) = conversations::for_chat_start(conn, conversation_id)? else {
        return Ok(BeginChat::NoConversation);
    };
    // Checked before the lease is taken over, so a refused edit stores nothing at all.
    let edit_parent = match turn.branch {
        Branch::Continue => None,
        Branch::EditOf(edited) => match parent_of_edit(conn, conversation_id, edited)? {
            Ok(parent) => Some(parent),
            Err(refusal) => return Ok(BeginChat::NoBranch(refusal)),
        },
    };
    let mut leaf = start.active_leaf;
    let mut hash_before_leaf_next = start.hash_before_next.clone();
    if let Some(held) = &start.lease {
        if !judge.is_dead(held) {
            return Ok(BeginChat::Busy);
        }
        // A dead holder's reply with text is stored now, after the leaf it read.
        if lease::take_over(conn, held)? {
            leaf = tree::active_leaf(conn, conversation_id)?;
            hash_before_leaf_next = None;
        }
    }
    if let Some(expected) = turn.after
        && leaf != expected
    {
        return Ok(BeginChat::Moved);
    }
    let Some((last, earlier)) = turn.contents.split_last() else {
        return Err(DieselError::RollbackTransaction);
    };
    // Each message's path hash is made from its parent's when that is known here (the
    // leaf's, as the start read it, then each one's just made); else `insert` reads it.
    let (mut parent, mut hash_above) = match edit_parent {
        Some(parent) => (parent, None),
        None => (leaf, hash_before_leaf_next),
    };
    let mut user_turn = |parent: Option<i64>, above: Option<String>, content: &str| {
        let path_hash = above.map(|above| paths::next(&above, Role::User, content));
        let message = NewMessage {
            path_hash: path_hash.clone(),
            ..NewMessage::now(
                conversation_id,
                parent,
                Role::User,
                content,
                MessageStatus::Complete,
            )
        };
        insert(conn, &message).map(|row| (row, path_hash))
    };
    for content in earlier {
        let (row, hash) = user_turn(parent, hash_above, content)?;
        (parent, hash_above) = (Some(row.id), hash);
    }
    let (user_message, _) = user_turn(parent, hash_above, last)?;
    tree::set_active_leaf(conn, conversation_id, Some(user_message.id))?;
    lease::take(conn, conversation_id, user_message.id, 0, judge.owner())?;
    if let Some(key) = &turn.key {
        let answer = KeptAnswer {
            status: 200,
            body: None,
            user_message_id: Some(user_message.id),
        };
        idempotency::keep(conn, key, &answer)?;
    }
    let (history, unkept) = texts.history(
        conn,
        paths,
        user_message.id,
        history_limit.max(1),
        &user_message,
    )?;
    Ok(BeginChat::Started(ChatStart {
        user_message,
        reply_index: 0,
        history,
        unkept,
        settings: start.settings,
        user_id: start.user_id,
    }))
}

/// The user message a regenerate answers again: the parent of the assistant message
/// `message_id`, or, without one, the active leaf's (an assistant message) or the
/// active leaf itself (a user message the path leaves unanswered).
fn regenerated(
    conn: &mut Conn,
    conversation_id: i64,
    message_id: Option<i64>,
) -> QueryResult<Result<i64, BranchRefusal>> {
    let named = match message_id {
        Some(id) => id,
        None => match tree::active_leaf(conn, conversation_id)? {
            Some(leaf) => leaf,
            None => return Ok(Err(BranchRefusal::Empty)),
        },
    };
    let Some((of, parent, role)) = tree::placement(conn, named)? else {
        return Ok(Err(BranchRefusal::Unknown));
    };
    if of != conversation_id {
        return Ok(Err(BranchRefusal::OtherConversation));
    }
    if role == Role::Assistant.as_str() {
        // An assistant message always follows a user message.
        return Ok(parent.ok_or(BranchRefusal::WrongRole));
    }
    // A user message named is refused: its replies are what is named. A path that ends
    // at one (its reply failed before its first token, or a regenerate of it did) has
    // it answered again.
    if message_id.is_some() {
        return Ok(Err(BranchRefusal::WrongRole));
    }
    Ok(Ok(named))
}

/// See [`Store::begin_regenerate`]; runs inside one transaction.
pub(crate) fn begin_regenerate(
    conn: &mut Conn,
    paths: &KnownPaths,
    texts: &KnownTexts,
    conversation_id: i64,
    message_id: Option<i64>,
    history_limit: i64,
    judge: &dyn LeaseJudge,
) -> QueryResult<BeginChat> {
    let Some(user_id) = conversations::owner(conn, conversation_id)? else {
        return Ok(BeginChat::NoConversation);
    };
    if !take_free_lease(conn, conversation_id, judge)? {
        return Ok(BeginChat::Busy);
    }
    // Read after the take-over, which may have stored a dead holder's reply.
    let user_message_id = match regenerated(conn, conversation_id, message_id)? {
        Ok(id) => id,
        Err(refusal) => return Ok(BeginChat::NoBranch(refusal)),
    };
    let reply_index = i32::try_from(tree::reply_count(conn, user_message_id)?).unwrap_or(i32::MAX);
    tree::set_active_leaf(conn, conversation_id, Some(user_message_id))?;
    lease::take(
        conn,
        conversation_id,
        user_message_id,
        reply_index,
        judge.owner(),
    )?;
    let Some(user_message) = tree::rows(conn, &[user_message_id])?.pop() else {
        return Err(DieselError::RollbackTransaction);
    };
    let (history, unkept) = texts.history(
        conn,
        paths,
        user_message_id,
        history_limit.max(1),
        &user_message,
    )?;
    let settings = conversations::settings(conn, conversation_id)?;
    Ok(BeginChat::Started(ChatStart {
        user_message,
        reply_index,
        history,
        unkept,
        settings,
        user_id,
    }))
}

/// A chat's start that lost a race, as the chat's answer.
fn lease_race(result: Result<BeginChat, StoreError>) -> Result<BeginChat, StoreError> {
    match result {
        // Two processes took the free lease at once: the loser's transaction is rolled
        // back whole, and its chat is the 409.
        Err(StoreError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(BeginChat::Busy),
        // The conversation was deleted after this transaction saw it (PostgreSQL's
        // READ COMMITTED): rolled back whole, and the chat is the 404.
        Err(StoreError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            _,
        ))) => Ok(BeginChat::NoConversation),
        other => other,
    }
}

/// See [`Store::insert_assistant_message`]; runs inside one transaction.
pub(crate) fn finish_reply(conn: &mut Conn, reply: &FinishedReply) -> QueryResult<StoredReply> {
    // The lease of this very reply, whoever holds it now: a reply kept across a restart
    // was leased by the process that generated it.
    lease::release_for(
        conn,
        reply.conversation_id,
        reply.user_message_id,
        reply.reply_index,
    )?;
    // The user message was deleted while the reply ran, with its turn (a peer's delete)
    // or with its conversation: the reply has nowhere to go.
    let Some(asked) = tree::answering(conn, reply.user_message_id)? else {
        return Ok(StoredReply::NoConversation);
    };
    // Replies of one message are made one at a time, so this one is stored when its
    // message has more replies than its index.
    if asked.replies > i64::from(reply.reply_index) {
        return Ok(StoredReply::AlreadyAnswered);
    }
    let row = store_reply(
        conn,
        reply.conversation_id,
        (reply.user_message_id, asked.path_hash),
        &reply.content,
        reply.status,
        reply.details.clone(),
    )?;
    Ok(StoredReply::Inserted(row))
}

/// Stores a reply to the user message `asked` (its id and path hash, as read in this
/// transaction; `None` for a row from before path hashes) and makes it the active leaf
/// when the path still ends at that message (nothing else moved it meanwhile).
pub(crate) fn store_reply(
    conn: &mut Conn,
    conversation_id: i64,
    asked: (i64, Option<String>),
    content: &str,
    status: MessageStatus,
    details: MessageDetails,
) -> QueryResult<MessageRow> {
    let (user_message_id, asked_hash) = asked;
    let row = insert(
        conn,
        &NewMessage {
            details,
            path_hash: asked_hash.map(|above| paths::next(&above, Role::Assistant, content)),
            ..NewMessage::now(
                conversation_id,
                Some(user_message_id),
                Role::Assistant,
                content,
                status,
            )
        },
    )?;
    tree::advance_active_leaf(conn, conversation_id, user_message_id, row.id)?;
    Ok(row)
}

impl Store {
    /// Starts a chat: takes the conversation's reply lease (unless `judge` finds its
    /// holder alive), stores the user's message(s) of `turn`, and returns the last with
    /// the history a provider needs: the last `history_limit` messages, oldest first,
    /// the new ones included. A turn that expects another last message than the
    /// conversation has (`turn.after`) is `Moved`. One transaction, so a refused chat
    /// stores nothing.
    pub async fn begin_chat(
        &self,
        conversation_id: i64,
        turn: UserTurn,
        history_limit: i64,
        judge: Arc<dyn LeaseJudge>,
    ) -> Result<BeginChat, StoreError> {
        let key = turn.key.clone();
        let paths = self.paths.clone();
        let texts = self.texts.clone();
        let result = self
            .write_transaction(move |conn| {
                begin_chat(
                    conn,
                    &paths,
                    &texts,
                    conversation_id,
                    &turn,
                    history_limit,
                    &*judge,
                )
            })
            .await
            .map(|begun| self.keep_history(begun));
        // A concurrent chat with the same key (another process) won the race: answer
        // as it did.
        if let (Err(error), Some(key)) = (&result, key)
            && idempotency::is_race(error)
        {
            match self.look_up_key(key).await? {
                KeyLookup::New => {}
                seen => return Ok(BeginChat::Seen(seen)),
            }
        }
        lease_race(result)
    }

    /// Starts a regenerate: takes the conversation's reply lease as
    /// [`Store::begin_chat`] does and, with no new message, answers again the user
    /// message of the assistant message `message_id` (by default the active leaf's, or
    /// the active leaf itself when it is a user message without a reply). The user
    /// message becomes the active leaf until the new reply is stored. One transaction.
    pub async fn begin_regenerate(
        &self,
        conversation_id: i64,
        message_id: Option<i64>,
        history_limit: i64,
        judge: Arc<dyn LeaseJudge>,
    ) -> Result<BeginChat, StoreError> {
        let paths = self.paths.clone();
        let texts = self.texts.clone();
        let result = self
            .write_transaction(move |conn| {
                begin_regenerate(
                    conn,
                    &paths,
                    &texts,
                    conversation_id,
                    message_id,
                    history_limit,
                    &*judge,
                )
            })
            .await
            .map(|begun| self.keep_history(begun));
        lease_race(result)
    }

    /// Keeps the texts a started chat read, now that its transaction has committed.
    fn keep_history(&self, mut begun: BeginChat) -> BeginChat {
        if let BeginChat::Started(start) = &mut begun {
            std::mem::take(&mut start.unkept).keep(&self.texts, &self.paths);
        }
        begun
    }

    /// A message and its first reply (a user message and its answer, for the front
    /// door's responses); `None` when there is no such message.
    pub async fn message_with_next(
        &self,
        id: i64,
    ) -> Result<Option<(MessageRow, Option<MessageRow>)>, StoreError> {
        self.read(move |conn| Ok(conn.transaction(|conn| with_next(conn, id))?))
            .await
    }

    /// A user message and its reply `index` (0: the first), if it has one; `None` when
    /// there is no such message.
    pub async fn message_with_reply(
        &self,
        id: i64,
        index: i32,
    ) -> Result<Option<(MessageRow, Option<MessageRow>)>, StoreError> {
        self.read(move |conn| {
            Ok(conn.transaction(|conn| {
                let Some(message) = tree::rows(conn, &[id])?.pop() else {
                    return Ok(None);
                };
                let answer = tree::reply(conn, id, index)?;
                Ok(Some((message, answer)))
            })?)
        })
        .await
    }

    /// A conversation's last turn when its active path ends with an answer: the user
    /// message, the assistant message after it, and which of the user message's
    /// replies that is.
    pub async fn last_answered_turn(
        &self,
        conversation_id: i64,
    ) -> Result<Option<(MessageRow, MessageRow, i32)>, StoreError> {
        let paths = self.paths.clone();
        self.read(move |conn| {
            conn.transaction(|conn| {
                let mut last = latest(conn, &paths, conversation_id, 2)?;
                let answer = last.pop();
                let question = last.pop();
                Ok(match (question, answer) {
                    (Some(question), Some(answer))
                        if question.role == Role::User && answer.role == Role::Assistant =>
                    {
                        let index = tree::index_of_reply(conn, question.id, answer.id)?;
                        Some((question, answer, index))
                    }
                    _ => None,
                })
            })
            .map_err(StoreError::from)
        })
        .await
    }

    /// Stores messages that were said elsewhere (the earlier turns of a history an
    /// OpenAI client brought) on a conversation, oldest first, in one transaction.
    pub async fn seed_messages(
        &self,
        conversation_id: i64,
        messages: Vec<(Role, String)>,
    ) -> Result<(), StoreError> {
        self.write_transaction(move |conn| {
            for (role, content) in &messages {
                append(
                    conn,
                    conversation_id,
                    *role,
                    content,
                    MessageStatus::Complete,
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Stores an assistant reply once it has ended, with how it ended, and gives up its
    /// lease in the same transaction. Idempotent per reply (its user message and its
    /// `reply_index`): a reply stored already is not stored again, so a write retried
    /// after a failure whose outcome was unknown (a lost connection at COMMIT) cannot
    /// duplicate it.
    pub async fn insert_assistant_message(
        &self,
        reply: FinishedReply,
    ) -> Result<StoredReply, StoreError> {
        let result = self
            .write_transaction(move |conn| finish_reply(conn, &reply))
            .await;
        // Committed: the next chat of the conversation finds its path and sends its
        // text without reading either.
        if let Ok(StoredReply::Inserted(row)) = &result {
            self.texts.keep([Said::of(row)]);
            if let Some(parent) = row.parent_id {
                self.paths.keep_child(parent, row.id);
            }
        }
        match result {
            // The conversation was deleted after this transaction saw it (PostgreSQL's
            // READ COMMITTED): the reply has nowhere to go, which is no storage fault
            // to retry.
            Err(StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _,
            ))) => Ok(StoredReply::NoConversation),
            other => other,
        }
    }
}
