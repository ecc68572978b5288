//! A chatd reply as the AI SDK's UI message stream (protocol v1): one JSON chunk per
//! `data:` event, `start`, `start-step`, text and reasoning parts (`text-start`,
//! `text-delta`, `text-end`, and the same for `reasoning-*`), in the order they came,
//! then how the reply ended: `finish-step` and `finish` (`finishReason` `stop` or
//! `length`) for a reply the provider finished, `message-metadata` and `abort` for a
//! cancelled one, `message-metadata`, `error` (its `errorText` is what the client shows)
//! and `finish` with `finishReason: "error"` for a failed or interrupted one; then
//! `data: [DONE]`. chatd's own data (ids, status,
//! model, usage) goes only in `messageMetadata`, since the client refuses chunks it
//! does not know. Every field is one of those the `ai` package's `uiMessageChunkSchema`
//! names. Like every stream of chatd, it is only a listener of the reply.

use std::sync::Arc;

use common::sse::push_data_event;
use common::{MessageStatus, Usage};
use serde_json::{Value, json};
use tokio::sync::watch;
use warp::http::HeaderValue;
use warp::reply::Response;

use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::routes::stream::event_stream;
use crate::store::MessageDetails;

/// The header by which the AI SDK's transport knows the protocol.
const PROTOCOL_HEADER: &str = "x-vercel-ai-ui-message-stream";

/// The UI message id of the reply to the user message `user_message_id`: known when the
/// reply starts (its own row id is not, until it is stored), and the same in the stream
/// and in `GET .../messages`.
pub fn reply_message_id(user_message_id: i64, index: i32) -> String {
    // A regenerated reply (not its user message's first) is told apart by its place,
    // as its cursor is (`ID.N`).
    if index > 0 {
        format!("chatd-reply-{user_message_id}.{index}")
    } else {
        format!("chatd-reply-{user_message_id}")
    }
}

/// The UI message id of a stored user message.
pub fn user_message_id(id: i64) -> String {
    format!("chatd-{id}")
}

/// The usage a provider reported, as chatd's messages show it (`null` when unknown).
pub fn usage(details: &MessageDetails) -> Value {
    Usage::of(details.prompt_tokens, details.completion_tokens)
        .and_then(|usage| serde_json::to_value(usage).ok())
        .unwrap_or(Value::Null)
}

/// The stream of `reply`, from its first delta on, then live.
pub fn ui_stream(reply: Arc<Reply>) -> Response {
    let listener = reply.subscribe();
    let listening = Listening {
        reply,
        listener,
        place: Place::default(),
        started: false,
        finished: false,
    };
    let mut response = event_stream(listening, |mut listening| async move {
        let frame = listening.next_frame().await?;
        Some((frame, listening))
    });
    response
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from_static("v1"));
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartKind {
    Text,
    Reasoning,
}

impl PartKind {
    fn name(self) -> &'static str {
        match self {
            PartKind::Text => "text",
            PartKind::Reasoning => "reasoning",
        }
    }
}

/// One client's listener of the reply.
struct Listening {
    reply: Arc<Reply>,
    listener: watch::Receiver<ReplyState>,
    place: Place,
    started: bool,
    finished: bool,
}

/// How much of the reply one listener has sent, and the part it has open.
#[derive(Debug, Default)]
struct Place {
    content_sent: usize,
    reasoning_sent: usize,
    /// The part open now, and its id.
    open: Option<(PartKind, String)>,
    parts_opened: usize,
}

fn push_chunk(frame: &mut String, chunk: &Value) {
    push_data_event(frame, &chunk.to_string());
}

impl Place {
    /// Sends `delta` in a part of `kind`, closing the other kind's part and opening one
    /// of this kind first when needed.
    fn push_delta(&mut self, frame: &mut String, kind: PartKind, delta: &str) {
        let id = match &self.open {
            Some((open, id)) if *open == kind => id.clone(),
            _ => {
                self.close_part(frame);
                let id = format!("{}-{}", kind.name(), self.parts_opened);
                self.parts_opened += 1;
                push_chunk(
                    frame,
                    &json!({"type": format!("{}-start", kind.name()), "id": id}),
                );
                self.open = Some((kind, id.clone()));
                id
            }
        };
        push_chunk(
            frame,
            &json!({"type": format!("{}-delta", kind.name()), "id": id, "delta": delta}),
        );
    }

    fn close_part(&mut self, frame: &mut String) {
        if let Some((kind, id)) = self.open.take() {
            push_chunk(
                frame,
                &json!({"type": format!("{}-end", kind.name()), "id": id}),
            );
        }
    }

    /// The chunks of what `state` holds past this listener's place, content and
    /// reasoning in the order they came.
    fn push_new(&mut self, frame: &mut String, state: &ReplyState) {
        for (at, reasoning) in state
            .reasoning
            .get(self.reasoning_sent..)
            .unwrap_or_default()
        {
            // The content that came before this reasoning goes first.
            for delta in state.deltas.get(self.content_sent..*at).unwrap_or_default() {
                self.push_delta(frame, PartKind::Text, delta);
            }
            self.content_sent = self.content_sent.max(*at);
            self.push_delta(frame, PartKind::Reasoning, reasoning);
        }
        self.reasoning_sent = state.reasoning.len();
        for delta in state.deltas.get(self.content_sent..).unwrap_or_default() {
            self.push_delta(frame, PartKind::Text, delta);
        }
        self.content_sent = state.deltas.len();
    }
}

