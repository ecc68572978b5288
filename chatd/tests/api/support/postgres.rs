//! Which database a test's daemons use, and a PostgreSQL database of a test's own.

use super::unique;

/// The database backend a test's daemons use.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of a PostgreSQL that tests may create databases on.
    Postgres(String),
}

tokio::task_local! {
    static BACKEND: Backend;
}

impl Backend {
    /// PostgreSQL when `CHATD_TEST_POSTGRES_URL` names a server (as atuin does).
    pub fn postgres() -> Option<Backend> {
        std::env::var("CHATD_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .map(Backend::Postgres)
    }

    pub async fn run(self, test: impl std::future::Future<Output = ()>) {
        BACKEND.scope(self, test).await
    }

    pub(super) fn current() -> Backend {
        BACKEND.try_with(Clone::clone).unwrap_or(Backend::Sqlite)
    }
}

/// A PostgreSQL database of one test, dropped with it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub(super) fn create(server_url: &str) -> PgDatabase {
        use diesel::prelude::*;
        let name = format!("chatd_test_{}_{}", std::process::id(), unique());
        let mut admin = diesel::PgConnection::establish(server_url).unwrap_or_else(|e| {
            panic!("CHATD_TEST_POSTGRES_URL is set but {server_url} cannot be reached: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create a test database");
        let (without_query, _) = server_url.split_once('?').unwrap_or((server_url, ""));
        let base = match without_query.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('/') {
                Some((authority, _)) => format!("{scheme}://{authority}"),
                None => without_query.to_string(),
            },
            None => panic!("CHATD_TEST_POSTGRES_URL is not a URL: {server_url}"),
        };
        PgDatabase {
            admin_url: server_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::prelude::*;
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
