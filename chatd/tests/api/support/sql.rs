//! SQL run by a test straight on a daemon's database, SQLite file or PostgreSQL alike:
//! to check what is really stored (orphans, lease rows) and to age rows.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::Daemon;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A connection to the daemon's database, of whichever backend it runs on.
enum Database {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

fn open(daemon: &Daemon) -> Database {
    match daemon.postgres_url() {
        Some(url) => Database::Postgres(PgConnection::establish(url).expect("open the database")),
        None => Database::Sqlite(sqlite_beside(&daemon.database())),
    }
}

/// A connection to a SQLite file that a running chatd may be writing: it waits out
/// chatd's locks (the writer's transactions, a checkpoint) instead of failing with
/// "database is locked", as every connection of chatd's own does.
pub fn sqlite_beside(path: &std::path::Path) -> SqliteConnection {
    let mut conn =
        SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("open the database");
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .expect("set a busy timeout");
    conn
}

/// The number `query` answers; it must name its one column `n`.
pub fn count(daemon: &Daemon, query: &str) -> i64 {
    let rows: Vec<Count> = match open(daemon) {
        Database::Postgres(mut conn) => diesel::sql_query(query).load(&mut conn),
        Database::Sqlite(mut conn) => diesel::sql_query(query).load(&mut conn),
    }
    .unwrap_or_else(|e| panic!("{query}: {e}"));
    rows.first().map(|row| row.n).expect("one row")
}

/// Runs a script of statements (a migration's, say), in one go.
pub fn batch(daemon: &Daemon, script: &str) {
    use diesel::connection::SimpleConnection;
    match open(daemon) {
        Database::Postgres(mut conn) => conn.batch_execute(script),
        Database::Sqlite(mut conn) => conn.batch_execute(script),
    }
    .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Runs a statement; returns the rows it changed.
pub fn execute(daemon: &Daemon, statement: &str) -> usize {
    match open(daemon) {
        Database::Postgres(mut conn) => diesel::sql_query(statement).execute(&mut conn),
        Database::Sqlite(mut conn) => diesel::sql_query(statement).execute(&mut conn),
    }
    .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

/// Rows that belong to nothing: messages and leases without their conversation,
/// conversations without their user.
pub fn orphans(daemon: &Daemon) -> i64 {
    count(
        daemon,
        "SELECT (SELECT count(*) FROM messages m WHERE NOT EXISTS \
             (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)) \
         + (SELECT count(*) FROM reply_checkpoints r WHERE NOT EXISTS \
             (SELECT 1 FROM conversations c WHERE c.id = r.conversation_id)) \
         + (SELECT count(*) FROM conversations c WHERE NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = c.user_id)) AS n",
    )
}
