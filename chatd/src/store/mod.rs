//! The store owns every SQL statement chatd runs. diesel is synchronous, so each call is
//! moved to tokio's blocking pool and never runs on the async runtime's threads.
//!
//! SQLite is set up for a server: WAL so readers never wait for the writer, a
//! `busy_timeout` so a momentary lock is waited out instead of failing, `foreign_keys=ON`.
//! Reads go through a pool of connections; every write goes through one dedicated
//! connection, so writers queue in the pool instead of fighting over SQLite's lock
//! (which is what turns into "database is locked" under load).

pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use common::{MessageStatus, Role};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use schema::{conversations, messages, reply_checkpoints, users};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// How long a request waits for a pooled connection before it fails.
const POOL_WAIT: Duration = Duration::from_secs(30);

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
    #[error("no database connection became free: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Query(#[from] DieselError),
    #[error("the database task failed: {0}")]
    Task(String),
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub role: String,
    pub content: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

impl MessageRow {
    pub fn role(&self) -> Role {
        if self.role == "assistant" {
            Role::Assistant
        } else {
            Role::User
        }
    }

    pub fn status(&self) -> MessageStatus {
        MessageStatus::parse(&self.status).unwrap_or(MessageStatus::Complete)
    }
}

/// What `POST /users/` can run into besides a broken database.
#[derive(Debug)]
pub enum CreateUserOutcome {
    Created(UserRow),
    UsernameTaken,
}

/// Per-connection settings, applied whenever the pool opens a connection.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // journal_mode is persistent in the file but setting it again is cheap; the
        // others are per connection. synchronous=NORMAL is durable across application
        // crashes in WAL mode; only an OS crash can lose the last commits.
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
type SqlitePooled = PooledConnection<ConnectionManager<SqliteConnection>>;

