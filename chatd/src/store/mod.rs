//! The store owns every SQL statement chatd runs, on SQLite or PostgreSQL from one
//! codebase: one `schema.rs`, migrations of the same names per backend, and each query
//! written once and compiled for both concrete connections by `on_conn!`.
//!
//! diesel is synchronous. On SQLite, reads run inline and writes are batched on one
//! writer thread (`sqlite.rs` says why); on PostgreSQL, whose client blocks on the
//! network, every call runs on tokio's blocking pool with a pooled connection.
//!
//! SQLite is set up for a server: WAL so readers never wait for the writer, a
//! `busy_timeout` so a momentary lock (another process's write) is waited out instead of
//! failing, `foreign_keys=ON`.

pub mod columns;
pub mod fault;
pub mod schema;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use common::{MessageStatus, Role};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use fault::Fault;
use schema::{conversations, messages, reply_checkpoints, users};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A reply whose owner has not refreshed its lease for this long is taken to be dead.
pub const LEASE_STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How long a request waits for a pooled connection before it is told the database is
/// unavailable (503): long enough for a busy pool, short enough that a client whose
/// PostgreSQL went away hears so while it still waits.
const POOL_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not apply the database migrations: {0}")]
    Migrate(String),
    /// Storage cannot do it now, for a reason a person can fix or wait out: answered
    /// with the fault's documented status, never as a bug.
    #[error("the database is unavailable ({}): {cause}", fault.name())]
    Unavailable { fault: Fault, cause: String },
    /// A statement failed for a reason that is not a storage fault: a bug, or a
    /// constraint the caller handles (a taken username).
    #[error("database error: {0}")]
    Query(DieselError),
    #[error("the database task failed: {0}")]
    Task(String),
    #[error("{0}")]
    Config(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match fault::of_query(&error) {
            Some(fault) => StoreError::Unavailable {
                fault,
                cause: error.to_string(),
            },
            None => StoreError::Query(error),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        let cause = error.to_string();
        // r2d2 keeps the last connection error's text; without one, the pool was
        // merely exhausted for the whole wait.
        let fault = fault::of_message(&cause).unwrap_or(Fault::Busy);
        StoreError::Unavailable { fault, cause }
    }
}

impl StoreError {
    /// The storage fault behind this error, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Unavailable { fault, .. } => Some(*fault),
            StoreError::Open { source, .. } => fault::of_message(&source.to_string()),
            _ => None,
        }
    }

    /// The same failure, for another caller of a batch that failed as a whole.
    pub(crate) fn for_another_caller(&self) -> StoreError {
        match self {
            StoreError::Unavailable { fault, cause } => StoreError::Unavailable {
                fault: *fault,
                cause: cause.clone(),
            },
            other => match other.fault() {
                Some(fault) => StoreError::Unavailable {
                    fault,
                    cause: other.to_string(),
                },
                None => StoreError::Task(other.to_string()),
            },
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    #[diesel(deserialize_as = columns::StoredRole)]
    pub role: Role,
    pub content: String,
    #[diesel(deserialize_as = columns::StoredStatus)]
    pub status: MessageStatus,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
}

/// What `POST /users/` can run into besides a broken database.
#[derive(Debug)]
pub enum CreateUserOutcome {
    Created(UserRow),
    UsernameTaken,
}

type PgPool = Pool<ConnectionManager<PgConnection>>;

/// A connection of either backend, lent to one store call.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, so a query written once is
/// compiled for each backend (RETURNING, ON CONFLICT and friends need the concrete one).
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite(lent) => {
                let $c: &mut SqliteConnection = lent;
                $body
            }
            Conn::Postgres(lent) => {
                let $c: &mut PgConnection = lent;
                $body
            }
        }
    };
}

