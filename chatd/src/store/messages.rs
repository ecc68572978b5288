//! The `messages` table: the one insert every message goes through, and the two writes
//! of a chat, its start (the user's message, under the reply lease) and its end (the
//! assistant's message, giving the lease up).

use std::sync::Arc;

use chrono::NaiveDateTime;
use common::{MessageStatus, Role};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::idempotency::{self, KeptAnswer, KeyLookup};
use super::schema::messages;
use super::{
    BeginChat, ChatStart, Conn, FinishedReply, LeaseJudge, MessageDetails, MessageRow, Store,
    StoreError, StoredReply, UserTurn, conversations, lease, now, on_conn, paths,
};

/// A message to store. `id` is `None` except when copying a database, which keeps ids.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct NewMessage<'a> {
    pub id: Option<i64>,
    pub conversation_id: i64,
    pub role: &'a str,
    pub content: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    pub details: MessageDetails,
    /// The message's path hash (`paths.rs`) when it is known already (a copied row);
    /// `None` has `insert` make it from the conversation's last message.
    #[diesel(skip_insertion)]
    pub path_hash: Option<String>,
}

impl<'a> NewMessage<'a> {
    /// A message stored now.
    pub fn now(
        conversation_id: i64,
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
            paths::of_new(conn, message.conversation_id, role, message.content)?
        }
    };
    on_conn!(conn, c => diesel::insert_into(messages::table)
        .values((message, messages::path_hash.eq(path_hash)))
        .returning(MessageRow::as_returning())
        .get_result(c))
}

/// Whether an assistant message already follows the user message `user_message_id`.
pub(crate) fn answered(
    conn: &mut Conn,
    conversation_id: i64,
    user_message_id: i64,
) -> QueryResult<bool> {
    let count: i64 = on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::id.gt(user_message_id))
        .filter(messages::role.eq(Role::Assistant.as_str()))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// The last `limit` messages of a conversation, oldest first.
pub(crate) fn latest(
    conn: &mut Conn,
    conversation_id: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut history: Vec<MessageRow> = on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::id.desc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(c))?;
    history.reverse();
    Ok(history)
}

/// The id of a conversation's last message, if it has one.
pub(crate) fn last_id(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<i64>> {
    on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::id.desc())
        .select(messages::id)
        .first(c)
        .optional())
}

/// A message by id, with the message after it in its conversation.
fn with_next(conn: &mut Conn, id: i64) -> QueryResult<Option<(MessageRow, Option<MessageRow>)>> {
    let Some(message): Option<MessageRow> = on_conn!(conn, c => messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(c)
        .optional())?
    else {
        return Ok(None);
    };
    let next = on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(message.conversation_id))
        .filter(messages::id.gt(id))
        .order(messages::id.asc())
        .select(MessageRow::as_select())
        .first(c)
        .optional())?;
    Ok(Some((message, next)))
}

/// See [`Store::begin_chat`]; runs inside one transaction.
pub(crate) fn begin_chat(
    conn: &mut Conn,
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
    let Some(user_id) = conversations::owner(conn, conversation_id)? else {
        return Ok(BeginChat::NoConversation);
    };
    if let Some(held) = lease::of(conn, conversation_id)? {
        if !judge.is_dead(&held) {
            return Ok(BeginChat::Busy);
        }
        lease::take_over(conn, &held)?;
    }
    if let Some(expected) = turn.after
        && last_id(conn, conversation_id)? != expected
    {
        return Ok(BeginChat::Moved);
    }
    let Some((last, earlier)) = turn.contents.split_last() else {
        return Err(DieselError::RollbackTransaction);
    };
    for content in earlier {
        insert(
            conn,
            &NewMessage::now(
                conversation_id,
                Role::User,
                content,
                MessageStatus::Complete,
            ),
        )?;
    }
    let user_message = insert(
        conn,
        &NewMessage::now(conversation_id, Role::User, last, MessageStatus::Complete),
    )?;
    lease::take(conn, conversation_id, user_message.id, judge.owner())?;
    if let Some(key) = &turn.key {
        let answer = KeptAnswer {
            status: 200,
            body: None,
            user_message_id: Some(user_message.id),
        };
        idempotency::keep(conn, key, &answer)?;
    }
    let history = latest(conn, conversation_id, history_limit.max(1))?;
    let settings = conversations::settings(conn, conversation_id)?;
    Ok(BeginChat::Started(ChatStart {
        user_message,
        history,
        settings,
        user_id,
    }))
}

/// See [`Store::insert_assistant_message`]; runs inside one transaction.
pub(crate) fn finish_reply(conn: &mut Conn, reply: &FinishedReply) -> QueryResult<StoredReply> {
    // The lease of this very reply, whoever holds it now: a reply kept across a restart
    // was leased by the process that generated it.
    lease::release_for(conn, reply.conversation_id, reply.user_message_id)?;
    if !conversations::exists(conn, reply.conversation_id)? {
        return Ok(StoredReply::NoConversation);
    }
    if answered(conn, reply.conversation_id, reply.user_message_id)? {
        return Ok(StoredReply::AlreadyAnswered);
    }
    let row = insert(
        conn,
        &NewMessage {
            details: reply.details.clone(),
            ..NewMessage::now(
                reply.conversation_id,
                Role::Assistant,
                &reply.content,
                reply.status,
            )
        },
    )?;
    Ok(StoredReply::Inserted(row))
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
        let result = self
            .write_transaction(move |conn| {
                begin_chat(conn, conversation_id, &turn, history_limit, &*judge)
            })
            .await;
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
        match result {
            // Two processes took the free lease at once: the loser's transaction is
            // rolled back whole, and its chat is the 409.
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

    /// A message and the one after it in its conversation (a user message and its
    /// answer, for the front door's responses); `None` when there is no such message.
    pub async fn message_with_next(
        &self,
        id: i64,
    ) -> Result<Option<(MessageRow, Option<MessageRow>)>, StoreError> {
        self.read(move |conn| Ok(conn.transaction(|conn| with_next(conn, id))?))
            .await
    }

    /// A conversation's last turn when it ends with an answer: the user message and the
    /// assistant message after it.
    pub async fn last_answered_turn(
        &self,
        conversation_id: i64,
    ) -> Result<Option<(MessageRow, MessageRow)>, StoreError> {
        self.read(move |conn| {
            let mut last = latest(conn, conversation_id, 2)?;
            let answer = last.pop();
            let question = last.pop();
            Ok(match (question, answer) {
                (Some(question), Some(answer))
                    if question.role == Role::User && answer.role == Role::Assistant =>
                {
                    Some((question, answer))
                }
                _ => None,
            })
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
                insert(
                    conn,
                    &NewMessage::now(conversation_id, *role, content, MessageStatus::Complete),
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Stores an assistant reply once it has ended, with how it ended, and gives up its
    /// lease in the same transaction. Idempotent: a reply whose user message already
    /// has an answer is not stored again, so a write retried after a failure whose
    /// outcome was unknown (a lost connection at COMMIT) cannot duplicate it.
    pub async fn insert_assistant_message(
        &self,
        reply: FinishedReply,
    ) -> Result<StoredReply, StoreError> {
        let result = self
            .write_transaction(move |conn| finish_reply(conn, &reply))
            .await;
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
