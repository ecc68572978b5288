//! The PostgreSQL connection pool's manager: diesel's, with two changes measured on
//! the benchmark's PostgreSQL scenario (BENCHMARKS.md, issue 19).
//!
//! - A connection is pinged (`SELECT 1`) when it is taken from the pool only if it sat
//!   idle long enough for the server or the network to have dropped it, or if the last
//!   call on it failed. diesel's manager, with r2d2's default, pings on every checkout:
//!   one extra round trip for every store call, a third of a REST read's round trips.
//!   A connection the server closed while it was in use fails that call, is pinged at
//!   its next checkout and then replaced.
//! - `synchronous_commit` for chatd's own sessions, when the operator turned it off
//!   (`--postgres-synchronous-commit off`, docs/ARCHITECTURE.md, "Durability").

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Error, ManageConnection};

/// Idle time after which a pooled connection is pinged before it is lent again: well
/// under any keep-alive or idle timeout a proxy or server would apply, well over the gap
/// between two calls of a busy chatd.
const PING_AFTER_IDLE: Duration = Duration::from_secs(2);

/// A pooled PostgreSQL connection, with what decides whether to ping it.
pub(crate) struct PooledPg {
    pub(super) conn: PgConnection,
    returned: Instant,
    /// The last call on it failed: it may be the connection that did.
    pub(super) suspect: bool,
}

pub(super) struct PgManager {
    diesel: ConnectionManager<PgConnection>,
    synchronous_commit: bool,
}

impl PgManager {
    pub(super) fn new(url: &str, synchronous_commit: bool) -> PgManager {
        PgManager {
            diesel: ConnectionManager::new(url),
            synchronous_commit,
        }
    }
}

impl ManageConnection for PgManager {
    type Connection = PooledPg;
    type Error = Error;

    fn connect(&self) -> Result<PooledPg, Error> {
        let mut conn = self.diesel.connect()?;
        if !self.synchronous_commit {
            conn.batch_execute("SET synchronous_commit = off")
                .map_err(Error::QueryError)?;
        }
        Ok(PooledPg {
            conn,
            returned: Instant::now(),
            suspect: false,
        })
    }

    fn is_valid(&self, pooled: &mut PooledPg) -> Result<(), Error> {
        if !pooled.suspect && pooled.returned.elapsed() < PING_AFTER_IDLE {
            return Ok(());
        }
        self.diesel.is_valid(&mut pooled.conn)?;
        pooled.suspect = false;
        Ok(())
    }

    /// r2d2 calls this as the connection comes back: the start of its idle time.
    fn has_broken(&self, pooled: &mut PooledPg) -> bool {
        pooled.returned = Instant::now();
        self.diesel.has_broken(&mut pooled.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::PgManager;
    use diesel::prelude::*;
    use diesel::r2d2::ManageConnection;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        synchronous_commit: String,
    }

    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    fn server() -> Option<String> {
        let url = std::env::var("CHATD_TEST_POSTGRES_URL").ok();
        if url.is_none() {
            eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
        }
        url
    }

    fn synchronous_commit(manager: &PgManager) -> String {
        let mut pooled = manager.connect().unwrap();
        let row: Setting = diesel::sql_query("SHOW synchronous_commit")
            .get_result(&mut pooled.conn)
            .unwrap();
        row.synchronous_commit
    }

    #[test]
    fn synchronous_commit_is_turned_off_only_when_asked() {
        let Some(url) = server() else { return };
        assert_eq!(synchronous_commit(&PgManager::new(&url, true)), "on");
        assert_eq!(synchronous_commit(&PgManager::new(&url, false)), "off");
    }

    /// A connection just returned is lent without a ping, even one the server has
    /// closed meanwhile; once a call on it failed, the next checkout pings it and the
    /// pool learns it is gone.
    #[test]
    fn only_a_suspect_or_long_idle_connection_is_pinged() {
        let Some(url) = server() else { return };
        let manager = PgManager::new(&url, true);
        let mut pooled = manager.connect().unwrap();
        assert!(!manager.has_broken(&mut pooled));
        let pid: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result(&mut pooled.conn)
            .unwrap();
        let mut other = manager.connect().unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({}, 5000)", pid.pid))
            .execute(&mut other.conn)
            .unwrap();
        assert!(
            manager.is_valid(&mut pooled).is_ok(),
            "a connection returned moments ago is not pinged"
        );
        let failed = diesel::sql_query("SELECT 1 AS pid").execute(&mut pooled.conn);
        assert!(failed.is_err(), "the server closed it");
        pooled.suspect = true;
        assert!(
            manager.is_valid(&mut pooled).is_err(),
            "after a failed call it is pinged, and the ping fails"
        );
    }
}
