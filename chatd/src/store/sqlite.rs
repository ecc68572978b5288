//! How chatd runs SQL on SQLite without a thread hop per query, which profiling showed
//! to cost more than the queries themselves (a quarter of chatd's CPU in context
//! switches when every call went through tokio's blocking pool and an r2d2 pool).
//!
//! - Reads run inline, on the thread that asks, on a connection taken from a small
//!   free list. A read of a page-cached WAL database takes microseconds, no more than
//!   serialising its answer, which happens on that same thread anyway; WAL readers never
//!   wait for the writer.
//! - Writes go to one thread that owns the only write connection. It takes every job
//!   queued so far and runs them in one `BEGIN IMMEDIATE` transaction, each job in its own
//!   savepoint so that one job's failure rolls back that job alone (group commit). A
//!   caller learns its result only once the whole batch has committed, so nothing is
//!   reported stored that is not. Under load this turns thousands of commits a second
//!   into a few dozen, each carrying many chats.
//! - The WAL is copied back into the database file (checkpointed) by a third thread
//!   with its own connection, never by the writer: SQLite's automatic checkpoint runs
//!   inside the commit that crosses 1000 pages and fsyncs the database file there, so
//!   every write queued behind that commit would wait for a disk flush. (An A/B on this
//!   machine's fast disk showed no difference beyond noise; the stall is removed by
//!   construction.) A PASSIVE checkpoint takes no write lock.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;

use super::wal_anchor::WalAnchor;
use super::{Fault, StoreError};

/// How often the checkpoint thread copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Jobs one transaction carries at most, so a flood of writes still commits, and
/// answers its callers, in steps.
const MAX_BATCH: usize = 512;

/// How long a busy writer waits for more jobs before it commits (`gather`): the most a
/// write's answer is delayed to share its commit.
const GATHER_FOR: Duration = Duration::from_millis(1);

/// The writer counts as busy when a job comes within this of the last commit's end,
/// and writes come from more than one caller at once (the last batch held several
/// jobs, or this one was queued while it ran). One client writing in a loop, waiting
/// for each answer, could share no commit with anyone and is never held up.
const BUSY_WITHIN: Duration = Duration::from_millis(2);

/// Puts SQLite in multi-thread mode before its first connection: a connection then
/// takes no mutex of its own around every call. chatd never shares one connection
/// between threads at once (diesel's connection is not `Sync`; the readers' free list
/// and the writer hand each to one thread), which is the mode's one condition. In the
/// default serialized mode the mutexes were 2% of a conversation read's CPU. Once
/// SQLite is initialised (another library in the process, or a test that opened a
/// connection first) the call is refused and changes nothing, which is safe.
fn multi_thread_mode() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MULTITHREAD takes no further
        // argument; made before sqlite3_initialize it only sets the threading mode,
        // and after it SQLite returns SQLITE_MISUSE without changing anything.
        let code =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if code != libsqlite3_sys::SQLITE_OK {
            tracing::debug!("SQLite stays in serialized mode (sqlite3_config: {code})");
        }
    });
}

/// Opens a connection with the settings every chatd SQLite connection runs with.
pub(super) fn open_connection(url: &str) -> Result<SqliteConnection, StoreError> {
    multi_thread_mode();
    let mut conn = SqliteConnection::establish(url).map_err(|e| StoreError::Open {
        path: url.to_string(),
        source: Box::new(e),
    })?;
    // journal_mode is persistent in the file but setting it again is cheap; the others
    // are per connection. synchronous=NORMAL is durable across application crashes in
    // WAL mode; only an OS crash can lose the last commits.
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
    )?;
    Ok(conn)
}

/// Read connections, used inline by whichever thread reads. At most one per thread
/// reading at that moment is ever open, so the list stays as short as the runtime's
/// worker count; `keep` bounds what is kept idle.
pub(super) struct Readers {
    url: String,
    idle: Mutex<Vec<SqliteConnection>>,
    keep: usize,
}

impl Readers {
    pub(super) fn new(url: String, keep: usize) -> Readers {
        Readers {
            url,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
        }
    }

