//! Completions that ask the daemon (clap_complete's `CompleteEnv` engine, activated by
//! `COMPLETE=$SHELL chatctl`): conversation ids with their titles for `conv show`,
//! `chat`, `send -c` and `cancel`, the daemon's models for `--model`, and the usernames
//! chatctl remembers for `--user`.
//!
//! A completer sees only the word being completed, not the rest of the command line,
//! so it talks to `CHATCTL_SERVER` (else the default) as `CHATCTL_USER` (else the
//! remembered user). It never starts a daemon, and gives up after a moment: a shell
//! waiting on a Tab must not hang. Any failure means no candidates, never an error.

use std::time::Duration;

use clap_complete::CompletionCandidate;
use common::summaries::SummaryOrder;

use crate::client::{Autostart, Client, DEFAULT_SERVER};
use crate::config::Store;
use crate::listing::{self, Window};

/// How long a Tab may wait for the daemon.
const PATIENCE: Duration = Duration::from_secs(2);
/// How many conversations are offered (the most recently active).
const OFFERED: u64 = 100;

/// Conversation ids, the most recently active first, each with its title, message
/// count and last activity as help.
pub fn conversations() -> Vec<CompletionCandidate> {
    let store = Store::load();
    let Some(user) = std::env::var("CHATCTL_USER")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| store.remembered.user.clone())
    else {
        return Vec::new();
    };
    let found = ask_daemon(|client| async move {
        let user = client.user(&user).await.ok()?;
        let window = Window::Page {
            skip: 0,
            limit: OFFERED,
        };
        listing::fetch(&client, user.id, window, SummaryOrder::Newest)
            .await
            .ok()
    });
    let Some(listing) = found else {
        return Vec::new();
    };
    listing
        .entries
        .iter()
        .enumerate()
        .map(|(order, entry)| {
            let mut help = entry.title();
            if let Some(count) = entry.message_count {
                help.push_str(&format!(" · {count} messages"));
            }
            CompletionCandidate::new(entry.id.to_string())
                .help(Some(help.into()))
                .display_order(Some(order))
        })
        .collect()
}

/// The models the daemon offers (`GET /models`), in its order, the default first.
pub fn models() -> Vec<CompletionCandidate> {
    let Some(models) = ask_daemon(|client| async move { client.models().await.ok().flatten() })
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = models
        .providers
        .into_iter()
        .flat_map(|provider| provider.models)
        .collect();
    if let Some(at) = names.iter().position(|name| *name == models.default) {
        let default = names.remove(at);
        names.insert(0, default);
    }
    names
        .into_iter()
        .enumerate()
        .map(|(order, name)| {
            let help = (name == models.default).then(|| "the default".into());
            CompletionCandidate::new(name)
                .help(help)
                .display_order(Some(order))
        })
        .collect()
}

/// What `ask` finds out from the daemon at `CHATCTL_SERVER` (else the default),
/// within `PATIENCE`; `None` on any failure.
fn ask_daemon<T, F>(ask: impl FnOnce(Client) -> F) -> Option<T>
where
    F: Future<Output = Option<T>>,
{
    let server = std::env::var("CHATCTL_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.to_string());
    let client = Client::new(&server, Autostart::NotForThisCommand, None).ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    // The timer is made inside the runtime, which it needs.
    runtime
        .block_on(async { tokio::time::timeout(PATIENCE, ask(client)).await })
        .ok()
        .flatten()
}

/// The usernames chatctl remembers: the default user and those of remembered
/// conversations (the API has no way to list users).
pub fn usernames() -> Vec<CompletionCandidate> {
    let store = Store::load();
    let remembered = &store.remembered;
    let mut names: Vec<&str> = remembered.user.as_deref().into_iter().collect();
    for entry in &remembered.last_conversation {
        if !names.contains(&entry.user.as_str()) {
            names.push(&entry.user);
        }
    }
    names.into_iter().map(CompletionCandidate::new).collect()
}
