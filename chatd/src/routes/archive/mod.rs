//! Extensions that take conversations out of chatd and bring them in (`docs/API.md`
//! §3.12, §3.13): `GET /conversations/{id}/export?format=json|markdown`,
//! `GET /users/{id}/export` (JSON Lines, streamed a page at a time), and
//! `POST /users/{id}/import` (chatd's own JSON or ChatGPT's `conversations.json`, read
//! as a stream: `import/`).

pub(super) mod export;
pub(super) mod import;
mod markdown;

pub use export::{export_conversation, export_user};
pub use import::import;
