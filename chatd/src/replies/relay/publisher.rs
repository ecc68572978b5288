//! The owner's side of the relay: every reply of this process published on its
//! conversation's channel in small batches, and the control channel on which other
//! processes ask for a checkpoint now or for a reply to stop.

use std::sync::Arc;
use std::time::Duration;

use super::{Control, Note, Part, Relay, process_channel};
use crate::replies::cursor;
use crate::replies::{Replies, Reply, ReplyState};

/// Deltas that come within this of one another leave in one notification.
const BATCH: Duration = Duration::from_millis(25);
/// PostgreSQL refuses payloads of 8000 bytes or more; a batch is split well below.
const MAX_PAYLOAD: usize = 7000;
/// The longest part of one delta in one notification, in bytes of text (JSON escaping
/// at most sextuples it, which `split` allows for by measuring the encoded note).
const MAX_PART_BYTES: usize = 1000;

/// How far one publisher has read its reply.
#[derive(Debug, Default)]
struct Read {
    content_deltas: usize,
    reasoning_deltas: usize,
    content: u64,
    reasoning: u64,
}

impl Read {
    /// The parts new in `state` since the last call, in the order they came, with the
    /// offsets before them.
    fn take_new(&mut self, state: &ReplyState) -> (u64, u64, Vec<Part>) {
        let before = (self.content, self.reasoning);
        let mut parts = Vec::new();
        for (at, reasoning) in state
            .reasoning
            .get(self.reasoning_deltas..)
            .unwrap_or_default()
        {
            for delta in state
                .deltas
                .get(self.content_deltas..*at)
                .unwrap_or_default()
            {
                self.content += cursor::chars(delta);
                parts.push(Part::C(delta.clone()));
            }
            self.content_deltas = self.content_deltas.max(*at);
            self.reasoning += cursor::chars(reasoning);
            parts.push(Part::T(reasoning.clone()));
        }
        self.reasoning_deltas = state.reasoning.len();
        for delta in state.deltas.get(self.content_deltas..).unwrap_or_default() {
            self.content += cursor::chars(delta);
            parts.push(Part::C(delta.clone()));
        }
        self.content_deltas = state.deltas.len();
        (before.0, before.1, parts)
    }
}

/// Cuts `text` into pieces of at most `MAX_PART_BYTES`, at character boundaries.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > MAX_PART_BYTES {
        let mut cut = MAX_PART_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Splits one batch into notes whose payloads stay under `MAX_PAYLOAD` bytes, each with
/// its own offsets.
fn split(reply: i64, content: u64, reasoning: u64, parts: Vec<Part>) -> Vec<String> {
    let mut notes = Vec::new();
    let (mut c, mut t) = (content, reasoning);
    let mut current: Vec<Part> = Vec::new();
    let (mut start_c, mut start_t) = (c, t);
    let mut size = 0;
    let encode = |c, t, p: Vec<Part>| serde_json::to_string(&Note::Delta { r: reply, c, t, p });
    for part in parts {
        let (text, is_content) = match &part {
            Part::C(text) => (text.as_str(), true),
            Part::T(text) => (text.as_str(), false),
        };
        for piece in pieces(text) {
            // Escaped, a byte can take six (`\u0001`); plus the part's own brackets.
            let cost = serde_json::to_string(piece).map_or(piece.len() * 6, |s| s.len()) + 8;
            if size + cost > MAX_PAYLOAD - 100 && !current.is_empty() {
                if let Ok(note) = encode(start_c, start_t, std::mem::take(&mut current)) {
                    notes.push(note);
                }
                (start_c, start_t, size) = (c, t, 0);
            }
            size += cost;
            if is_content {
                c += cursor::chars(piece);
                current.push(Part::C(piece.to_string()));
            } else {
                t += cursor::chars(piece);
                current.push(Part::T(piece.to_string()));
            }
        }
    }
    if !current.is_empty()
        && let Ok(note) = encode(start_c, start_t, current)
    {
        notes.push(note);
    }
    notes
}

impl Relay {
    /// Publishes a reply of this process until it is stored: `start`, its deltas in
    /// batches, `end`.
    pub(crate) fn publish(&self, reply: Arc<Reply>) {
        let this = self.clone();
        tokio::spawn(async move { this.publish_all(reply).await });
    }

