//! chatctl's integration tests: the real binary against a real chatd (echo provider) on
//! an ephemeral port, asserting on stdout, stderr and exit codes.

mod archive;
mod autostart;
mod branches;
mod chat;
mod chat_branches;
mod completions;
mod conv;
mod conv_manage;
mod daemon;
mod errors;
mod fallback;
mod help;
mod markdown;
mod models;
mod picker;
mod plain;
mod prompt;
mod pty;
mod reasoning;
mod regressions;
mod repl;
mod resume;
mod send;
mod status;
mod support;
mod tty;
mod user;
mod watch;
