//! Integration tests of chatd: the real binary, real HTTP on a loopback port, a real
//! SQLite file, and a fake OpenAI-compatible upstream. One test binary, a module per area.

mod archive;
mod branch_archive;
mod branches;
mod chat;
mod conversation_settings;
mod conversations;
mod deletes;
mod docs_page;
mod errors;
mod front_door;
mod front_door_forks;
mod front_door_lifecycle;
mod front_door_rules;
mod front_door_tools;
mod hostile;
mod idempotency;
mod lifecycle;
mod property;
mod provider;
mod providers;
mod resume;
mod scale;
mod schemathesis;
mod search;
mod search_index;
mod security;
mod settings;
mod storage;
mod summaries;
mod support;
mod titles;
mod ui_chat;
mod users;
mod web;
