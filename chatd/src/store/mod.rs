//! The store owns every SQL statement chatd runs, on SQLite or PostgreSQL from one
//! codebase: one `schema.rs`, migrations of the same names per backend, and each query
//! written once, as a plain function over [`Conn`], compiled for both concrete
//! connections by `on_conn!`. The store runs SQL and nothing more: whose reply lease is
//! alive is judged by its caller (`replies::lease`, through [`LeaseJudge`]).
//!
//! Why a hand-written `Conn` and not `#[derive(diesel::MultiConnection)]`: see
//! `on_conn!` below. How the store fits with the rest of chatd: `docs/ARCHITECTURE.md`.
//!
//! diesel is synchronous. On SQLite, reads run inline and writes are batched on one
//! writer thread (`sqlite.rs` says why); on PostgreSQL, whose client blocks on the
//! network, every call runs on tokio's blocking pool with a pooled connection.
//!
//! SQLite is set up for a server: WAL so readers never wait for the writer, a
//! `busy_timeout` so a momentary lock (another process's write) is waited out instead of
//! failing, `foreign_keys=ON`.
//!
//! | file | what it holds |
//! |---|---|
//! | `location.rs` | `--database` parsed, and shown without a password |
//! | `rows.rs` | the rows read and written, the outcomes of calls |
//! | `users.rs`, `conversations.rs`, `messages.rs` | the queries of each table |
//! | `paths.rs` | the path hashes that find the conversation a client resends |
//! | `summaries.rs` | a user's conversations with message counts and last activity |
//! | `deletes.rs` | deleting a conversation, a user's old conversations, a user |
//! | `archive.rs` | export (a conversation whole, a user's a page at a time) and import |
//! | `search/` | full-text search: each backend's newest matches (every term bound), ranked in a bounded window; PostgreSQL's search language |
//! | `lease.rs` | the reply lease rows: take, take over, refresh, release |
//! | `copy.rs` | `migrate-data`: tables exported and imported in batches |
//! | `sqlite.rs` | SQLite's inline readers and group-commit writer |
//! | `wal_anchor.rs` | the WAL read lock held between commits, so a read takes it without a system call |
//! | `fault.rs` | which errors are storage faults, with their answers |
//! | `columns.rs` | columns read the cheap way |
//! | `fixed_sql.rs` | statements written as SQL text that are still prepared once |
//! | `tree.rs`, `known_paths.rs` | branches: the walks of a path, and the paths already walked |
//! | `known_texts.rs` | the texts of stored messages, for the history each chat sends |
//! | `pg_pool.rs` | PostgreSQL's pool: when a connection is pinged, `synchronous_commit` |

mod archive;
mod chat_keys;
pub mod columns;
mod connection_errors;
mod conversations;
mod copy;
mod deletes;
pub mod fault;
mod fixed_sql;
mod forks;
pub mod idempotency;
mod known_paths;
mod known_texts;
pub mod lease;
mod location;
mod messages;
pub mod paths;
mod pg_pool;
mod reply_order;
mod rows;
pub mod schema;
mod search;
mod sqlite;
#[cfg(test)]
mod story;
mod summaries;
mod tree;
mod users;
mod wal_anchor;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::Pool;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use archive::{ConversationArchive, ImportedConversation, ImportedMessage};
pub use chat_keys::ChatKeyed;
pub use conversations::TITLE_BY_USER;
pub use copy::{ExportBatch, Table};
pub use deletes::TurnDelete;
pub use fault::Fault;
pub use forks::Fork;
pub use known_texts::Said;
pub use lease::LeaseJudge;
pub use location::Location;
pub use rows::{
    BeginChat, Branch, BranchRefusal, ChatStart, ConversationRow, ConversationSettingsRow,
    CreateUserOutcome, FinishedReply, KnownOrRow, LeaseRow, ListedConversationRow, MessageDetails,
    MessageRow, SettingsChange, StoredReply, TitleInputs, UserRow, UserTurn,
};
pub use search::{SearchHitFound, SearchHitRow};
pub use summaries::SummaryRow;
pub use tree::{Switch, TREE_MAX_MESSAGES, TreeRead};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

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

/// The current time as stored: UTC, truncated to microseconds so that what a response
/// shows right after an insert equals what a later read returns.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A connection of either backend, lent to one store call.
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, so a query written once is
/// compiled for each backend: diesel checks a query against one backend's types.
///
/// This is the only macro of the store; each query is a plain function over [`Conn`]
/// that uses it once. Why not `#[derive(diesel::MultiConnection)]`: a probe with our
/// schema (diesel 2.3.14) compiled the reads, with `FromSql<_, MultiBackend>` impls for
/// the three custom columns of `columns.rs` delegating to the concrete ones, and a
/// RETURNING of a tuple of columns; but not `.returning(Row::as_returning())`, which
/// every insert here uses: the derived backend renders a RETURNING clause by handing its
/// expression to the concrete backend, and `SelectBy<Row, MultiBackend>` is a fragment
/// of `MultiBackend` only (no `QueryFragment<Sqlite>` or `<Pg>`). Moving over would mean
/// hand-mapping every RETURNING tuple into its row, and putting the inline SQLite reads
/// that the benchmark's read routes measure, and the writer thread tuned around a
/// `SqliteConnection`, behind `MultiBackend`'s bind collector, whose cost is unmeasured.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite(lent) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = lent;
                $body
            }
            $crate::store::Conn::Postgres(lent) => {
                let $c: &mut ::diesel::pg::PgConnection = lent;
                $body
            }
        }
    };
}
pub(crate) use on_conn;

