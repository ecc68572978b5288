//! Test support: the real chatd binary on an ephemeral loopback port with a temporary
//! SQLite file (or a database of its own on PostgreSQL), an HTTP client for it, a
//! spec-conforming SSE reader, and a fake OpenAI-compatible upstream that speaks the real
//! chunk format with configurable delays, errors and early closes. Everything talks to
//! 127.0.0.1 only, and every wait is bounded.
//!
//! - `daemon.rs`: [`Daemon`], one chatd process, and its requests;
//! - `postgres.rs`: [`Backend`] (which database a test runs on) and [`PgDatabase`];
//! - `sse.rs`: reading event streams as a conforming client does;
//! - `upstream.rs`: [`FakeUpstream`], the provider the tests control;
//! - `load.rs`: many chats at once, and checking what they stored;
//! - `sql.rs`: SQL straight on a daemon's database.

mod daemon;
mod load;
mod postgres;
pub mod sql;
mod sse;
mod upstream;

pub use daemon::Daemon;
pub use load::{ChatJob, run_chats, stored_chats};
pub use postgres::Backend;
pub use sse::{SseEvent, end_event, read_events, read_events_at_once, reply_text};
pub use upstream::{FakeUpstream, Serving, Upstream, chunk, daemon_for, is_title_request};

use std::time::Duration;

use serde_json::Value;

/// Runs each named test (an `async fn NAME()` in the same module) once per backend:
/// `NAME::sqlite` always, `NAME::postgres` when `CHATD_TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    $crate::support::Backend::Sqlite.run(super::$name()).await
                }

                #[tokio::test]
                async fn postgres() {
                    match $crate::support::Backend::postgres() {
                        Some(backend) => backend.run(super::$name()).await,
                        None => eprintln!(
                            "skipped {}::postgres: CHATD_TEST_POSTGRES_URL is not set",
                            module_path!()
                        ),
                    }
                }
            }
        )*
    };
}

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(20);

pub async fn read_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

/// A number no other caller in this process gets.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
