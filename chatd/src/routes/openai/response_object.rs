//! A chatd reply as a Responses API `response` object, whole or as the stream of
//! events the Responses API sends (`response.created`, `response.in_progress`, the
//! output item and content part opened, `response.output_text.delta`s, their `done`
//! events, then `response.completed`, `response.failed` or `response.incomplete`), each
//! with its `sequence_number`. Like every front-door answer, only a listener: the reply
//! goes on and is stored whatever the client does.
//!
//! Sequence numbers are chatd's reply cursor (`replies/cursor.rs`, counted in characters
//! of content, as the SSE ids of chatd's own streams are): the four opening events are 0 to 3, a
//! text delta is numbered 3 plus the characters of text sent up to its end, and the
//! closing events follow the last character. They increase but are not consecutive,
//! and so a stream resumed with `starting_after` (`GET /v1/responses/{id}?stream=true`)
//! lands on the same character whether the reply is still running (read from its
//! deltas) or already stored (read from the stored message, as one delta).

use std::sync::Arc;

use common::MessageStatus;
use common::sse::push_named_event;
use serde_json::{Value, json};
use tokio::sync::watch;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use super::conversation::CONVERSATION_HEADER;
use crate::replies::cursor;
use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::routes::error::json_response;
use crate::routes::stream::event_stream;
use crate::store::{MessageDetails, MessageRow};

/// What every rendering of one response repeats.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The user message the response answers: its id is `resp_{id}`.
    pub id: i64,
    pub conversation_id: i64,
    pub created_at: i64,
    pub model: String,
    pub instructions: Option<String>,
    pub previous_response_id: Option<String>,
    /// Whether it was asked for in the background; `None` when no longer known (a
    /// response read back later).
    pub background: Option<bool>,
}

/// What a stream of a response's events reads.
pub enum Source {
    /// The reply in flight (or ended and not yet released).
    Live(Arc<Reply>),
    /// The stored reply (or a failed stand-in when nothing was stored).
    Stored(MessageRow),
}

/// Where a response stands.
pub enum Answer {
    /// Still generating: the text so far.
    Running(String),
    /// Ended and stored (or, for a provider that failed at once, a failed stand-in).
    Stored(MessageRow),
}

impl Rendered {
    fn object(&self, status: &str, text: Option<&str>, details: Option<&MessageDetails>) -> Value {
        let output: Vec<Value> = text
            .map(|text| self.item(item_status(status), text))
            .into_iter()
            .collect();
        let usage = details
            .and_then(|d| Some((d.prompt_tokens?, d.completion_tokens?)))
            .map(|(input, output)| {
                json!({
                    "input_tokens": input,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": output,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": input + output,
                })
            });
        let error = (status == "failed").then(
            || json!({"code": "server_error", "message": "the provider failed; see chatd's log"}),
        );
        // Cut at the token limit; an interrupted reply gives no reason of OpenAI's.
        let incomplete = (status == "incomplete").then(|| {
            let cut = details.and_then(|d| d.finish_reason.as_deref()) == Some("length");
            json!({"reason": cut.then_some("max_output_tokens")})
        });
        json!({
            "id": format!("resp_{}", self.id),
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.model,
            "instructions": self.instructions,
            "previous_response_id": self.previous_response_id,
            "output": output,
            "usage": usage,
            "error": error,
            "incomplete_details": incomplete,
            "parallel_tool_calls": false,
            "tool_choice": "auto",
            "tools": [],
            "store": true,
            "background": self.background,
            "metadata": {"chatd_conversation_id": self.conversation_id.to_string()},
        })
    }

    fn item(&self, status: &str, text: &str) -> Value {
        json!({
            "id": format!("msg_{}", self.id),
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [part(text)],
        })
    }

    /// The response of a stored message, or one still running.
    pub fn answer(&self, answer: Answer) -> Response {
        let body = match &answer {
            Answer::Running(text) => self.object("in_progress", Some(text), None),
            Answer::Stored(row) => self.object(
                status_of(row.status),
                Some(&row.content),
                Some(&row.details),
            ),
        };
        let mut response = json_response(StatusCode::OK, &body);
        add_conversation_header(&mut response, self.conversation_id);
        response
    }