/// Runs `$body` atomically on the concrete connection: a transaction on PostgreSQL; on
/// SQLite a savepoint inside the writer thread's batch, which already holds the write
/// lock (`BEGIN IMMEDIATE`, see `sqlite.rs`).
macro_rules! write_transaction {
    ($conn:expr, $c:ident => $body:expr) => {
        on_conn!($conn, $c => $c.transaction::<_, DieselError, _>(|$c| $body))
    };
}

/// The lease row of a conversation: (user message id, owner, text so far, refreshed at).
macro_rules! lease_row {
    ($c:expr, $conversation_id:expr) => {
        reply_checkpoints::table
            .find($conversation_id)
            .select((
                reply_checkpoints::user_message_id,
                reply_checkpoints::owner,
                reply_checkpoints::content,
                reply_checkpoints::updated_at,
            ))
            .first::<(i64, String, String, NaiveDateTime)>($c)
            .optional()
    };
}

/// Takes over a dead owner's lease: deletes it and, when this call was the one that
/// deleted it and the reply was never stored, stores what it generated as
/// `interrupted`. Two processes taking over at once store it once: only one deletes.
/// Evaluates to whether a message was stored.
macro_rules! take_over_lease {
    ($c:expr, $conversation_id:expr, $owner:expr, $user_message_id:expr, $content:expr) => {{
        let claimed = diesel::delete(
            reply_checkpoints::table
                .filter(reply_checkpoints::conversation_id.eq($conversation_id))
                .filter(reply_checkpoints::owner.eq($owner)),
        )
        .execute($c)?;
        let answered: i64 = messages::table
            .filter(messages::conversation_id.eq($conversation_id))
            .filter(messages::id.gt($user_message_id))
            .filter(messages::role.eq(Role::Assistant.as_str()))
            .count()
            .get_result($c)?;
        if claimed == 1 && answered == 0 && !$content.is_empty() {
            diesel::insert_into(messages::table)
                .values((
                    messages::conversation_id.eq($conversation_id),
                    messages::role.eq(Role::Assistant.as_str()),
                    messages::content.eq($content),
                    messages::status.eq(MessageStatus::Interrupted.as_str()),
                    messages::created_at.eq(now()),
                ))
                .execute($c)?;
            true
        } else {
            false
        }
    }};
}

/// Gives up this process's lease on a conversation.
macro_rules! release {
    ($c:expr, $conversation_id:expr, $owner:expr) => {
        diesel::delete(
            reply_checkpoints::table
                .filter(reply_checkpoints::conversation_id.eq($conversation_id))
                .filter(reply_checkpoints::owner.eq($owner)),
        )
        .execute($c)
        .map(|_| ())
    };
}

#[derive(Clone)]
enum Pools {
    /// Reads inline, writes batched on one thread: see `sqlite.rs`.
    Sqlite {
        readers: Arc<sqlite::Readers>,
        writer: Arc<sqlite::Writer>,
    },
    /// Every call on tokio's blocking pool: libpq blocks on the network.
    Postgres(PgPool),
}

/// Which database, from `--database`: a SQLite path (or `sqlite://` URL), or a
/// `postgres://` / `postgresql://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(value: &str) -> Result<Location, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Location::Postgres(value.to_string()));
        }
        if let Some(rest) = value.strip_prefix("sqlite://") {
            return Ok(Location::Sqlite(PathBuf::from(rest)));
        }
        if let Some(rest) = value.strip_prefix("sqlite:") {
            return Ok(Location::Sqlite(PathBuf::from(rest)));
        }
        if value.contains("://") {
            let scheme = value.split("://").next().unwrap_or_default();
            return Err(format!(
                "database URL scheme {scheme:?} is not supported by this build; use a SQLite \
                 file path, a sqlite:// URL or a postgres:// URL"
            ));
        }
        if value.is_empty() {
            return Err("--database must not be empty".into());
        }
        Ok(Location::Sqlite(PathBuf::from(value)))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }
}

