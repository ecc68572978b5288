//! Replies across chatd processes sharing one PostgreSQL: a client may attach to,
//! resume, wait for or cancel a reply that another process generates. Nothing but
//! PostgreSQL's LISTEN/NOTIFY carries it, with the reply's checkpoint row as the point
//! to catch up from.
//!
//! - The owner publishes every reply on its conversation's channel `chatd_c_{id}`: a
//!   `start`, the deltas in batches of about 25 ms, each with the cursor offsets
//!   before it, and an `end` with the status once the reply is stored
//!   (`publisher.rs`).
//! - Every process listens on its own control channel `chatd_p_{nonce}` (the random
//!   part of its lease owner name): a `sync` asks it to checkpoint a reply now and say
//!   `synced`, a `cancel` to stop one (`publisher.rs`).
//! - A process asked for a reply another one owns mirrors it locally as a [`Reply`]
//!   (`follower.rs`): the checkpoint first, then the deltas past its offsets; a jump in
//!   the offsets, a reconnect of the listener or a lagging buffer makes it ask for a
//!   fresh checkpoint, so a lost notification never leaves a gap or a repeat. The
//!   stored message is the truth at the end.
//!
//! On SQLite there is one process and no relay: no connection is made.

mod follower;
pub mod listener;
mod publisher;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use common::MessageStatus;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Reply;
use crate::store::Store;
use listener::Listener;

/// The channel of one conversation's replies.
fn conversation_channel(conversation_id: i64) -> String {
    format!("chatd_c_{conversation_id}")
}

/// The control channel of the process whose lease owner name is `owner`
/// (`host/pid/nonce`); `None` for a name chatd did not mint.
fn process_channel(owner: &str) -> Option<String> {
    let nonce = owner.rsplit('/').next()?;
    (!nonce.is_empty() && nonce.len() <= 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("chatd_p_{}", nonce.to_ascii_lowercase()))
}

/// What the owner of a reply says on its conversation's channel. `r` is the reply
/// (the id of the user message it answers, as in cursors).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Note {
    Start {
        r: i64,
    },
    /// Parts in the order they came; `c` and `t` are the characters of content and of
    /// reasoning before the first part.
    Delta {
        r: i64,
        c: u64,
        t: u64,
        p: Vec<Part>,
    },
    /// The reply's checkpoint row was just written, on a `sync`.
    Synced {
        r: i64,
    },
    End {
        r: i64,
        s: MessageStatus,
        stored: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Part {
    /// Content.
    C(String),
    /// Reasoning.
    T(String),
}

/// What one process asks another on its control channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Control {
    Sync { c: i64 },
    Cancel { c: i64, r: i64 },
}

/// This process's side of the relay.
#[derive(Debug, Clone)]
pub struct Relay {
    listener: Listener,
    store: Store,
    /// This process's lease owner name.
    owner: Arc<str>,
    /// The replies of other processes mirrored here, by conversation.
    mirrors: Arc<Mutex<HashMap<i64, Weak<Reply>>>>,
}

impl Relay {
    /// Connects this process (lease owner `owner`) to the database at `url` for LISTEN;
    /// the connection runs until `stop`.
    pub fn start(
        url: &str,
        owner: &str,
        store: Store,
        stop: CancellationToken,
    ) -> Result<Relay, String> {
        let application_name = format!("chatd-relay/{}", std::process::id());
        let listener = Listener::start(url, &application_name, stop)?;
        Ok(Relay {
            listener,
            store,
            owner: owner.into(),
            mirrors: Arc::default(),
        })
    }

    /// The LISTEN/NOTIFY connection, and this process's lease owner name, for the
    /// event feed across processes.
    pub fn listener(&self) -> (listener::Listener, String) {
        (self.listener.clone(), self.owner.to_string())
    }

    fn mirrors(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Weak<Reply>>> {
        // Single inserts and removes only.
        self.mirrors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn send_note(&self, conversation_id: i64, note: &Note) {
        let Ok(payload) = serde_json::to_string(note) else {
            return;
        };
        if let Err(e) = self
            .listener
            .notify(&conversation_channel(conversation_id), &payload)
            .await
        {
            // Followers catch up from the checkpoint when they see the gap.
            tracing::debug!(conversation_id, "relay: a notification was not sent: {e}");
        }
    }

    async fn send_control(&self, owner: &str, control: &Control) -> Result<(), String> {
        let channel = process_channel(owner).ok_or("the lease owner's name is not chatd's")?;
        let payload = serde_json::to_string(control).map_err(|e| e.to_string())?;
        self.listener.notify(&channel, &payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_identifiers_made_from_ids_and_owner_names() {
        assert_eq!(conversation_channel(42), "chatd_c_42");
        assert_eq!(
            process_channel("box/12/00ffAB9c00ffab9c").as_deref(),
            Some("chatd_p_00ffab9c00ffab9c")
        );
        assert_eq!(process_channel("box/12/x; DROP"), None);
        assert_eq!(process_channel(""), None);
    }

    #[test]
    fn notes_read_back_as_written() {
        let note = Note::Delta {
            r: 7,
            c: 3,
            t: 0,
            p: vec![Part::T("hm".into()), Part::C("ab\"\n".into())],
        };
        let text = serde_json::to_string(&note).unwrap();
        assert_eq!(
            text,
            r#"{"k":"delta","r":7,"c":3,"t":0,"p":[{"t":"hm"},{"c":"ab\"\n"}]}"#
        );
        assert!(matches!(
            serde_json::from_str::<Note>(&text).unwrap(),
            Note::Delta { r: 7, c: 3, t: 0, p } if p.len() == 2
        ));
    }
}