    /// Waits for the reply's end and answers the whole response.
    pub async fn whole(self, reply: Arc<Reply>) -> Response {
        let mut listener = reply.subscribe();
        let ended = listener
            .wait_for(|state| state.end.is_some())
            .await
            .map(|state| (state.deltas.concat(), state.end.clone()));
        let body = match ended {
            Ok((text, Some(end))) => self.ended(&text, &end),
            _ => self.object("failed", None, None),
        };
        let mut response = json_response(StatusCode::OK, &body);
        add_conversation_header(&mut response, self.conversation_id);
        response
    }

    fn ended(&self, text: &str, end: &ReplyEnd) -> Value {
        let details = end.message.as_ref().map(|row| &row.details);
        self.object(status_of(end.status), Some(text), details)
    }

    /// Streams the response's events, from the first or from the one after
    /// `starting_after`.
    pub fn stream(self, source: Source, starting_after: Option<u64>) -> Response {
        let conversation_id = self.conversation_id;
        let listener = match &source {
            Source::Live(reply) => Some(reply.subscribe()),
            Source::Stored(_) => None,
        };
        let listening = Listening {
            source,
            listener,
            rendered: self,
            after: starting_after,
            sent_deltas: 0,
            chars: 0,
            text: String::new(),
            started: false,
            finished: false,
        };
        let mut response = event_stream(listening, |mut listening| async move {
            let frame = listening.next_frame().await?;
            Some((frame, listening))
        });
        add_conversation_header(&mut response, conversation_id);
        response
    }
}

/// An output item's status for the response's: only a completed response has a
/// completed message.
fn item_status(response_status: &str) -> &'static str {
    match response_status {
        "in_progress" => "in_progress",
        "completed" => "completed",
        _ => "incomplete",
    }
}

fn part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// The Responses API's status of a stored reply.
fn status_of(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Complete => "completed",
        MessageStatus::Failed => "failed",
        MessageStatus::Cancelled => "cancelled",
        MessageStatus::Truncated | MessageStatus::Interrupted => "incomplete",
    }
}

fn add_conversation_header(response: &mut Response, conversation_id: i64) {
    response
        .headers_mut()
        .insert(CONVERSATION_HEADER, HeaderValue::from(conversation_id));
}

/// One client's place in a response's events.
struct Listening {
    rendered: Rendered,
    source: Source,
    /// Of a live source: its reply's state.
    listener: Option<watch::Receiver<ReplyState>>,
    /// Events numbered up to this one are not sent (`starting_after`).
    after: Option<u64>,
    /// Of a live source: the deltas read so far.
    sent_deltas: usize,
    /// The characters of text read so far, sent or skipped.
    chars: u64,
    text: String,
    started: bool,
    finished: bool,
}

/// The sequence number of the delta that ends at character `chars`, and of the opening
/// event before the text.
const OPENED: u64 = 3;

impl Listening {
    fn push(&self, frame: &mut String, sequence: u64, kind: &str, mut event: Value) {
        if self.after.is_some_and(|after| sequence <= after) {
            return;
        }
        if let Some(object) = event.as_object_mut() {
            object.insert("type".into(), kind.into());
            object.insert("sequence_number".into(), sequence.into());
        }
        push_named_event(frame, kind, &event.to_string());
    }

    fn at(&self) -> Value {
        json!({"item_id": format!("msg_{}", self.rendered.id), "output_index": 0, "content_index": 0})
    }

    fn open(&self, frame: &mut String) {
        let opening = self.rendered.object("in_progress", None, None);
        self.push(frame, 0, "response.created", json!({ "response": opening }));
        self.push(
            frame,
            1,
            "response.in_progress",
            json!({ "response": opening }),
        );
        let mut item = self.rendered.item("in_progress", "");
        item["content"] = json!([]);
        self.push(
            frame,
            2,
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        );
        let mut added = self.at();
        added["part"] = part("");
        self.push(frame, OPENED, "response.content_part.added", added);
    }

    /// One piece of text, numbered by where it ends; only what comes after
    /// `starting_after` is sent.
    fn delta(&mut self, frame: &mut String, delta: &str) {
        let begins = self.chars;
        self.chars += cursor::chars(delta);
        self.text.push_str(delta);
        let sequence = OPENED + self.chars;
        // The sequence number past the opening events is the reply cursor's content
        // offset; resumed inside this delta, only its characters after the cursor go.
        let resume_at = self.after.map_or(0, |after| after.saturating_sub(OPENED));
        let Some(unsent) = cursor::rest_after(delta, begins, resume_at) else {
            return;
        };
        let mut event = self.at();
        event["delta"] = unsent.into();
        event["logprobs"] = json!([]);
        self.push(frame, sequence, "response.output_text.delta", event);
    }

