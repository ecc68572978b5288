//! chatd, the local chat daemon: the documented REST + SSE chat API over SQLite or
//! PostgreSQL, with replies relayed from an LLM provider. The binary in `main.rs` only parses the
//! command line and calls [`server::run`].

pub mod config;
pub mod events;
pub mod kept;
pub mod memory;
pub mod providers;
pub mod replies;
pub mod routes;
pub mod search;
pub mod server;
pub mod store;
pub mod titles;

/// `bytes` as lowercase hexadecimal, two digits each.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, b| {
            let _ = write!(text, "{b:02x}");
            text
        })
}