/// The chat database.
#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
    location: PathBuf,
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

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`, applies pending migrations,
    /// and builds the pools. `read_connections` bounds concurrent readers.
    pub fn open_sqlite(path: &Path, read_connections: u32) -> Result<Store, StoreError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_error(Box::new(e)))?;
        }
        let url = path.to_string_lossy().into_owned();
        let mut conn = SqliteConnection::establish(&url).map_err(|e| open_error(Box::new(e)))?;
        SqlitePragmas
            .on_acquire(&mut conn)
            .map_err(|e| open_error(Box::new(e)))?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        drop(conn);

        let build = |size: u32| {
            Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(POOL_WAIT)
                .connection_customizer(Box::new(SqlitePragmas))
                .build(ConnectionManager::<SqliteConnection>::new(url.clone()))
                .map_err(|e| open_error(Box::new(e)))
        };
        Ok(Store {
            read: build(read_connections.max(1))?,
            write: build(1)?,
            location: path.to_path_buf(),
        })
    }

    /// Where the data lives, for start-up lines and `/status`.
    pub fn location(&self) -> &Path {
        &self.location
    }

    async fn with_conn<T, F>(pool: &SqlitePool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqlitePooled) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
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
        F: FnOnce(&mut SqlitePooled) -> Result<T, StoreError> + Send + 'static,
    {
        Self::with_conn(&self.read, work).await
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqlitePooled) -> Result<T, StoreError> + Send + 'static,
    {
        Self::with_conn(&self.write, work).await
    }

    pub async fn create_user(
        &self,
        username: String,
        email: Option<String>,
    ) -> Result<CreateUserOutcome, StoreError> {
        self.write(move |conn| {
            let inserted = diesel::insert_into(users::table)
                .values((
                    users::username.eq(&username),
                    users::email.eq(&email),
                    users::created_at.eq(now()),
                ))
                .returning(UserRow::as_returning())
                .get_result(conn);
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
            Ok(users::table
                .filter(users::username.eq(username))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?)
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
            let inserted = diesel::insert_into(conversations::table)
                .values((
                    conversations::user_id.eq(user_id),
                    conversations::name.eq(&name),
                    conversations::created_at.eq(now()),
                ))
                .returning(ConversationRow::as_returning())
                .get_result(conn);
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
            Ok(conversations::table
                .filter(conversations::user_id.eq(user_id))
                .order(conversations::id.asc())
                .offset(skip)
                .limit(limit)
                .select(ConversationRow::as_select())
                .load(conn)?)
        })
        .await
    }

    /// A conversation and all its messages in id order: two SELECTs in one read
    /// transaction, so a reply stored in between cannot make the two disagree.
    pub async fn conversation_with_messages(
        &self,
        conversation_id: i64,
    ) -> Result<Option<(ConversationRow, Vec<MessageRow>)>, StoreError> {
        self.read(move |conn| {
            Ok(conn.transaction::<_, DieselError, _>(|conn| {
                let Some(conversation) = conversations::table
                    .find(conversation_id)
                    .select(ConversationRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let rows = messages::table
                    .filter(messages::conversation_id.eq(conversation_id))
                    .order(messages::id.asc())
                    .select(MessageRow::as_select())
                    .load(conn)?;
                Ok(Some((conversation, rows)))
            })?)
        })
        .await
    }

    /// Stores the user's message of a chat and returns it with the history a provider
    /// needs: the last `history_limit` messages of the conversation, oldest first, the
    /// new one included. `None` when the conversation does not exist.
    pub async fn begin_chat(
        &self,
        conversation_id: i64,
        content: String,
        history_limit: i64,
    ) -> Result<Option<(MessageRow, Vec<MessageRow>)>, StoreError> {
        self.write(move |conn| {
            let inserted = diesel::insert_into(messages::table)
                .values((
                    messages::conversation_id.eq(conversation_id),
                    messages::role.eq(Role::User.as_str()),
                    messages::content.eq(&content),
                    messages::status.eq(MessageStatus::Complete.as_str()),
                    messages::created_at.eq(now()),
                ))
                .returning(MessageRow::as_returning())
                .get_result(&mut **conn);
            let user_message = match inserted {
                Ok(row) => row,
                Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                    return Ok(None);
                }
                Err(other) => return Err(other.into()),
            };
            let mut history = messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .order(messages::id.desc())
                .limit(history_limit.max(1))
                .select(MessageRow::as_select())
                .load(&mut **conn)?;
            history.reverse();
            Ok(Some((user_message, history)))
        })
        .await
    }

    /// Stores an assistant reply once it has ended, with how it ended, and drops its
    /// checkpoint in the same transaction.
    pub async fn insert_assistant_message(
        &self,
        conversation_id: i64,
        content: String,
        status: MessageStatus,
    ) -> Result<MessageRow, StoreError> {
        self.write(move |conn| {
            Ok(conn.immediate_transaction::<_, DieselError, _>(|conn| {
                let row = diesel::insert_into(messages::table)
                    .values((
                        messages::conversation_id.eq(conversation_id),
                        messages::role.eq(Role::Assistant.as_str()),
                        messages::content.eq(&content),
                        messages::status.eq(status.as_str()),
                        messages::created_at.eq(now()),
                    ))
                    .returning(MessageRow::as_returning())
                    .get_result(conn)?;
                diesel::delete(reply_checkpoints::table.find(conversation_id)).execute(conn)?;
                Ok(row)
            })?)
        })
        .await
    }

    /// Writes what replies in flight generated so far, all in one transaction.
    /// Each item is (conversation id, id of the user message answered, text so far).
    pub async fn checkpoint_replies(
        &self,
        checkpoints: Vec<(i64, i64, String)>,
    ) -> Result<(), StoreError> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        self.write(move |conn| {
            Ok(conn.immediate_transaction::<_, DieselError, _>(|conn| {
                let at = now();
                for (conversation_id, user_message_id, content) in &checkpoints {
                    diesel::insert_into(reply_checkpoints::table)
                        .values((
                            reply_checkpoints::conversation_id.eq(conversation_id),
                            reply_checkpoints::user_message_id.eq(user_message_id),
                            reply_checkpoints::content.eq(content),
                            reply_checkpoints::updated_at.eq(at),
                        ))
                        .on_conflict(reply_checkpoints::conversation_id)
                        .do_update()
                        .set((
                            reply_checkpoints::user_message_id.eq(user_message_id),
                            reply_checkpoints::content.eq(content),
                            reply_checkpoints::updated_at.eq(at),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })?)
        })
        .await
    }

    /// At start-up: stores every reply a previous run was cut off in (its checkpoint is
    /// still there) as an `interrupted` assistant message. Returns how many.
    pub async fn recover_interrupted_replies(&self) -> Result<usize, StoreError> {
        self.write(|conn| {
            Ok(conn.immediate_transaction::<_, DieselError, _>(|conn| {
                let checkpoints: Vec<(i64, i64, String)> = reply_checkpoints::table
                    .select((
                        reply_checkpoints::conversation_id,
                        reply_checkpoints::user_message_id,
                        reply_checkpoints::content,
                    ))
                    .load(conn)?;
                let mut recovered = 0;
                for (conversation_id, user_message_id, content) in checkpoints {
                    // A reply stored after its last checkpoint leaves a stale row.
                    let answered: i64 = messages::table
                        .filter(messages::conversation_id.eq(conversation_id))
                        .filter(messages::id.gt(user_message_id))
                        .filter(messages::role.eq(Role::Assistant.as_str()))
                        .count()
                        .get_result(conn)?;
                    if answered == 0 && !content.is_empty() {
                        diesel::insert_into(messages::table)
                            .values((
                                messages::conversation_id.eq(conversation_id),
                                messages::role.eq(Role::Assistant.as_str()),
                                messages::content.eq(&content),
                                messages::status.eq(MessageStatus::Interrupted.as_str()),
                                messages::created_at.eq(now()),
                            ))
                            .execute(conn)?;
                        recovered += 1;
                    }
                }
                diesel::delete(reply_checkpoints::table).execute(conn)?;
                Ok(recovered)
            })?)
        })
        .await
    }
}