impl Conn<'_> {
    /// Runs reads that must see one moment of the database. SQLite: in a read
    /// transaction, whose snapshot all its statements share. PostgreSQL: as they are,
    /// since at its READ COMMITTED level each statement takes a snapshot of its own
    /// inside a transaction too; `BEGIN` and `COMMIT` there would add two round trips
    /// to the read and change nothing.
    pub(crate) fn read_together<T>(
        &mut self,
        work: impl FnOnce(&mut Conn<'_>) -> Result<T, DieselError>,
    ) -> Result<T, DieselError> {
        match self {
            Conn::Sqlite(c) => c.transaction(|c| work(&mut Conn::Sqlite(c))),
            Conn::Postgres(c) => work(&mut Conn::Postgres(c)),
        }
    }

    /// Runs `work` atomically: a transaction on PostgreSQL and on SQLite's readers; in
    /// SQLite's writer a savepoint inside the batch, which already holds the write lock
    /// (`BEGIN IMMEDIATE`, see `sqlite.rs`).
    pub(crate) fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Conn<'_>) -> Result<T, DieselError>,
    ) -> Result<T, DieselError> {
        match self {
            Conn::Sqlite(c) => c.transaction(|c| work(&mut Conn::Sqlite(c))),
            Conn::Postgres(c) => c.transaction(|c| work(&mut Conn::Postgres(c))),
        }
    }
}

type PgPool = Pool<pg_pool::PgManager>;

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

/// How the store is opened, beyond where.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL's pool; on SQLite, the read connections kept open.
    pub connections: u32,
    /// PostgreSQL: whether a commit waits for the server's WAL flush (the server's
    /// default). Off, a crash of the PostgreSQL server (not of chatd) can lose the last
    /// fraction of a second of commits, as an OS crash can with SQLite's
    /// `synchronous=NORMAL`; SQLite ignores it.
    pub synchronous_commit: bool,
    /// Bytes of message paths kept in memory (`known_paths.rs`); 0 walks every path.
    pub known_paths_bytes: usize,
    /// Bytes of message texts kept for chats' histories (`known_texts.rs`); 0 reads
    /// every history from the database.
    pub known_texts_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connections: 4,
            synchronous_commit: true,
            known_paths_bytes: known_paths::DEFAULT_BUDGET,
            known_texts_bytes: known_texts::DEFAULT_BUDGET,
        }
    }
}

/// The chat database.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    location: Location,
    paths: Arc<known_paths::KnownPaths>,
    texts: Arc<known_texts::KnownTexts>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `location`, creating it and applying pending migrations;
    /// `connections` bounds the pool (SQLite: the readers).
    pub fn open(location: &Location, connections: u32) -> Result<Store, StoreError> {
        Self::open_with(
            location,
            &StoreOptions {
                connections,
                ..StoreOptions::default()
            },
        )
    }

    /// [`Store::open`] with every option.
    pub fn open_with(location: &Location, options: &StoreOptions) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_sqlite(path, options),
            Location::Postgres(url) => Self::open_postgres(url, options),
        }
    }

    fn open_sqlite(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
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
                readers: Arc::new(sqlite::Readers::new(
                    url.clone(),
                    options.connections as usize,
                )),
                writer: sqlite::Writer::start(url)?,
            },
            location: Location::Sqlite(path.to_path_buf()),
            paths: Arc::new(known_paths::KnownPaths::with_budget(
                options.known_paths_bytes,
            )),
            texts: Arc::new(known_texts::KnownTexts::with_budget(
                options.known_texts_bytes,
            )),
        })
    }

    fn open_postgres(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let shown = location::redact_password(url);
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
            .max_size(options.connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .error_handler(Box::new(connection_errors::ConnectionErrors::default()))
            .build(pg_pool::PgManager::new(url, options.synchronous_commit))
            .map_err(|e| open_error(Box::new(e)))?;
        Ok(Store {
            pools: Pools::Postgres(pool),
            location: Location::Postgres(url.to_string()),
            paths: Arc::new(known_paths::KnownPaths::with_budget(
                options.known_paths_bytes,
            )),
            texts: Arc::new(known_texts::KnownTexts::with_budget(
                options.known_texts_bytes,
            )),
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
            let result = work(&mut Conn::Postgres(&mut pooled.conn));
            pooled.suspect = result.is_err();
            result
        })
        .await
        .map_err(|join| {
            if join.is_panic() {
                std::panic::resume_unwind(join.into_panic())
            }
            StoreError::Task(join.to_string())
        })?
    }

    /// Runs a read: inline on SQLite, on the blocking pool on PostgreSQL.
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

    /// Runs a write: in the writer's next batch on SQLite (already atomic, as a
    /// savepoint), on the blocking pool on PostgreSQL.
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

    /// Runs a write in one transaction, so it is all or nothing on either backend.
    async fn write_transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, DieselError> + Send + 'static,
    {
        self.write(move |conn| Ok(conn.transaction(work)?)).await
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
}