    pub(super) fn with<T>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let free = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match free {
            Some(conn) => conn,
            None => open_connection(&self.url)?,
        };
        let result = work(&mut conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep {
            idle.push(conn);
        }
        result
    }
}

/// A panic inside a job, carried back to the caller so it surfaces where the job was
/// asked for, as it would have without the writer thread in between.
type Panic = Box<dyn Any + Send>;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs the job inside the batch's transaction and returns how to answer its caller
    /// once the batch has committed or failed.
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> Box<dyn Answer>;
    /// Answers the caller without running: the batch could not start.
    fn refuse(self: Box<Self>, why: &StoreError);
}

trait Answer: Send {
    fn send(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct Queued<T, F> {
    work: F,
    reply: tokio::sync::oneshot::Sender<Result<Result<T, StoreError>, Panic>>,
}

struct Ran<T> {
    outcome: Result<Result<T, StoreError>, Panic>,
    reply: tokio::sync::oneshot::Sender<Result<Result<T, StoreError>, Panic>>,
}

impl<T, F> Job for Queued<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> Box<dyn Answer> {
        let Queued { work, reply } = *self;
        let mut panic = None;
        // A savepoint: an error or a panic rolls back this job's statements only.
        let result = conn.transaction::<T, StoreError, _>(|c| {
            match catch_unwind(AssertUnwindSafe(|| work(c))) {
                Ok(result) => result,
                Err(payload) => {
                    panic = Some(payload);
                    Err(StoreError::Task("a database job panicked".into()))
                }
            }
        });
        let outcome = match panic {
            Some(payload) => Err(payload),
            None => Ok(result),
        };
        Box::new(Ran { outcome, reply })
    }

    fn refuse(self: Box<Self>, why: &StoreError) {
        let _ = self.reply.send(Ok(Err(why.for_another_caller())));
    }
}

impl<T: Send> Answer for Ran<T> {
    fn send(self: Box<Self>, committed: Result<(), &StoreError>) {
        let answer = match (self.outcome, committed) {
            (Ok(Ok(_)), Err(why)) => Ok(Err(why.for_another_caller())),
            (outcome, _) => outcome,
        };
        let _ = self.reply.send(answer);
    }
}

/// The writer thread's queue, and the checkpoint thread; both stop, and close their
/// connections, when the last clone of the store is dropped.
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    thread: Option<JoinHandle<()>>,
    stop_checkpoints: mpsc::Sender<()>,
    checkpoints: Option<JoinHandle<()>>,
}

/// The writer's connection: checkpoints are the checkpoint thread's job.
fn open_writer_connection(url: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = open_connection(url)?;
    conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
    Ok(conn)
}