/// Shown in logs and `/status`: the path, or the URL without its password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({self})", self.backend())
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The chat database.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    location: Location,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// The current time as stored: UTC, truncated to microseconds so that what a response
/// shows right after an insert equals what a later read returns.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// One message of a conversation read: what the caller already had, or the row.
#[derive(Debug)]
pub enum KnownOrRow<T> {
    Known(T),
    Row(MessageRow),
}

/// A reply that has ended and is to be stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinishedReply {
    pub conversation_id: i64,
    /// The user message it answers.
    pub user_message_id: i64,
    pub content: String,
    pub status: MessageStatus,
}

/// What starting a chat ran into.
#[derive(Debug)]
pub enum BeginChat {
    /// The user message is stored and the lease taken: (user message, history).
    Started(MessageRow, Vec<MessageRow>),
    NoConversation,
    /// A live reply (of this or another chatd) holds the conversation.
    Busy,
}

/// Who generates a reply: this process, named `host/pid/random` so that another process
/// on the same host can tell when it has died.
pub fn new_owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let mut nonce = [0u8; 8];
    let _ = getrandom::fill(&mut nonce);
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}/{}/{nonce}", std::process::id())
}

/// Whether the reply lease of `owner`, last refreshed at `refreshed`, is dead, as seen
/// by the process `me`. Callers hold `me`'s own reservation of the conversation, so a
/// lease in `me`'s name has no reply in memory behind it (its final write failed and
/// nothing retried it, or it was left by a bug): it is stale at once, with no restart.
fn lease_is_dead(owner: &str, refreshed: NaiveDateTime, me: &str) -> bool {
    if owner == me {
        return true;
    }
    if now() - refreshed > LEASE_STALE_AFTER {
        return true;
    }
    let mut theirs = owner.split('/');
    let mut mine = me.split('/');
    let (Some(their_host), Some(their_pid)) = (theirs.next(), theirs.next()) else {
        return false;
    };
    if Some(their_host) != mine.next() {
        // Another machine: only the age can tell.
        return false;
    }
    // Same machine: a process that is gone, or whose pid is now ours, is dead.
    their_pid == std::process::id().to_string() || !Path::new("/proc").join(their_pid).exists()
}

/// What storing a finished reply found.
#[derive(Debug)]
pub enum StoredReply {
    /// The reply is stored now.
    Inserted(MessageRow),
    /// An assistant message already answers the user message (an earlier attempt whose
    /// answer was lost, or a peer that took the lease over): nothing stored twice.
    AlreadyAnswered,
    /// The conversation is gone.
    NoConversation,
}

