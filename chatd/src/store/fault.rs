//! Why storage could not do what was asked, told apart once, here, so that every caller
//! (an HTTP handler, the reply task that retries its final write) sees the same answer.
//!
//! A [`Fault`] is a condition of the machine or the database server that a person can
//! fix or wait out: a full disk, a read-only file, a lock held by another program, a
//! server that went away. Everything else a statement can run into is a bug and stays a
//! plain error.
//!
//! SQLite's errors reach us through diesel without their result code, only with the
//! text of `sqlite3_errstr`, so SQLite faults are recognised by that text, which SQLite
//! has kept unchanged for its primary codes since 3.x. PostgreSQL's are recognised by
//! diesel's kind (taken from the SQLSTATE and the connection status) and, where diesel
//! has no kind for them, by the server's message.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A storage condition that is not a bug, with the documented answer of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No space left for the database (SQLite's `SQLITE_FULL`, PostgreSQL's 53100).
    DiskFull,
    /// The database, its directory or its server refuses writes.
    ReadOnly,
    /// Another program holds the database's lock past the busy wait.
    Locked,
    /// The database file is damaged or is not a database.
    Corrupt,
    /// The operating system failed a read or write of the database file.
    Io,
    /// The database server cannot be reached, or dropped the connection.
    Unreachable,
    /// A concurrent transaction conflicted with this one (serialization failure,
    /// deadlock); trying again succeeds.
    Conflict,
    /// Every pooled connection stayed in use for the whole wait.
    Busy,
}

impl Fault {
    /// What a client is told: what is wrong and what to do. The database's path or URL
    /// is never part of it (it goes to the log).
    pub fn detail(self) -> &'static str {
        match self {
            Fault::DiskFull => "The database's disk is full: free some space, then try again",
            Fault::ReadOnly => {
                "The database is read-only: make the database file and its directory \
                 writable by chatd, then try again"
            }
            Fault::Locked => "The database is locked by another program: try again shortly",
            Fault::Corrupt => {
                "The database file is damaged: restore it from a backup (see chatd's log)"
            }
            Fault::Io => "The database could not be read or written (I/O error): see chatd's log",
            Fault::Unreachable => "The database server cannot be reached: try again shortly",
            Fault::Conflict => "The database was busy with a conflicting write: try again",
            Fault::Busy => "Every database connection is busy: try again shortly",
        }
    }

    /// Seconds after which trying again is likely to succeed without anyone's help;
    /// `None` when a person has to act first.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Fault::Locked | Fault::Io | Fault::Unreachable => Some(5),
            Fault::Conflict | Fault::Busy => Some(1),
            Fault::DiskFull | Fault::ReadOnly | Fault::Corrupt => None,
        }
    }

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Fault::DiskFull => "disk full",
            Fault::ReadOnly => "read-only",
            Fault::Locked => "locked",
            Fault::Corrupt => "corrupt",
            Fault::Io => "I/O error",
            Fault::Unreachable => "unreachable",
            Fault::Conflict => "conflict",
            Fault::Busy => "pool exhausted",
        }
    }
}

/// The fault behind a diesel error, if it is one.
pub fn of_query(error: &DieselError) -> Option<Fault> {
    match error {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::SerializationFailure => Some(Fault::Conflict),
            DatabaseErrorKind::ReadOnlyTransaction => Some(Fault::ReadOnly),
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                Some(Fault::Unreachable)
            }
            _ => of_message(info.message()),
        },
        // The connection broke inside a transaction and diesel could not roll it back.
        DieselError::BrokenTransactionManager => Some(Fault::Unreachable),
        DieselError::RollbackErrorOnCommit { commit_error, .. } => of_query(commit_error),
        DieselError::RollbackTransaction
        | DieselError::AlreadyInTransaction
        | DieselError::NotInTransaction
        | DieselError::NotFound
        | DieselError::QueryBuilderError(_)
        | DieselError::DeserializationError(_)
        | DieselError::SerializationError(_)
        | DieselError::InvalidCString(_) => None,
        _ => of_message(&error.to_string()),
    }
}

/// The fault behind an error that reached us only as text: a database message, or a
/// failed connection attempt (r2d2 and `establish` keep only the text).
pub fn of_message(message: &str) -> Option<Fault> {
    let text = message.to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    // SQLite's sqlite3_errstr texts, then PostgreSQL's and libpq's.
    if has("database or disk is full") || has("no space left on device") {
        Some(Fault::DiskFull)
    } else if has("readonly database")
        || has("read-only file system")
        || has("read-only transaction")
    {
        Some(Fault::ReadOnly)
    } else if has("database is locked") || has("database table is locked") {
        Some(Fault::Locked)
    } else if has("database disk image is malformed") || has("file is not a database") {
        Some(Fault::Corrupt)
    } else if has("disk i/o error") || has("unable to open database file") {
        Some(Fault::Io)
    } else if has("deadlock detected") || has("could not serialize access") {
        Some(Fault::Conflict)
    } else if has("could not connect")
        || has("connection refused")
        || has("connection to server")
        || has("server closed the connection")
        || has("terminating connection")
        || has("no connection to the server")
        || has("the database system is")
        || has("not currently accepting connections")
    {
        Some(Fault::Unreachable)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_texts_are_recognised() {
        assert_eq!(
            of_message("database or disk is full"),
            Some(Fault::DiskFull)
        );
        assert_eq!(
            of_message("attempt to write a readonly database"),
            Some(Fault::ReadOnly)
        );
        assert_eq!(of_message("database is locked"), Some(Fault::Locked));
        assert_eq!(
            of_message("database disk image is malformed"),
            Some(Fault::Corrupt)
        );
        assert_eq!(of_message("disk I/O error"), Some(Fault::Io));
        assert_eq!(of_message("UNIQUE constraint failed: users.username"), None);
    }

    #[test]
    fn postgres_texts_are_recognised() {
        assert_eq!(
            of_message("could not extend file \"base/16384/16385\": No space left on device"),
            Some(Fault::DiskFull)
        );
        assert_eq!(
            of_message("terminating connection due to administrator command"),
            Some(Fault::Unreachable)
        );
        assert_eq!(
            of_message(
                "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused"
            ),
            Some(Fault::Unreachable)
        );
        assert_eq!(
            of_message("FATAL:  database \"x\" is not currently accepting connections"),
            Some(Fault::Unreachable)
        );
        assert_eq!(of_message("deadlock detected"), Some(Fault::Conflict));
    }

    #[test]
    fn every_fault_says_what_to_do() {
        for fault in [
            Fault::DiskFull,
            Fault::ReadOnly,
            Fault::Locked,
            Fault::Corrupt,
            Fault::Io,
            Fault::Unreachable,
            Fault::Conflict,
            Fault::Busy,
        ] {
            // What is wrong, a colon, then what to do.
            let (what, todo) = fault.detail().split_once(": ").expect("two parts");
            assert!(what.starts_with("The database") || what.starts_with("Every"));
            assert!(!todo.is_empty(), "{fault:?}");
        }
    }
}