    async fn publish_all(self, reply: Arc<Reply>) {
        let id = reply.user_message.id;
        let conversation_id = reply.conversation_id;
        self.send_note(conversation_id, &Note::Start { r: id })
            .await;
        let mut listener = reply.subscribe();
        let mut read = Read::default();
        let mut told_unstored = false;
        let mut last_sent: Option<tokio::time::Instant> = None;
        loop {
            let (batch, end) = {
                let state = listener.borrow_and_update();
                (read.take_new(&state), state.end.clone())
            };
            let (c, t, parts) = batch;
            if !parts.is_empty() {
                for payload in split(id, c, t, parts) {
                    self.send_raw(conversation_id, &payload).await;
                }
                last_sent = Some(tokio::time::Instant::now());
            }
            if let Some(end) = end
                && (end.stored || !told_unstored)
            {
                let note = Note::End {
                    r: id,
                    s: end.status,
                    stored: end.stored,
                };
                self.send_note(conversation_id, &note).await;
                if end.stored {
                    return;
                }
                told_unstored = true;
            }
            // The reply's sender lives as long as `reply`, held here: an error cannot
            // come before the end, which returned above.
            if listener.changed().await.is_err() {
                return;
            }
            // A delta after a quiet spell goes at once; one within `BATCH` of the last
            // notification waits out the rest of it, so a burst is one notification.
            if let Some(sent) = last_sent {
                tokio::time::sleep_until(sent + BATCH).await;
            }
        }
    }

    async fn send_raw(&self, conversation_id: i64, payload: &str) {
        if let Err(e) = self
            .listener
            .notify(&super::conversation_channel(conversation_id), payload)
            .await
        {
            tracing::debug!(conversation_id, "relay: a batch was not sent: {e}");
        }
    }
}

impl Replies {
    /// Answers other processes on this one's control channel, for as long as chatd runs.
    pub(crate) fn spawn_relay_control(&self) {
        let Some(relay) = self.relay.clone() else {
            return;
        };
        let Some(channel) = process_channel(&relay.owner) else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let mut control = relay.listener.subscribe(&channel).await;
            while let Some(heard) = control.recv().await {
                let super::listener::Heard::Note(payload) = heard else {
                    continue;
                };
                // Another process's request: whatever does not parse is ignored.
                match serde_json::from_str::<Control>(&payload) {
                    Ok(Control::Sync { c }) => {
                        let this = this.clone();
                        let relay = relay.clone();
                        tokio::spawn(async move {
                            let Some(reply) = this.attach(c) else {
                                return;
                            };
                            if this.checkpoint_now(c).await {
                                let note = Note::Synced {
                                    r: reply.user_message.id,
                                };
                                relay.send_note(c, &note).await;
                            }
                        });
                    }
                    Ok(Control::Cancel { c, r }) => {
                        if let Some(reply) =
                            this.attach(c).filter(|reply| reply.user_message.id == r)
                        {
                            reply.stop();
                        }
                    }
                    Err(e) => tracing::debug!("relay: an unreadable control message: {e}"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_batch_is_split_with_the_offsets_of_each_note() {
        let big = "é\u{1}".repeat(5000);
        let parts = vec![
            Part::T("think".into()),
            Part::C(big.clone()),
            Part::C("!".into()),
        ];
        let notes = split(9, 10, 2, parts);
        assert!(notes.len() > 1, "{} notes", notes.len());
        let (mut c, mut t) = (10, 2);
        let mut content = String::new();
        for payload in &notes {
            assert!(payload.len() < 8000, "{} bytes", payload.len());
            let Note::Delta { r, c: nc, t: nt, p } = serde_json::from_str(payload).unwrap() else {
                panic!("not a delta: {payload}");
            };
            assert_eq!((r, nc, nt), (9, c, t));
            for part in p {
                match part {
                    Part::C(text) => {
                        c += cursor::chars(&text);
                        content.push_str(&text);
                    }
                    Part::T(text) => t += cursor::chars(&text),
                }
            }
        }
        assert_eq!(content, format!("{big}!"));
        assert_eq!((c, t), (10 + cursor::chars(&big) + 1, 2 + 5));
    }

    #[test]
    fn new_parts_come_in_the_order_they_came() {
        let mut read = Read::default();
        let mut state = ReplyState::default();
        state.reasoning.push((0, "hm".into()));
        state.deltas.push("ab".into());
        let (c, t, parts) = read.take_new(&state);
        assert_eq!((c, t), (0, 0));
        assert!(matches!(&parts[..], [Part::T(a), Part::C(b)] if a == "hm" && b == "ab"));
        state.deltas.push("cd".into());
        state.reasoning.push((2, "more".into()));
        state.deltas.push("e".into());
        let (c, t, parts) = read.take_new(&state);
        assert_eq!((c, t), (2, 2));
        assert!(
            matches!(&parts[..], [Part::C(a), Part::T(b), Part::C(d)] if a == "cd" && b == "more" && d == "e")
        );
        assert!(read.take_new(&state).2.is_empty());
    }
}