impl Writer {
    /// Starts the writer and checkpoint threads on the database at `url`.
    pub(super) fn start(url: String) -> Result<Arc<Writer>, StoreError> {
        // Messages queued for search by writes made without the writer (a copy, a
        // seeded database) are indexed by the writer while it has nothing else to do.
        let conn = open_writer_connection(&url)?;
        let spawn_error =
            |e: std::io::Error| StoreError::Task(format!("could not start a database thread: {e}"));
        let (stop_checkpoints, stop) = mpsc::channel::<()>();
        let checkpoint_url = url.clone();
        let anchor = Arc::new(WalAnchor::new(url.clone()));
        let checkpoint_anchor = anchor.clone();
        let checkpoints = std::thread::Builder::new()
            .name("chatd-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoint_url, &stop, &checkpoint_anchor))
            .map_err(spawn_error)?;
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("chatd-sqlite-writer".into())
            .spawn(move || write_loop(conn, &url, &jobs, &anchor))
            .map_err(spawn_error)?;
        Ok(Arc::new(Writer {
            queue,
            thread: Some(thread),
            stop_checkpoints,
            checkpoints: Some(checkpoints),
        }))
    }

    /// Runs `work` in the next batch and answers once that batch has committed.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(Queued { work, reply });
        if self.queue.send(job).is_err() {
            return Err(StoreError::Task("the database writer has stopped".into()));
        }
        match answer.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(StoreError::Task(
                "the database writer stopped before answering".into(),
            )),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the loop once the jobs already queued are done; joining
        // means the file is closed when the last store handle is gone.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.queue, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.stop_checkpoints, closed));
        if let Some(thread) = self.checkpoints.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(
    conn: SqliteConnection,
    url: &str,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
    anchor: &WalAnchor,
) {
    let mut conn = Some(conn);
    // Whether messages may still wait to be indexed: at start, whatever was written
    // around the writer; after a round that hit its bound, the rest.
    let mut backlog = true;
    let mut last_commit = Instant::now();
    let mut last_batch = 0;
    loop {
        // Whether the job was queued while the last batch ran: a sign of writers at
        // once, which one client waiting for each answer never gives.
        let (first, waited) = match jobs.try_recv() {
            Ok(job) => (job, true),
            Err(mpsc::TryRecvError::Empty) if backlog => {
                backlog = anchor.lifted(false, || index_round(&mut conn, url));
                continue;
            }
            Err(mpsc::TryRecvError::Empty) => match jobs.recv() {
                Ok(job) => (job, false),
                Err(_) => break,
            },
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let busy = (waited || last_batch > 1) && last_commit.elapsed() < BUSY_WITHIN;
        let batch = gather(first, jobs, busy);
        last_batch = batch.len();
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match open_writer_connection(url) {
                Ok(fresh) => conn.insert(fresh),
                Err(why) => {
                    batch.into_iter().for_each(|job| job.refuse(&why));
                    continue;
                }
            },
        };
        let mut answers = Vec::with_capacity(batch.len());
        let mut pending = batch.into_iter();
        // The anchor is let go so that this batch may restart the WAL from its start.
        let committed = anchor.lifted(false, || {
            c.immediate_transaction::<_, DieselError, _>(|c| {
                answers.extend(pending.by_ref().map(|job| job.run(c)));
                Ok(index_for_search(c))
            })
        });
        backlog = committed.as_ref().is_ok_and(|more| *more);
        let committed = committed.map_err(|e| refine(StoreError::from(e), url));
        if let Err(why) = &committed {
            // The connection may be left mid-transaction; the next batch gets a new one.
            conn = None;
            tracing::warn!(
                "a batch of {} database writes failed: {why}",
                answers.len().max(1)
            );
            // Jobs that never ran: BEGIN IMMEDIATE itself failed (locked past the
            // timeout, or the disk refused the journal).
            pending.for_each(|job| job.refuse(why));
        }
        for answer in answers {
            answer.send(committed.as_ref().map(|_| ()));
        }
        last_commit = Instant::now();
    }
}

/// A batch: `first` and every job queued behind it. When the writer is being kept busy
/// (`busy`: see `BUSY_WITHIN`) it also waits up to
/// `GATHER_FOR` for more, since each commit costs the same pages of WAL (the tables'
/// and the search indexes' leaf pages, FTS5's segment) however many jobs share it:
/// under 2,000 chats a second a batch held about one chat, and waiting gathered
/// several, which cut the writer's CPU per chat by about 30% (BENCHMARKS.md, issue 19
/// part five). An idle server commits a lone write at once.
fn gather(
    first: Box<dyn Job>,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
    busy: bool,
) -> Vec<Box<dyn Job>> {
    let mut batch = Vec::with_capacity(16);
    batch.push(first);
    let until = Instant::now() + GATHER_FOR;
    while batch.len() < MAX_BATCH {
        let next = match jobs.try_recv() {
            Ok(job) => Some(job),
            Err(mpsc::TryRecvError::Empty) if busy => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    None
                } else {
                    jobs.recv_timeout(left).ok()
                }
            }
            Err(_) => None,
        };
        match next {
            Some(job) => batch.push(job),
            None => break,
        }
    }
    batch
}

/// Messages indexed for search per transaction at most: a few tenths of a second of
/// FTS5 work, the longest a write waits behind a round of the backlog.
const INDEX_PER_ROUND: i64 = 2_000;