impl Store {
    /// Opens the database at `location`, creating it and applying pending migrations;
    /// `connections` bounds the pool (SQLite: the readers).
    pub fn open(location: &Location, connections: u32) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_sqlite(path, connections),
            Location::Postgres(url) => Self::open_postgres(url, connections),
        }
    }

    fn open_sqlite(path: &Path, read_connections: u32) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: Box::new(e),
            })?;
        }
        let url = path.to_string_lossy().into_owned();
        let mut conn = sqlite::open_connection(&url)?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        drop(conn);
        Ok(Store {
            pools: Pools::Sqlite {
                readers: Arc::new(sqlite::Readers::new(url.clone(), read_connections as usize)),
                writer: sqlite::Writer::start(url)?,
            },
            location: Location::Sqlite(path.to_path_buf()),
        })
    }

    fn open_postgres(url: &str, connections: u32) -> Result<Store, StoreError> {
        let shown = redact_password(url);
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let mut conn = PgConnection::establish(url).map_err(|e| open_error(Box::new(e)))?;
        // Several chatd processes may start at once: one migrates, the others wait.
        conn.batch_execute("SELECT pg_advisory_lock(7305524110)")
            .map_err(|e| open_error(Box::new(e)))?;
        let migrated = conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| StoreError::Migrate(e.to_string()));
        let _ = conn.batch_execute("SELECT pg_advisory_unlock(7305524110)");
        migrated?;
        drop(conn);
        let pool = Pool::builder()
            .max_size(connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .build(ConnectionManager::<PgConnection>::new(url))
            .map_err(|e| open_error(Box::new(e)))?;
        Ok(Store {
            pools: Pools::Postgres(pool),
            location: Location::Postgres(url.to_string()),
        })
    }

    /// Where the data lives, for start-up lines and `/status` (never a password).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// PostgreSQL: every call on tokio's blocking pool with a pooled connection.
    async fn on_postgres<T, F>(pool: &PgPool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = pool.get()?;
            work(&mut Conn::Postgres(&mut pooled))
        })
        .await
        .map_err(|join| {
            if join.is_panic() {
                std::panic::resume_unwind(join.into_panic())
            }
            StoreError::Task(join.to_string())
        })?
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let result = match &self.pools {
            Pools::Sqlite { readers, .. } => readers.with(|c| work(&mut Conn::Sqlite(c))),
            Pools::Postgres(pool) => Self::on_postgres(pool, work).await,
        };
        result.map_err(|e| self.located(e))
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let result = match &self.pools {
            Pools::Sqlite { writer, .. } => writer.run(|c| work(&mut Conn::Sqlite(c))).await,
            Pools::Postgres(pool) => Self::on_postgres(pool, work).await,
        };
        result.map_err(|e| self.located(e))
    }

    /// Names the database in a fault's cause, for the log: clients are told the fault,
    /// never where the data lives.
    fn located(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::Unavailable { fault, cause } => StoreError::Unavailable {
                fault,
                cause: format!("{cause} (database {})", self.location),
            },
            other => other,
        }
    }

    pub async fn create_user(
        &self,
        username: String,
        email: Option<String>,
    ) -> Result<CreateUserOutcome, StoreError> {
        self.write(move |conn| {
            let inserted = on_conn!(conn, c => diesel::insert_into(users::table)
                .values((
                    users::username.eq(&username),
                    users::email.eq(&email),
                    users::created_at.eq(now()),
                ))
                .returning(UserRow::as_returning())
                .get_result(c));
            match inserted {
                Ok(row) => Ok(CreateUserOutcome::Created(row)),
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    Ok(CreateUserOutcome::UsernameTaken)
                }
                Err(other) => Err(other.into()),
            }
        })
        .await
    }

    pub async fn user_by_name(&self, username: String) -> Result<Option<UserRow>, StoreError> {
        self.read(move |conn| {
            Ok(on_conn!(conn, c => users::table
                .filter(users::username.eq(username))
                .select(UserRow::as_select())
                .first(c)
                .optional())?)
        })
        .await
    }

    /// `None` when the user does not exist.
    pub async fn create_conversation(
        &self,
        user_id: i64,
        name: Option<String>,
    ) -> Result<Option<ConversationRow>, StoreError> {
        self.write(move |conn| {
            let inserted = on_conn!(conn, c => diesel::insert_into(conversations::table)
                .values((
                    conversations::user_id.eq(user_id),
                    conversations::name.eq(&name),
                    conversations::created_at.eq(now()),
                ))
                .returning(ConversationRow::as_returning())
                .get_result(c));
            match inserted {
                Ok(row) => Ok(Some(row)),
                Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                    Ok(None)
                }
                Err(other) => Err(other.into()),
            }
        })
        .await
    }

    /// One page of a user's conversations, oldest first; empty for an unknown user.
    pub async fn conversations_of_user(
        &self,
        user_id: i64,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        self.read(move |conn| {
            Ok(on_conn!(conn, c => conversations::table
                .filter(conversations::user_id.eq(user_id))
                .order(conversations::id.asc())
                .offset(skip)
                .limit(limit)
                .select(ConversationRow::as_select())
                .load(c))?)
        })
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
            Ok(on_conn!(conn, c => c.transaction::<_, DieselError, _>(|c| {
                let Some(conversation) = conversations::table
                    .find(conversation_id)
                    .select(ConversationRow::as_select())
                    .first(c)
                    .optional()?
                else {
                    return Ok(None);
                };
                // Index only: (conversation_id, id) covers it.
                let ids: Vec<i64> = messages::table
                    .filter(messages::conversation_id.eq(conversation_id))
                    .order(messages::id.asc())
                    .select(messages::id)
                    .load(c)?;
                let found = known(&ids);
                let first_unknown = ids
                    .iter()
                    .zip(&found)
                    .find(|(_, have)| have.is_none())
                    .map(|(id, _)| *id);
                // Usually the unknown ones are the newest few (a reply since the last
                // read), or all of them: one range read covers both.
                let mut rows = match first_unknown {
                    None => Vec::new(),
                    Some(from) => messages::table
                        .filter(messages::conversation_id.eq(conversation_id))
                        .filter(messages::id.ge(from))
                        .order(messages::id.asc())
                        .select(MessageRow::as_select())
                        .load(c)?,
                }
                .into_iter()
                .peekable();
                let mut parts = Vec::with_capacity(ids.len());
                for (id, have) in ids.into_iter().zip(found) {
                    while rows.next_if(|row| row.id < id).is_some() {}
                    match (have, rows.next_if(|row| row.id == id)) {
                        (Some(kept), _) => parts.push(KnownOrRow::Known(kept)),
                        (None, Some(row)) => parts.push(KnownOrRow::Row(row)),
                        // Cannot happen, as messages are never deleted (a row the
                        // second statement sees but the first did not, possible under
                        // PostgreSQL's READ COMMITTED, is skipped above); leaving the
                        // message out would beat failing the read.
                        (None, None) => {}
                    }
                }
                Ok(Some((conversation, parts)))
            }))?)
        })
        .await
    }

    /// Starts a chat: takes the conversation's reply lease (unless a live reply holds
    /// it), stores the user's message, and returns it with the history a provider needs:
    /// the last `history_limit` messages, oldest first, the new one included. One
    /// transaction, so a refused chat stores nothing.
    pub async fn begin_chat(
        &self,
        conversation_id: i64,
        content: String,
        history_limit: i64,
        owner: String,
    ) -> Result<BeginChat, StoreError> {
        let result = self
            .write(move |conn| {
                Ok(write_transaction!(conn, c => {
                    let exists: i64 = conversations::table
                        .filter(conversations::id.eq(conversation_id))
                        .count()
                        .get_result(c)?;
                    if exists == 0 {
                        return Ok(BeginChat::NoConversation);
                    }
                    if let Some((user_message_id, holder, partial, refreshed)) =
                        lease_row!(c, conversation_id)?
                    {
                        if !lease_is_dead(&holder, refreshed, &owner) {
                            return Ok(BeginChat::Busy);
                        }
                        take_over_lease!(c, conversation_id, &holder, user_message_id, &partial);
                    }
                    let user_message = diesel::insert_into(messages::table)
                        .values((
                            messages::conversation_id.eq(conversation_id),
                            messages::role.eq(Role::User.as_str()),
                            messages::content.eq(&content),
                            messages::status.eq(MessageStatus::Complete.as_str()),
                            messages::created_at.eq(now()),
                        ))
                        .returning(MessageRow::as_returning())
                        .get_result(c)?;
                    diesel::insert_into(reply_checkpoints::table)
                        .values((
                            reply_checkpoints::conversation_id.eq(conversation_id),
                            reply_checkpoints::user_message_id.eq(user_message.id),
                            reply_checkpoints::owner.eq(&owner),
                            reply_checkpoints::content.eq(""),
                            reply_checkpoints::updated_at.eq(now()),
                        ))
                        .execute(c)?;
                    let mut history = messages::table
                        .filter(messages::conversation_id.eq(conversation_id))
                        .order(messages::id.desc())
                        .limit(history_limit.max(1))
                        .select(MessageRow::as_select())
                        .load(c)?;
                    history.reverse();
                    Ok(BeginChat::Started(user_message, history))
                })?)
            })
            .await;
        match result {
            // Two processes took the free lease at once: the loser's transaction is
            // rolled back whole, and its chat is the 409.
            Err(StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Ok(BeginChat::Busy),
            other => other,
        }
    }

    /// Stores an assistant reply once it has ended, with how it ended, and gives up its
    /// lease in the same transaction. Idempotent: a reply whose user message already
    /// has an answer is not stored again, so a write retried after a failure whose
    /// outcome was unknown (a lost connection at COMMIT) cannot duplicate it.
    pub async fn insert_assistant_message(
        &self,
        reply: FinishedReply,
    ) -> Result<StoredReply, StoreError> {
        self.write(move |conn| {
            Ok(write_transaction!(conn, c => {
                // The lease of this very reply, whoever holds it now: a reply kept
                // across a restart was leased by the process that generated it.
                diesel::delete(
                    reply_checkpoints::table
                        .filter(reply_checkpoints::conversation_id.eq(reply.conversation_id))
                        .filter(reply_checkpoints::user_message_id.eq(reply.user_message_id)),
                )
                .execute(c)?;
                let exists: i64 = conversations::table
                    .filter(conversations::id.eq(reply.conversation_id))
                    .count()
                    .get_result(c)?;
                if exists == 0 {
                    return Ok(StoredReply::NoConversation);
                }
                let answered: i64 = messages::table
                    .filter(messages::conversation_id.eq(reply.conversation_id))
                    .filter(messages::id.gt(reply.user_message_id))
                    .filter(messages::role.eq(Role::Assistant.as_str()))
                    .count()
                    .get_result(c)?;
                if answered > 0 {
                    return Ok(StoredReply::AlreadyAnswered);
                }
                let row = diesel::insert_into(messages::table)
                    .values((
                        messages::conversation_id.eq(reply.conversation_id),
                        messages::role.eq(Role::Assistant.as_str()),
                        messages::content.eq(&reply.content),
                        messages::status.eq(reply.status.as_str()),
                        messages::created_at.eq(now()),
                    ))
                    .returning(MessageRow::as_returning())
                    .get_result(c)?;
                Ok(StoredReply::Inserted(row))
            })?)
        })
        .await
    }

    /// Gives up a reply's lease without storing a message (nothing was generated).
    pub async fn release_reply(
        &self,
        conversation_id: i64,
        owner: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| Ok(on_conn!(conn, c => release!(c, conversation_id, &owner))?))
            .await
    }

    /// Refreshes the leases of this process's replies in flight, with what each has
    /// generated so far where it changed, all in one transaction. Each item is
    /// (conversation id, text so far if it changed).
    pub async fn checkpoint_replies(
        &self,
        owner: String,
        checkpoints: Vec<(i64, Option<String>)>,
    ) -> Result<(), StoreError> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        self.write(move |conn| {
            Ok(write_transaction!(conn, c => {
                let at = now();
                for (conversation_id, content) in &checkpoints {
                    let mine = reply_checkpoints::table
                        .filter(reply_checkpoints::conversation_id.eq(conversation_id))
                        .filter(reply_checkpoints::owner.eq(&owner));
                    match content {
                        Some(text) => diesel::update(mine)
                            .set((
                                reply_checkpoints::content.eq(text),
                                reply_checkpoints::updated_at.eq(at),
                            ))
                            .execute(c)?,
                        None => diesel::update(mine)
                            .set(reply_checkpoints::updated_at.eq(at))
                            .execute(c)?,
                    };
                }
                Ok(())
            })?)
        })
        .await
    }

    /// At start-up: stores every reply whose owner died mid-reply (a previous run of
    /// this chatd, or a dead peer) as an `interrupted` assistant message, and frees
    /// its conversation. Returns how many were stored.
    pub async fn recover_interrupted_replies(&self, me: String) -> Result<usize, StoreError> {
        self.write(move |conn| {
            Ok(write_transaction!(conn, c => {
                let leases: Vec<(i64, i64, String, String, NaiveDateTime)> = reply_checkpoints::table
                    .select((
                        reply_checkpoints::conversation_id,
                        reply_checkpoints::user_message_id,
                        reply_checkpoints::owner,
                        reply_checkpoints::content,
                        reply_checkpoints::updated_at,
                    ))
                    .load(c)?;
                let mut recovered = 0;
                for (conversation_id, user_message_id, owner, content, refreshed) in leases {
                    if !lease_is_dead(&owner, refreshed, &me) {
                        continue;
                    }
                    if take_over_lease!(c, conversation_id, &owner, user_message_id, &content) {
                        recovered += 1;
                    }
                }
                Ok(recovered)
            })?)
        })
        .await
    }

    /// Rows of one table in id order, at most `batch` of them after `after_id`, for
    /// copying a database table by table (parents before children).
    pub async fn export_batch(
        &self,
        table: Table,
        after_id: i64,
        batch: i64,
    ) -> Result<ExportBatch, StoreError> {
        self.read(move |conn| {
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
                        .select(ConversationRow::as_select())
                        .load(c)?;
                }
                Table::Messages => {
                    rows.messages = messages::table
                        .filter(messages::id.gt(after_id))
                        .order(messages::id.asc())
                        .limit(batch)
                        .select(MessageRow::as_select())
                        .load(c)?;
                }
            });
            Ok(rows)
        })
        .await
    }

    /// Row counts of (users, conversations, messages).
    pub async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        self.read(|conn| {
            Ok(on_conn!(conn, c => c.transaction::<_, DieselError, _>(|c| {
                Ok((
                    users::table.count().get_result(c)?,
                    conversations::table.count().get_result(c)?,
                    messages::table.count().get_result(c)?,
                ))
            }))?)
        })
        .await
    }

    /// Inserts rows copied from another database, keeping their ids; the target must
    /// hold none of them. Afterwards PostgreSQL's id sequences continue past them.
    pub async fn import_batch(&self, rows: ExportBatch) -> Result<(), StoreError> {
        self.write(move |conn| {
            let is_postgres = matches!(conn, Conn::Postgres(_));
            Ok(write_transaction!(conn, c => {
                for user in &rows.users {
                    diesel::insert_into(users::table)
                        .values((
                            users::id.eq(user.id),
                            users::username.eq(&user.username),
                            users::email.eq(&user.email),
                            users::created_at.eq(user.created_at),
                        ))
                        .execute(c)?;
                }
                for conversation in &rows.conversations {
                    diesel::insert_into(conversations::table)
                        .values((
                            conversations::id.eq(conversation.id),
                            conversations::user_id.eq(conversation.user_id),
                            conversations::name.eq(&conversation.name),
                            conversations::created_at.eq(conversation.created_at),
                        ))
                        .execute(c)?;
                }
                for message in &rows.messages {
                    diesel::insert_into(messages::table)
                        .values((
                            messages::id.eq(message.id),
                            messages::conversation_id.eq(message.conversation_id),
                            messages::role.eq(message.role.as_str()),
                            messages::content.eq(&message.content),
                            messages::status.eq(message.status.as_str()),
                            messages::created_at.eq(message.created_at),
                        ))
                        .execute(c)?;
                }
                if is_postgres {
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
            })?)
        })
        .await
    }
}

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
    pub conversations: Vec<ConversationRow>,
    pub messages: Vec<MessageRow>,
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
            .chain(self.conversations.iter().map(|r| r.id))
            .chain(self.messages.iter().map(|r| r.id))
            .max()
    }
}