impl Listening {
    /// chatd's data about the reply, kept by the client as the message's `metadata`.
    fn metadata(&self, end: Option<&ReplyEnd>) -> Value {
        let mut metadata = json!({
            "conversation_id": self.reply.conversation_id,
            "user_message_id": self.reply.user_message.id,
        });
        if let Some(end) = end {
            let row = end.message.as_ref();
            metadata["message_id"] = row.map(|row| row.id).into();
            metadata["status"] = end.status.as_str().into();
            metadata["stored"] = end.stored.into();
            metadata["model"] = row.and_then(|row| row.details.model.clone()).into();
            metadata["finish_reason"] =
                row.and_then(|row| row.details.finish_reason.clone()).into();
            metadata["usage"] = row.map_or(Value::Null, |row| usage(&row.details));
        }
        metadata
    }

    fn push_end(&mut self, frame: &mut String, end: &ReplyEnd) {
        self.place.close_part(frame);
        let metadata = self.metadata(Some(end));
        match end.status {
            MessageStatus::Complete | MessageStatus::Truncated => {
                let reason = if end.status == MessageStatus::Complete {
                    "stop"
                } else {
                    "length"
                };
                push_chunk(frame, &json!({"type": "finish-step"}));
                push_chunk(
                    frame,
                    &json!({"type": "finish", "finishReason": reason, "messageMetadata": metadata}),
                );
            }
            MessageStatus::Cancelled => {
                push_chunk(
                    frame,
                    &json!({"type": "message-metadata", "messageMetadata": metadata}),
                );
                push_chunk(
                    frame,
                    &json!({"type": "abort", "reason": "the reply was cancelled"}),
                );
            }
            MessageStatus::Failed | MessageStatus::Interrupted => {
                let text = end.error.clone().unwrap_or_else(|| {
                    "the reply was interrupted: chatd stopped before it was finished".into()
                });
                // The Chat class stops reading at `error`: its metadata goes first.
                push_chunk(
                    frame,
                    &json!({"type": "message-metadata", "messageMetadata": metadata}),
                );
                push_chunk(frame, &json!({"type": "error", "errorText": text}));
                push_chunk(
                    frame,
                    &json!({"type": "finish", "finishReason": "error", "messageMetadata": metadata}),
                );
            }
        }
        push_data_event(frame, "[DONE]");
    }

    /// Everything new since the last frame, waiting for it if there is nothing yet;
    /// `None` once the end was sent or the reply went away.
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let mut frame = String::new();
        if !self.started {
            self.started = true;
            let start = json!({
                "type": "start",
                "messageId": reply_message_id(self.reply.user_message.id, self.reply.reply_index),
                "messageMetadata": self.metadata(None),
            });
            push_chunk(&mut frame, &start);
            push_chunk(&mut frame, &json!({"type": "start-step"}));
        }
        loop {
            let end = {
                let state = self.listener.borrow_and_update();
                self.place.push_new(&mut frame, &state);
                state.end.clone()
            };
            if let Some(end) = end {
                self.finished = true;
                self.push_end(&mut frame, &end);
                return Some(frame);
            }
            if !frame.is_empty() {
                return Some(frame);
            }
            // A change made since `borrow_and_update` makes this return at once.
            self.listener.changed().await.ok()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(frame: &str) -> Vec<Value> {
        frame
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("a JSON chunk"))
            .collect()
    }

    #[test]
    fn reasoning_and_text_come_as_parts_in_their_order_across_reads() {
        let early = ReplyState {
            deltas: vec!["A".into()],
            reasoning: vec![(0, "think".into()), (1, "more".into())],
            ..ReplyState::default()
        };
        let late = ReplyState {
            deltas: vec!["A".into(), "B".into(), "C".into()],
            reasoning: vec![(0, "think".into()), (1, "more".into())],
            ..ReplyState::default()
        };
        let mut place = Place::default();
        let mut frame = String::new();
        place.push_new(&mut frame, &early);
        place.push_new(&mut frame, &late);
        place.push_new(&mut frame, &late);
        place.close_part(&mut frame);
        let said: Vec<(String, String)> = chunks(&frame)
            .iter()
            .map(|chunk| {
                let kind = chunk["type"].as_str().unwrap_or_default().to_string();
                let what = chunk["delta"].as_str().or(chunk["id"].as_str());
                (kind, what.unwrap_or_default().to_string())
            })
            .collect();
        let expected = [
            ("reasoning-start", "reasoning-0"),
            ("reasoning-delta", "think"),
            ("reasoning-end", "reasoning-0"),
            ("text-start", "text-1"),
            ("text-delta", "A"),
            ("text-end", "text-1"),
            ("reasoning-start", "reasoning-2"),
            ("reasoning-delta", "more"),
            ("reasoning-end", "reasoning-2"),
            ("text-start", "text-3"),
            ("text-delta", "B"),
            ("text-delta", "C"),
            ("text-end", "text-3"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(kind, what)| (kind.to_string(), what.to_string()))
            .collect();
        assert_eq!(said, expected);
    }
}
