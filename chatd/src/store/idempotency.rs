//! The `idempotency_keys` table: what a request sent with an `Idempotency-Key` answered,
//! kept 24 hours, so that its repeat is answered the same way and stores nothing twice.
//! The key is looked up and kept inside the transaction that stores what the request
//! makes; when two processes race (PostgreSQL), the loser's transaction fails on the
//! key's primary key (or on what the winner inserted) and its caller looks the key up
//! again, finding the winner's answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::Conn;
use super::schema::idempotency_keys;
use super::{
    ConversationRow, ConversationSettingsRow, CreateUserOutcome, Store, StoreError, UserRow,
    conversations, now, on_conn, users,
};

/// How long a key is kept.
pub const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A request's key: the route it was sent to, the client's key, and the request body's
/// fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub scope: &'static str,
    pub key: String,
    pub fingerprint: String,
}

/// What the first request with a key answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    /// The JSON body of a user or conversation created.
    pub body: Option<String>,
    /// The user message a chat stored.
    pub user_message_id: Option<i64>,
}

/// A key looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookup {
    /// Not seen (or expired): the request runs.
    New,
    /// Seen with the same body: answer as then.
    Repeat(KeptAnswer),
    /// Seen with another body.
    OtherBody,
}

/// The outcome of a keyed write: what it did, or what an earlier request with its key
/// answered.
#[derive(Debug)]
pub enum Keyed<T> {
    Fresh(T),
    Seen(KeyLookup),
}

#[derive(Queryable)]
struct KeyRow {
    fingerprint: String,
    status: i32,
    body: Option<String>,
    user_message_id: Option<i64>,
}

/// Deletes the expired keys, then looks `key` up.
pub(crate) fn look_up(conn: &mut Conn, key: &RequestKey) -> QueryResult<KeyLookup> {
    let cutoff: NaiveDateTime = now() - KEPT_FOR;
    on_conn!(conn, c => diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff))
    )
    .execute(c))?;
    let row: Option<KeyRow> = on_conn!(conn, c => idempotency_keys::table
        .filter(idempotency_keys::scope.eq(key.scope))
        .filter(idempotency_keys::idempotency_key.eq(&key.key))
        .select((
            idempotency_keys::fingerprint,
            idempotency_keys::status,
            idempotency_keys::body,
            idempotency_keys::user_message_id,
        ))
        .first(c)
        .optional())?;
    Ok(match row {
        None => KeyLookup::New,
        Some(row) if row.fingerprint != key.fingerprint => KeyLookup::OtherBody,
        Some(row) => KeyLookup::Repeat(KeptAnswer {
            status: u16::try_from(row.status).unwrap_or(200),
            body: row.body,
            user_message_id: row.user_message_id,
        }),
    })
}

/// Keeps what the request with `key` answered.
pub(crate) fn keep(conn: &mut Conn, key: &RequestKey, answer: &KeptAnswer) -> QueryResult<()> {
    on_conn!(conn, c => diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(key.scope),
            idempotency_keys::idempotency_key.eq(&key.key),
            idempotency_keys::fingerprint.eq(&key.fingerprint),
            idempotency_keys::status.eq(i32::from(answer.status)),
            idempotency_keys::body.eq(answer.body.as_deref()),
            idempotency_keys::user_message_id.eq(answer.user_message_id),
            idempotency_keys::created_at.eq(now()),
        ))
        .execute(c))?;
    Ok(())
}

/// A failed transaction that a concurrent request with the same key may explain.
pub(crate) fn is_race(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
            _
        ))
    )
}

impl Store {
    /// Looks a key up outside any write (a repeat needs no writer).
    pub async fn look_up_key(&self, key: RequestKey) -> Result<KeyLookup, StoreError> {
        self.write(move |conn| Ok(look_up(conn, &key)?)).await
    }

    /// Runs a write that answers a JSON body at most once per key: `work` makes it and
    /// answers the body to keep (or `None`: a failure, not kept), all in one
    /// transaction with the key's look-up.
    async fn once<T, W>(&self, key: RequestKey, work: W) -> Result<Keyed<T>, StoreError>
    where
        T: Send + 'static,
        W: FnOnce(&mut Conn) -> QueryResult<(T, Option<String>)> + Send + 'static,
    {
        let looked_up = key.clone();
        let result = self
            .write_transaction(move |conn| match look_up(conn, &key)? {
                KeyLookup::New => {
                    let (made, body) = work(conn)?;
                    if let Some(body) = body {
                        let answer = KeptAnswer {
                            status: 200,
                            body: Some(body),
                            user_message_id: None,
                        };
                        keep(conn, &key, &answer)?;
                    }
                    Ok(Keyed::Fresh(made))
                }
                seen => Ok(Keyed::Seen(seen)),
            })
            .await;
        match result {
            Err(error) if is_race(&error) => match self.look_up_key(looked_up).await? {
                KeyLookup::New => Err(error),
                seen => Ok(Keyed::Seen(seen)),
            },
            other => other,
        }
    }

    /// [`Store::create_user`] at most once per key; `render` makes the body kept.
    pub async fn create_user_once(
        &self,
        username: String,
        email: Option<String>,
        key: RequestKey,
        render: fn(&UserRow) -> String,
    ) -> Result<Keyed<CreateUserOutcome>, StoreError> {
        let looked_up = key.clone();
        let made = self
            .once(key, move |conn| {
                let outcome = users::insert(conn, &username, email.as_deref())?;
                let body = match &outcome {
                    CreateUserOutcome::Created(row) => Some(render(row)),
                    CreateUserOutcome::UsernameTaken => None,
                };
                Ok((outcome, body))
            })
            .await?;
        // Taken by a concurrent request with the same key (another process, whose
        // transaction this one waited for on the username's index)?
        if let Keyed::Fresh(CreateUserOutcome::UsernameTaken) = made {
            let seen = self.look_up_key(looked_up).await?;
            if seen != KeyLookup::New {
                return Ok(Keyed::Seen(seen));
            }
        }
        Ok(made)
    }

    /// [`Store::create_conversation_with`] at most once per key; `render` makes the
    /// body kept.
    pub async fn create_conversation_once(
        &self,
        user_id: i64,
        name: Option<String>,
        settings: ConversationSettingsRow,
        key: RequestKey,
        render: fn(&ConversationRow) -> String,
    ) -> Result<Keyed<Option<ConversationRow>>, StoreError> {
        self.once(key, move |conn| {
            let row = conversations::insert(conn, user_id, name.as_deref(), &settings)?;
            let body = row.as_ref().map(render);
            Ok((row, body))
        })
        .await
    }
}
