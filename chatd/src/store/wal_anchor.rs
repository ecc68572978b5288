//! A read transaction held open between the writer's commits, so that the WAL read lock
//! every reader takes is already held by this process and costs no system call.
//!
//! SQLite counts, per process, the connections that hold each WAL read lock, and asks
//! the kernel (`fcntl` on the `-shm` file) only when that count goes from 0 to 1 or back.
//! A read of a conversation holds its lock for microseconds, so between two reads the
//! count was almost always 0: each read took and dropped the lock with two `fcntl`
//! calls, under a mutex both worker threads contended for. That was 48% of SQLite's time
//! in `GET /users/{id}/conversations` (BENCHMARKS.md, issue 19 part five). With this
//! connection holding the lock on the slot readers use, a read only counts.
//!
//! A held read transaction must not hold the WAL back: it pins checkpoints to its
//! snapshot and, on read lock 0 (taken once the WAL is fully copied back), blocks them;
//! and it keeps the writer from restarting the WAL from its beginning. So the anchor is
//! let go before each of the writer's batches and each checkpoint, and taken again right
//! after, when its snapshot is the newest. Any failure only drops the anchor (reads then
//! pay the system calls again); the checkpoint thread opens a new one.

use std::sync::{Mutex, PoisonError};

use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;

pub(super) struct WalAnchor {
    url: String,
    state: Mutex<Anchor>,
}

#[derive(Default)]
struct Anchor {
    conn: Option<SqliteConnection>,
    holding: bool,
}

impl WalAnchor {
    pub(super) fn new(url: String) -> WalAnchor {
        let anchor = WalAnchor {
            url,
            state: Mutex::new(Anchor::default()),
        };
        anchor.hold(true);
        anchor
    }

    /// Runs `work` (a batch of writes, a checkpoint) with the read transaction ended,
    /// then begins a new one, on the newest snapshot. `reopen`: open a new connection
    /// if the last one failed (the checkpoint thread's job, twice a second at most).
    pub(super) fn lifted<T>(&self, reopen: bool, work: impl FnOnce() -> T) -> T {
        self.release();
        let result = work();
        self.hold(reopen);
        result
    }

    fn release(&self) {
        end(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn hold(&self, reopen: bool) {
        let mut anchor = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // Another caller may have taken it again meanwhile (the writer and the checkpoint
        // thread each let go and take): end that one, so the snapshot is the newest.
        end(&mut anchor);
        if anchor.conn.is_none() && reopen {
            anchor.conn = open(&self.url);
        }
        let Some(conn) = anchor.conn.as_mut() else {
            return;
        };
        // A deferred transaction begins reading, and takes its WAL read lock, at its
        // first read of a table.
        let begun = conn
            .batch_execute("BEGIN; SELECT 1 FROM sqlite_schema LIMIT 1;")
            .is_ok();
        anchor.holding = begun;
        if !begun {
            anchor.conn = None;
        }
    }

    /// Whether the anchor holds a read transaction now (for tests).
    #[cfg(test)]
    pub(super) fn is_holding(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .holding
    }
}

/// Ends the read transaction if one is held; a connection that cannot is dropped.
fn end(anchor: &mut Anchor) {
    if !std::mem::take(&mut anchor.holding) {
        return;
    }
    if let Some(conn) = anchor.conn.as_mut()
        && conn.batch_execute("COMMIT;").is_err()
    {
        anchor.conn = None;
    }
}

/// A connection that never waits for a lock: a busy database (a recovery under way)
/// fails the anchor at once instead of holding up the writer behind its mutex.
fn open(url: &str) -> Option<SqliteConnection> {
    let mut conn = super::sqlite::open_connection(url).ok()?;
    conn.batch_execute("PRAGMA busy_timeout = 0;").ok()?;
    Some(conn)
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Checkpointed {
        #[diesel(sql_type = BigInt)]
        log: i64,
        #[diesel(sql_type = BigInt)]
        checkpointed: i64,
    }

    fn checkpoint(conn: &mut SqliteConnection) -> Checkpointed {
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result(conn)
            .unwrap()
    }

    fn write_a_page(conn: &mut SqliteConnection, n: usize) {
        diesel::sql_query("INSERT INTO filler (text) VALUES (?)")
            .bind::<diesel::sql_types::Text, _>(format!("{n:04}").repeat(1000))
            .execute(conn)
            .unwrap();
    }

    /// One writer, one checkpointer, the anchor between them, as the writer and the
    /// checkpoint threads use it (without the threads, so every step is in order).
    fn setup() -> (
        tempfile::TempDir,
        String,
        SqliteConnection,
        SqliteConnection,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("anchor.db").display().to_string();
        let mut writer = super::super::sqlite::open_connection(&url).unwrap();
        writer
            .batch_execute(
                "PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
            )
            .unwrap();
        let checkpointer = super::super::sqlite::open_connection(&url).unwrap();
        (dir, url, writer, checkpointer)
    }

    #[test]
    fn let_go_for_a_checkpoint_the_anchor_leaves_nothing_behind_in_the_wal() {
        let (_dir, url, mut writer, mut checkpointer) = setup();
        let anchor = WalAnchor::new(url);
        assert!(anchor.is_holding());
        for n in 0..5 {
            anchor.lifted(false, || write_a_page(&mut writer, n));
        }
        assert!(anchor.is_holding(), "taken again after the writes");
        let done = anchor.lifted(true, || checkpoint(&mut checkpointer));
        assert!(done.log > 0);
        assert_eq!(done.checkpointed, done.log, "the whole WAL copied back");

        // Held across writes instead, its snapshot is older than the WAL's end, and the
        // checkpoint stops there: what letting go is for.
        write_a_page(&mut writer, 5);
        let pinned = checkpoint(&mut checkpointer);
        assert!(
            pinned.checkpointed < pinned.log,
            "{} of {}",
            pinned.checkpointed,
            pinned.log
        );
        // A write the anchor did not see (another process's) is copied back too once
        // the checkpoint lets the anchor go.
        let done = anchor.lifted(true, || checkpoint(&mut checkpointer));
        assert_eq!(done.checkpointed, done.log);
    }

    #[test]
    fn with_the_anchor_held_between_writes_the_wal_still_restarts_and_stays_small() {
        let (dir, url, mut writer, mut checkpointer) = setup();
        let anchor = WalAnchor::new(url);
        // 300 writes of a page and more each: about 2.5 MB of WAL if it never restarted.
        for n in 0..300 {
            anchor.lifted(false, || write_a_page(&mut writer, n));
            if n % 10 == 9 {
                anchor.lifted(true, || checkpoint(&mut checkpointer));
            }
        }
        assert!(anchor.is_holding());
        let wal = std::fs::metadata(dir.path().join("anchor.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 400_000, "the WAL is {wal} bytes");
        let rows: i64 = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT count(*) FROM filler)"))
            .get_result(&mut checkpointer)
            .unwrap();
        assert_eq!(rows, 300, "a reader beside the anchor sees every write");
    }
}