    fn close(&mut self, frame: &mut String, whole: Value) {
        self.finished = true;
        let text = std::mem::take(&mut self.text);
        let next = OPENED + self.chars;
        let mut done = self.at();
        done["text"] = text.clone().into();
        done["logprobs"] = json!([]);
        self.push(frame, next + 1, "response.output_text.done", done);
        let mut part_done = self.at();
        part_done["part"] = part(&text);
        self.push(frame, next + 2, "response.content_part.done", part_done);
        let status = item_status(whole["status"].as_str().unwrap_or_default());
        let item = self.rendered.item(status, &text);
        self.push(
            frame,
            next + 3,
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        );
        let kind = match whole["status"].as_str() {
            Some("completed") => "response.completed",
            Some("failed") => "response.failed",
            // The Responses API has no event of its own for a cancelled response.
            _ => "response.incomplete",
        };
        self.push(frame, next + 4, kind, json!({ "response": whole }));
    }

    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let mut frame = String::new();
        if !self.started {
            self.started = true;
            self.open(&mut frame);
        }
        if let Source::Stored(row) = &self.source {
            let row = row.clone();
            if !row.content.is_empty() {
                self.delta(&mut frame, &row.content);
            }
            let whole = self.rendered.object(
                status_of(row.status),
                Some(&row.content),
                Some(&row.details),
            );
            self.close(&mut frame, whole);
            return Some(frame);
        }
        let mut listener = self.listener.take()?;
        loop {
            let (deltas, end) = {
                let state = listener.borrow_and_update();
                let deltas: Vec<String> = state
                    .deltas
                    .get(self.sent_deltas..)
                    .unwrap_or_default()
                    .to_vec();
                self.sent_deltas = state.deltas.len();
                (deltas, state.end.clone())
            };
            for delta in deltas {
                self.delta(&mut frame, &delta);
            }
            if let Some(end) = end {
                let whole = self.rendered.ended(&self.text, &end);
                self.close(&mut frame, whole);
                return Some(frame);
            }
            if !frame.is_empty() {
                self.listener = Some(listener);
                return Some(frame);
            }
            listener.changed().await.ok()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::Role;

    fn rendered() -> Rendered {
        Rendered {
            id: 1,
            conversation_id: 1,
            created_at: 0,
            model: "echo".into(),
            instructions: None,
            previous_response_id: None,
            background: None,
        }
    }

    /// The (sequence number, type, delta) of every event of a stored reply's stream.
    async fn events(content: &str, after: Option<u64>) -> Vec<(u64, String, String)> {
        let row = MessageRow {
            id: 2,
            conversation_id: 1,
            role: Role::Assistant,
            content: content.into(),
            status: MessageStatus::Complete,
            created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
            details: MessageDetails::default(),
            parent_id: None,
        };
        let mut listening = Listening {
            rendered: rendered(),
            source: Source::Stored(row),
            listener: None,
            after,
            sent_deltas: 0,
            chars: 0,
            text: String::new(),
            started: false,
            finished: false,
        };
        let mut frames = String::new();
        while let Some(frame) = listening.next_frame().await {
            frames.push_str(&frame);
        }
        frames
            .split("\n\n")
            .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|data| {
                let event: Value = serde_json::from_str(data).unwrap();
                (
                    event["sequence_number"].as_u64().unwrap(),
                    event["type"].as_str().unwrap().to_string(),
                    event["delta"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn sequence_numbers_are_a_character_cursor() {
        let all = events("héllo", None).await;
        let numbers: Vec<u64> = all.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 8, 9, 10, 11, 12]);
        assert_eq!(all[4].2, "héllo");
        assert_eq!(all[8].1, "response.completed");
        // Resumed after the second character: the rest of the text, then the end.
        let resumed = events("héllo", Some(5)).await;
        assert_eq!(
            resumed[0],
            (8, "response.output_text.delta".into(), "llo".into())
        );
        assert_eq!(resumed.len(), 5);
        // Resumed after the text: only the closing events.
        assert_eq!(events("héllo", Some(8)).await.len(), 4);
        assert!(events("héllo", Some(12)).await.is_empty());
    }
}
