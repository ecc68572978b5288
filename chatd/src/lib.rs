//! chatd, the local chat daemon: the documented REST + SSE chat API over SQLite, with
//! replies relayed from an LLM provider. The binary in `main.rs` only parses the
//! command line and calls [`server::run`].

pub mod config;
pub mod providers;
pub mod replies;
pub mod routes;
pub mod server;
pub mod store;
