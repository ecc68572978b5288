//! Getting a reply back after its connection dropped: `send` gives every message a
//! fresh `Idempotency-Key` and sends it again with the same key when the connection
//! breaks before an answer (chatd then answers with the same reply, never a second
//! message); a stream that breaks mid-reply is resumed after the last event id seen
//! (`GET /conversations/{id}/reply` with `after`), so nothing is printed twice. Both
//! retry with a doubling pause, a bounded number of times.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::ChatRequest;
use reqwest::Response;

use crate::client::Client;
use crate::error::ApiError;

/// Tries after the first, with pauses of 0.25, 0.5, 1, 2 and 4 s (under 8 s in all).
pub const RETRIES: u32 = 5;

/// The pause before retry `attempt` (from 0).
pub fn pause(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(4))
}

/// A key no other request gets: the process, the time and a random number.
pub fn fresh_key() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    // std's RandomState is seeded from the operating system's randomness.
    let random = std::hash::RandomState::new().build_hasher().finish();
    format!("chatctl-{:x}-{nanos:x}-{random:016x}", std::process::id())
}

/// A connection that broke (reset, closed, timed out) rather than an answer.
fn broke(err: &ApiError) -> bool {
    matches!(err, ApiError::Transport { .. })
}

/// Also nothing listening, as while chatd restarts: worth waiting for once a reply
/// has begun.
fn broke_or_gone(err: &ApiError) -> bool {
    broke(err) || matches!(err, ApiError::Unreachable { .. })
}

/// How a reply's stream is opened again.
#[derive(Debug, Clone, Copy)]
pub enum Again<'a> {
    /// `POST /chat` once more, with the first request's key.
    Chat {
        request: &'a ChatRequest,
        key: &'a str,
    },
    /// The attach stream, from `after` (or from the start).
    Attach { after: Option<&'a str> },
    /// `POST /conversations/{id}/regenerate` (of `message_id`, else the last reply).
    /// Never sent twice: it has no key, and a second would be another reply; a drop
    /// before its first event attaches to the reply in flight instead.
    Regenerate { message_id: Option<i64> },
}

impl Again<'_> {
    /// Sends the chat, sending it again (with its key) while the connection breaks
    /// before an answer.
    pub async fn first(
        self,
        client: &Client,
        conversation_id: i64,
    ) -> Result<Option<Response>, ApiError> {
        let mut attempt = 0;
        loop {
            match self.open(client, conversation_id, None, true).await {
                Err(err)
                    if broke(&err)
                        && attempt < RETRIES
                        && !matches!(self, Again::Regenerate { .. }) =>
                {
                    tokio::time::sleep(pause(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The stream again after a drop: after `last_id` when an event was seen, else as
    /// it was first opened. `None`: nothing to attach to (404).
    pub async fn resume(
        self,
        client: &Client,
        conversation_id: i64,
        last_id: Option<&str>,
    ) -> Result<Option<Response>, ApiError> {
        let mut attempt = 0;
        loop {
            tokio::time::sleep(pause(attempt)).await;
            match self.open(client, conversation_id, last_id, false).await {
                Err(err) if broke_or_gone(&err) && attempt + 1 < RETRIES => attempt += 1,
                other => return other,
            }
        }
    }

    async fn open(
        self,
        client: &Client,
        conversation_id: i64,
        last_id: Option<&str>,
        first_open: bool,
    ) -> Result<Option<Response>, ApiError> {
        match (last_id, self) {
            (Some(cursor), _) => client.attach(conversation_id, Some(cursor)).await,
            (None, Again::Chat { request, key }) => client.chat(request, Some(key)).await.map(Some),
            (None, Again::Attach { after }) => client.attach(conversation_id, after).await,
            (None, Again::Regenerate { message_id }) if first_open => client
                .regenerate(conversation_id, message_id)
                .await
                .map(Some),
            (None, Again::Regenerate { .. }) => client.attach(conversation_id, None).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_and_pauses_are_bounded() {
        assert_ne!(fresh_key(), fresh_key());
        assert!(fresh_key().len() <= 255);
        let total: Duration = (0..RETRIES).map(pause).sum();
        assert!(total < Duration::from_secs(8), "{total:?}");
        assert_eq!(pause(10), Duration::from_secs(4));
    }
}
