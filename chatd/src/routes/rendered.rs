//! Messages kept as the JSON the API shows them in, so that reading a conversation again
//! renders only what is new since the last read. A message never changes once stored
//! (replies are inserted once, when they end), and a deleted message's id is never given
//! to another (SQLite's AUTOINCREMENT, PostgreSQL's sequences), so a message id always
//! renders the same bytes: there is nothing to invalidate, across processes too. The
//! entry of a deleted message is never asked for again (reads ask only for the ids the
//! store returns) and ages out with its generation. Profiles of
//! `GET /conversations/{id}` showed three quarters of its time in reading rows and
//! escaping their text anew on every read. Memory is bounded as `kept.rs` says.

use super::views;
use crate::kept::{Kept, Weight};
use crate::store::{KnownOrRow, MessageRow};
use bytes::{BufMut, Bytes, BytesMut};

/// A message's JSON object without its closing brace, so the extension's fields can
/// be added to it or not: the documented fields, then the extension's, each after a
/// comma, in one buffer (`documented` long). One buffer, not two, because every read
/// clones and drops each message it shows: one reference count each way, not two, on
/// counters both worker threads touch.
#[derive(Debug, Clone)]
pub struct RenderedMessage {
    json: Bytes,
    documented: usize,
}

impl RenderedMessage {
    /// The documented object, or the extension's with `status` and the reply's details
    /// last.
    fn write(&self, out: &mut BytesMut, with_status: bool) {
        let end = if with_status {
            self.json.len()
        } else {
            self.documented
        };
        out.put_slice(&self.json[..end]);
        out.put_u8(b'}');
    }

    fn size(&self) -> usize {
        self.json.len()
    }
}

/// Renders a stored row as `views::message` and serde do, since those define the shape.
fn render(row: MessageRow) -> Option<RenderedMessage> {
    let extension = serde_json::to_vec(&views::MessageExtension::of(&row)).ok()?;
    // `{"status":...}` becomes `,"status":...`, to follow the documented fields.
    let fields = extension.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let json = serde_json::to_vec(&views::message(row, false)).ok()?;
    let open = json.strip_suffix(b"}")?;
    let mut both = BytesMut::with_capacity(open.len() + 1 + fields.len());
    both.put_slice(open);
    both.put_u8(b',');
    both.put_slice(fields);
    Some(RenderedMessage {
        json: both.freeze(),
        documented: open.len(),
    })
}

impl Weight for RenderedMessage {
    fn weight(&self) -> usize {
        self.size()
    }
}

/// A whole path's messages as a JSON array's elements, kept by the path's last message.
/// A path never changes while its last message exists (`store/known_paths.rs` says
/// why) and its messages never change, so neither do these bytes.
#[derive(Debug, Clone)]
pub struct RenderedPath(Bytes);

impl RenderedPath {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Weight for RenderedPath {
    fn weight(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug)]
pub struct RenderedMessages {
    kept: Kept<RenderedMessage>,
    /// By leaf id: the documented objects, and the extension's (with `status`). A read
    /// of an unchanged conversation is then one look-up and one copy, not a look-up,
    /// two reference counts and a copy per message (44% of the read's store part in
    /// perf with 50 messages).
    documented_paths: Kept<RenderedPath>,
    extended_paths: Kept<RenderedPath>,
}

impl RenderedMessages {
    /// At most `budget` bytes of messages' JSON, and half as much again for whole
    /// paths (a quarter each way); 0 keeps nothing.
    pub fn with_budget(budget: usize) -> RenderedMessages {
        RenderedMessages {
            kept: Kept::with_budget(budget),
            documented_paths: Kept::with_budget(budget / 4),
            extended_paths: Kept::with_budget(budget / 4),
        }
    }

    fn paths(&self, with_status: bool) -> &Kept<RenderedPath> {
        if with_status {
            &self.extended_paths
        } else {
            &self.documented_paths
        }
    }

    /// Whether whole paths are kept at all, so a read may look for one first.
    pub fn keeps_paths(&self) -> bool {
        self.documented_paths.keeps_anything()
    }

    /// The messages of the path that ends at `leaf`, if kept.
    pub fn path(&self, leaf: i64, with_status: bool) -> Option<RenderedPath> {
        self.paths(with_status).get(leaf)
    }

    /// Keeps the messages written for the path that ends at `leaf`.
    pub fn keep_path(&self, leaf: i64, with_status: bool, elements: Bytes) {
        self.paths(with_status).keep(leaf, RenderedPath(elements));
    }

    /// What is kept for each id, in order.
    pub fn lookup(&self, ids: &[i64]) -> Vec<Option<RenderedMessage>> {
        self.kept.get_each(ids)
    }

