//! The benchmark databases, built before chatd opens them: chatd's own store creates the
//! file and applies its migrations, then plain SQL seeds the rows in one transaction
//! (recursive CTEs, so a million messages take seconds, not a million round trips).
//!
//! Ids are fixed so the scenarios can name them: user 1 `bench` owns conversations
//! 1..=10, and conversation 1 holds 50 messages.

use std::path::Path;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

pub const BENCH_USER: &str = "bench";
pub const BENCH_USER_ID: i64 = 1;
pub const BENCH_CONVERSATION: i64 = 1;
/// A message of realistic length: a couple of sentences.
pub const CONTENT: &str = "The quick brown fox jumps over the lazy dog; then it asks the model \
                       why the sky is blue, and the model explains Rayleigh scattering.";
pub const AT: &str = "2026-11-24 07:00:00.000000";

/// How the seed SQL writes the one timestamp: SQLite stores the text, PostgreSQL needs a
/// typed literal (an untyped one in a SELECT list is text there).
pub fn sqlite_at() -> String {
    format!("'{AT}'")
}

pub fn postgres_at() -> String {
    format!("TIMESTAMP '{AT}'")
}

/// Creates `path` with chatd's schema and the `bench` user's ten conversations.
pub fn base(path: &Path) -> anyhow::Result<()> {
    let location = chatd::store::Location::Sqlite(path.to_path_buf());
    let store = chatd::store::Store::open(&location, 1)
        .with_context(|| format!("chatd's store could not create {}", path.display()))?;
    drop(store);
    run(path, &base_sql(&sqlite_at()))
}

/// The `bench` user, its ten conversations and conversation 1's 50 messages; `at` is the
/// timestamp expression.
pub fn base_sql(at: &str) -> String {
    format!(
        "INSERT INTO users (id, username, email, created_at) \
           VALUES ({BENCH_USER_ID}, '{BENCH_USER}', 'bench@example.invalid', {at});
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
           INSERT INTO conversations (id, user_id, name, created_at)
           SELECT i, {BENCH_USER_ID}, 'conversation ' || i, {at} FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
           INSERT INTO messages (conversation_id, role, content, status, created_at)
           SELECT {BENCH_CONVERSATION}, CASE i % 2 WHEN 1 THEN 'user' ELSE 'assistant' END,
                  '{CONTENT}', 'complete', {at} FROM n;
         {LINE}"
    )
}

/// Makes the seeded messages of every conversation one line, as chatd would have stored
/// them (docs/API.md §3.19): each message follows the one before it in id order and the
/// last is the active leaf. Without it the rows have no parent and no active leaf, and
/// every read of a conversation would read an empty path. The same SQL on both backends.
pub const LINE: &str = "
    UPDATE messages SET parent_id = w.prev
      FROM (SELECT id, LAG(id) OVER (PARTITION BY conversation_id ORDER BY id) AS prev
              FROM messages) AS w
     WHERE messages.id = w.id AND w.prev IS NOT NULL;
    UPDATE conversations SET active_leaf_id = (
        SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id);";

/// Adds `conversations` conversations (ids after 10, over users 2..=101) with
/// `messages_each` messages each.
pub fn bulk(path: &Path, conversations: i64, messages_each: i64) -> anyhow::Result<()> {
    run(path, &bulk_sql(conversations, messages_each, &sqlite_at()))
}

/// The SQL of `bulk`; `at` is the timestamp expression.
pub fn bulk_sql(conversations: i64, messages_each: i64, at: &str) -> String {
    let last = 10 + conversations;
    let mut sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 101)
           INSERT INTO users (id, username, email, created_at)
           SELECT i, 'seed' || i, NULL, {at} FROM n;
         WITH RECURSIVE n(i) AS (SELECT 11 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
           INSERT INTO conversations (id, user_id, name, created_at)
           SELECT i, 2 + i % 100, NULL, {at} FROM n;"
    );
    if messages_each > 0 {
        // Round robin over the conversations, as many users chatting at once would
        // interleave them: one conversation's rows are spread over the whole table, so
        // only the (conversation_id, id) index keeps a read from scanning.
        sql.push_str(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
                                      WHERE i < {conversations} * {messages_each} - 1)
               INSERT INTO messages (conversation_id, role, content, status, created_at)
               SELECT 11 + (i % {conversations}),
                      CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END,
                      '{CONTENT}', 'complete', {at} FROM n;
             {LINE}"
        ));
    }
    sql
}

/// Fills the path hashes of the seeded messages (the SQL above writes none) with
/// chatd's own store, so that chatd finds the database as it writes one and does not
/// fill them in the background while a scenario measures.
pub async fn path_hashes(path: &Path) -> anyhow::Result<()> {
    fill_path_hashes(chatd::store::Location::Sqlite(path.to_path_buf())).await
}

/// `path_hashes` for any database chatd opens.
pub async fn fill_path_hashes(location: chatd::store::Location) -> anyhow::Result<()> {
    let store =
        tokio::task::spawn_blocking(move || chatd::store::Store::open(&location, 1)).await??;
    store.fill_path_hashes(usize::MAX).await?;
    Ok(())
}

/// Runs `sql` on the seeded file in one transaction.
pub fn run(path: &Path, sql: &str) -> anyhow::Result<()> {
    let url = path.to_string_lossy();
    let mut conn = SqliteConnection::establish(&url)
        .with_context(|| format!("could not open {}", path.display()))?;
    conn.batch_execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF;")?;
    conn.transaction::<_, diesel::result::Error, _>(|conn| conn.batch_execute(sql))
        .with_context(|| format!("could not seed {}", path.display()))?;
    // These databases are never searched: the search queue the insert trigger filled
    // is emptied, or every chatd started on them would spend minutes indexing a
    // million messages while it is measured (the search scenario seeds its own and
    // times its indexing).
    conn.batch_execute("DELETE FROM messages_unindexed;")?;
    // Leaves one file with no WAL behind, so chatd's start-up is not timing a replay.
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}