/// Indexes for search what this batch (or an earlier write made outside the writer)
/// stored, up to `INDEX_PER_ROUND` messages; returns whether more wait. In a savepoint
/// of its own: when it fails, the batch's writes still commit and the messages stay
/// queued for the next batch, found by search once indexed.
fn index_for_search(c: &mut SqliteConnection) -> bool {
    match c.transaction(|c| super::search::index_queued(c, INDEX_PER_ROUND)) {
        Ok(more) => more,
        Err(why) => {
            tracing::warn!(
                "indexing new messages for search failed (retried with the next write): {why}"
            );
            false
        }
    }
}

/// One round of the backlog in a transaction of its own, while no write waits;
/// returns whether more wait (false after a failure: the next write retries).
fn index_round(conn: &mut Option<SqliteConnection>, url: &str) -> bool {
    let c = match conn.as_mut() {
        Some(c) => c,
        None => match open_writer_connection(url) {
            Ok(fresh) => conn.insert(fresh),
            Err(_) => return false,
        },
    };
    // Looked at before taking the write lock, which an empty queue (the usual start)
    // does not need: another process writing to the file meanwhile would wait for it.
    if !super::search::anything_queued(c).unwrap_or(false) {
        return false;
    }
    match c.immediate_transaction::<_, DieselError, _>(|c| Ok(index_for_search(c))) {
        Ok(more) => more,
        Err(why) => {
            *conn = None;
            tracing::warn!("indexing queued messages for search failed: {why}");
            false
        }
    }
}

/// Tells a read-only database from a broken disk. SQLite reports a write refused by
/// the file system (an immutable file: EPERM) as a plain I/O error on the connection
/// that had the file open, and as "readonly" only once it reopens it; asking the file
/// system directly gives the person the right advice on the first failed write.
fn refine(error: StoreError, url: &str) -> StoreError {
    let StoreError::Unavailable {
        fault: Fault::Io,
        cause,
    } = error
    else {
        return error;
    };
    let refused = |path: &str| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .is_err_and(|e| {
                e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.raw_os_error() == Some(30 /* EROFS */)
            })
    };
    let fault = if refused(url) || refused(&format!("{url}-wal")) {
        Fault::ReadOnly
    } else {
        Fault::Io
    };
    StoreError::Unavailable { fault, cause }
}

/// Checkpoints the WAL every `CHECKPOINT_EVERY` until `stop` is closed. PASSIVE copies
/// what no reader still needs and never waits for a lock, so neither the writer nor
/// readers are held up; a WAL that no reader pins any more restarts from its beginning
/// on the next write, so it does not grow without bound.
fn checkpoint_loop(url: &str, stop: &mpsc::Receiver<()>, anchor: &WalAnchor) {
    let mut conn = None;
    // The last failure logged: a database that stays unwritable is reported once, not
    // twice a second.
    let mut failing: Option<String> = None;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if conn.is_none() {
            match open_connection(url) {
                Ok(fresh) => conn = Some(fresh),
                Err(e) => {
                    tracing::warn!("could not open a connection to checkpoint the WAL: {e}");
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut() {
            // The anchor is let go: held, it would pin the checkpoint to its snapshot.
            match anchor.lifted(true, || c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")) {
                Ok(()) => {
                    if failing.take().is_some() {
                        tracing::info!("the WAL is checkpointed again");
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    if failing.as_ref() != Some(&why) {
                        tracing::warn!("could not checkpoint the WAL: {why}");
                        failing = Some(why);
                    }
                    conn = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` compiles SQLite with the planner stability guarantee; without
    /// it every `LIMIT ?` query is re-parsed on each run (see that file).
    #[test]
    fn the_bundled_sqlite_keeps_prepared_statements_across_bindings() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut conn)
            .unwrap();
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite was built without ENABLE_QPSG: {:?}",
            options
                .iter()
                .map(|o| o.compile_options.as_str())
                .collect::<Vec<_>>()
        );
    }
}