    /// Renders what the store read, keeps it, and writes every message in order as a
    /// JSON array's elements (without the brackets).
    pub fn write_all(
        &self,
        parts: Vec<KnownOrRow<RenderedMessage>>,
        with_status: bool,
        out: &mut BytesMut,
    ) {
        let mut fresh = Vec::new();
        let mut first = true;
        for part in parts {
            let message = match part {
                KnownOrRow::Known(kept) => kept,
                KnownOrRow::Row(row) => {
                    let id = row.id;
                    let Some(rendered) = render(row) else {
                        continue;
                    };
                    if self.kept.keeps_anything() {
                        fresh.push((id, rendered.clone()));
                    }
                    rendered
                }
            };
            if !first {
                out.put_u8(b',');
            }
            first = false;
            message.write(out, with_status);
        }
        if !fresh.is_empty() {
            self.kept.keep_all(fresh);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use common::{MessageStatus, Role};

    use crate::store::MessageDetails;

    fn row(id: i64, content: &str, status: MessageStatus) -> MessageRow {
        MessageRow {
            id,
            conversation_id: 7,
            role: if id % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
            content: content.to_string(),
            status,
            created_at: NaiveDateTime::parse_from_str(
                "2026-11-24 05:39:12.123456",
                "%Y-%m-%d %H:%M:%S%.f",
            )
            .unwrap(),
            details: MessageDetails::NONE,
            parent_id: None,
        }
    }

    #[test]
    fn a_rendered_message_is_exactly_what_serde_writes() {
        let texts = [
            "plain",
            "quote \" and \\ and\nnewline",
            "emoji 😀 and \u{1}",
            "",
        ];
        let details = MessageDetails {
            model: Some("ollama/qwen3:8b".into()),
            finish_reason: Some("length".into()),
            prompt_tokens: None,
            completion_tokens: Some(7),
            ttft_ms: Some(0),
            duration_ms: Some(1234),
            reasoning: Some("a \"thought\"\n😀".into()),
        };
        for (i, text) in texts.iter().enumerate() {
            let mut row = row(i as i64 + 1, text, MessageStatus::Cancelled);
            if i % 2 == 1 {
                row.details = details.clone();
            }
            let rendered = render(row.clone()).unwrap();
            for with_status in [false, true] {
                let mut out = BytesMut::new();
                rendered.write(&mut out, with_status);
                let expected = serde_json::to_vec(&views::message(row.clone(), with_status));
                assert_eq!(out.as_ref(), expected.unwrap().as_slice(), "{text:?}");
            }
        }
    }

    #[test]
    fn rows_read_are_kept_and_come_back_in_order() {
        let cache = RenderedMessages::with_budget(1 << 20);
        let mut out = BytesMut::new();
        let parts = vec![
            KnownOrRow::Row(row(1, "a", MessageStatus::Complete)),
            KnownOrRow::Row(row(2, "b", MessageStatus::Failed)),
        ];
        cache.write_all(parts, true, &mut out);
        let kept = cache.lookup(&[1, 2, 3]);
        assert!(kept[0].is_some() && kept[1].is_some() && kept[2].is_none());
        let mut again = BytesMut::new();
        let parts = kept.into_iter().flatten().map(KnownOrRow::Known).collect();
        cache.write_all(parts, true, &mut again);
        assert_eq!(out, again);
    }

    #[test]
    fn memory_stays_within_the_budget() {
        let cache = RenderedMessages::with_budget(10_000);
        let text = "x".repeat(500);
        for id in 0..1_000 {
            cache.write_all(
                vec![KnownOrRow::Row(row(id, &text, MessageStatus::Complete))],
                false,
                &mut BytesMut::new(),
            );
        }
        let bytes = cache.kept.bytes();
        assert!(bytes <= 10_000, "{bytes} bytes kept");
        assert!(cache.lookup(&[999])[0].is_some(), "the newest is kept");
        let nothing = RenderedMessages::with_budget(0);
        nothing.write_all(
            vec![KnownOrRow::Row(row(1, "a", MessageStatus::Complete))],
            false,
            &mut BytesMut::new(),
        );
        assert!(nothing.lookup(&[1])[0].is_none());
    }

    #[test]
    fn whole_paths_are_kept_by_leaf_and_variant_and_not_at_all_without_a_budget() {
        let cache = RenderedMessages::with_budget(1 << 20);
        assert!(cache.keeps_paths());
        cache.keep_path(7, false, Bytes::from_static(b"{\"a\":1}"));
        cache.keep_path(
            7,
            true,
            Bytes::from_static(b"{\"a\":1,\"status\":\"complete\"}"),
        );
        assert_eq!(cache.path(7, false).unwrap().bytes(), b"{\"a\":1}");
        assert_eq!(
            cache.path(7, true).unwrap().bytes(),
            b"{\"a\":1,\"status\":\"complete\"}"
        );
        assert!(
            cache.path(8, false).is_none(),
            "another leaf is another path"
        );

        let nothing = RenderedMessages::with_budget(0);
        assert!(!nothing.keeps_paths());
        nothing.keep_path(7, false, Bytes::from_static(b"{}"));
        assert!(nothing.path(7, false).is_none());
    }
}
