//! The PostgreSQL server of the PostgreSQL scenario: a database of the harness's own
//! (created, seeded with the same rows as the SQLite files, dropped when done), and what
//! the server itself says about the load: transactions and rows from
//! `pg_stat_database`, and samples of `pg_stat_activity` (how many of chatd's
//! connections were busy, and on what they waited).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

use crate::seed;

/// A database on the server, dropped (with any connection still open to it) when this
/// is dropped.
pub struct Database {
    admin: String,
    pub name: String,
    /// The URL chatd is given.
    pub url: String,
    pub host: String,
}

impl Database {
    /// Connects to `server` (a URL naming a database the user may connect to), and
    /// creates a fresh database beside it. An error here means the scenario is skipped.
    pub fn create(server: &str) -> anyhow::Result<Database> {
        let (base, _) = server
            .rsplit_once('/')
            .context("a PostgreSQL URL ends with /DATABASE")?;
        let name = format!("chatd_bench_{}", std::process::id());
        let mut admin = PgConnection::establish(server)?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let host = base
            .rsplit_once('@')
            .map_or(base, |(_, host)| host)
            .trim_start_matches("postgres://")
            .trim_start_matches("postgresql://")
            .to_string();
        Ok(Database {
            admin: server.to_string(),
            url: format!("{base}/{name}"),
            name,
            host,
        })
    }

    /// chatd's schema (by chatd's own store), the same rows as the SQLite files, the
    /// sequences moved past the seeded ids, and statistics for the planner.
    pub fn seed(&self, conversations: i64) -> anyhow::Result<()> {
        let location = chatd::store::Location::Postgres(self.url.clone());
        drop(chatd::store::Store::open(&location, 1)?);
        let mut conn = PgConnection::establish(&self.url)?;
        let at = seed::postgres_at();
        let sql = seed::base_sql(&at) + &seed::bulk_sql(conversations, 0, &at);
        conn.transaction::<_, diesel::result::Error, _>(|conn| conn.batch_execute(&sql))?;
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users));
             SELECT setval(pg_get_serial_sequence('conversations', 'id'),
                           (SELECT MAX(id) FROM conversations));
             SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT MAX(id) FROM messages));
             ANALYZE;",
        )?;
        Ok(())
    }

    /// The server's version line.
    pub fn version(&self) -> anyhow::Result<String> {
        let mut conn = PgConnection::establish(&self.admin)?;
        let row: Text = diesel::sql_query("SELECT version() AS text").get_result(&mut conn)?;
        Ok(row.text)
    }

    /// The database's counters now (after the backends that ran the load have exited,
    /// which is when they report).
    pub fn counters(&self) -> anyhow::Result<Counters> {
        let mut conn = PgConnection::establish(&self.admin)?;
        Ok(diesel::sql_query(format!(
            "SELECT (xact_commit + xact_rollback)::BIGINT AS transactions, \
                    tup_inserted::BIGINT AS inserted, tup_updated::BIGINT AS updated, \
                    tup_deleted::BIGINT AS deleted, tup_returned::BIGINT AS returned \
             FROM pg_stat_database WHERE datname = '{}'",
            self.name
        ))
        .get_result(&mut conn)?)
    }

    /// Messages stored by chatd as replies, and the highest message id.
    pub fn replies(&self) -> anyhow::Result<(i64, i64)> {
        let mut conn = PgConnection::establish(&self.url)?;
        let row: Pair = diesel::sql_query(
            "SELECT COUNT(*) FILTER (WHERE role = 'assistant') AS a, \
                    COALESCE(MAX(id), 0) AS b FROM messages",
        )
        .get_result(&mut conn)?;
        Ok((row.a, row.b))
    }

    /// Samples `pg_stat_activity` every 20 ms (at most `MAX_SAMPLES` times) until the
    /// returned sampler is finished.
    pub fn sample_activity(&self) -> ActivitySampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let admin = self.admin.clone();
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            let mut activity = Activity::default();
            let Ok(mut conn) = PgConnection::establish(&admin) else {
                return activity;
            };
            let query = format!(
                "SELECT state AS a, COALESCE(wait_event_type || ':' || wait_event, 'running') AS b \
                 FROM pg_stat_activity WHERE datname = '{name}'"
            );
            for _ in 0..MAX_SAMPLES {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(rows) = diesel::sql_query(&query).load::<States>(&mut conn) {
                    activity.samples += 1;
                    for row in rows {
                        activity.connections += 1;
                        if row.a.as_deref() == Some("active") {
                            activity.active += 1;
                            *activity.waits.entry(row.b).or_default() += 1;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            activity
        });
        ActivitySampler { stop, thread }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin).and_then(|mut conn| {
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        if let Err(e) = dropped {
            eprintln!(
                "chatd-bench: could not drop the database {}: {e}",
                self.name
            );
        }
    }
}

const MAX_SAMPLES: usize = 10_000;

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    a: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    b: i64,
}

#[derive(QueryableByName)]
struct States {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    a: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    b: String,
}

/// `pg_stat_database`'s counters of one database.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Counters {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub transactions: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub inserted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub updated: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub deleted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub returned: i64,
}

impl Counters {
    pub fn since(&self, before: &Counters) -> Counters {
        Counters {
            transactions: self.transactions - before.transactions,
            inserted: self.inserted - before.inserted,
            updated: self.updated - before.updated,
            deleted: self.deleted - before.deleted,
            returned: self.returned - before.returned,
        }
    }
}

/// What the samples of `pg_stat_activity` saw, summed over the samples.
#[derive(Debug, Default)]
pub struct Activity {
    pub samples: u64,
    pub connections: u64,
    pub active: u64,
    /// Active backends by what they waited on (`running` when on the CPU).
    pub waits: HashMap<String, u64>,
}

impl Activity {
    /// "2.1 of 8 connections busy on average; running 60%, IO:WALSync 30%, …"
    pub fn describe(&self) -> String {
        let samples = self.samples.max(1) as f64;
        let mut waits: Vec<(&String, &u64)> = self.waits.iter().collect();
        waits.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let active = self.active.max(1) as f64;
        let shares: Vec<String> = waits
            .iter()
            .take(4)
            .map(|(what, n)| format!("{what} {:.0}%", **n as f64 / active * 100.0))
            .collect();
        format!(
            "{:.1} of {:.1} connections busy on average ({} samples); busy ones: {}",
            self.active as f64 / samples,
            self.connections as f64 / samples,
            self.samples,
            shares.join(", ")
        )
    }
}

pub struct ActivitySampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Activity>,
}

impl ActivitySampler {
    pub async fn finish(self) -> Activity {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}
