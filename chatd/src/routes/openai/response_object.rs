//! A chatd reply as a Responses API `response` object, whole or as the stream of
//! events the Responses API sends (`response.created`, `response.in_progress`, the
//! output item and content part opened, `response.output_text.delta`s, their `done`
//! events, then `response.completed`, `response.failed` or `response.incomplete`), each
//! with its `sequence_number`. Like every front-door answer, only a listener: the reply
//! goes on and is stored whatever the client does.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::MessageStatus;
use common::sse::push_named_event;
use serde_json::{Value, json};
use tokio::sync::watch;
use warp::Reply as _;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::conversation::CONVERSATION_HEADER;
use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::routes::error::json_response;
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
            .map(|text| {
                self.item(
                    if status == "in_progress" {
                        "in_progress"
                    } else {
                        "completed"
                    },
                    text,
                )
            })
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
        let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
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
            "background": false,
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

    /// Streams the response's events.
    pub fn stream(self, reply: Arc<Reply>) -> Response {
        let conversation_id = self.conversation_id;
        let listening = Listening {
            listener: reply.subscribe(),
            rendered: self,
            sequence: 0,
            sent: 0,
            text: String::new(),
            started: false,
            finished: false,
        };
        let body = futures_util::stream::unfold(listening, |mut listening| async move {
            let frame = listening.next_frame().await?;
            Some((Ok::<_, Infallible>(Bytes::from(frame)), listening))
        });
        let mut response = warp::reply::stream(body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        add_conversation_header(&mut response, conversation_id);
        response
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
    listener: watch::Receiver<ReplyState>,
    sequence: u64,
    sent: usize,
    text: String,
    started: bool,
    finished: bool,
}

impl Listening {
    fn push(&mut self, frame: &mut String, kind: &str, mut event: Value) {
        if let Some(object) = event.as_object_mut() {
            object.insert("type".into(), kind.into());
            object.insert("sequence_number".into(), self.sequence.into());
        }
        self.sequence += 1;
        push_named_event(frame, kind, &event.to_string());
    }

    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let mut frame = String::new();
        let item_id = format!("msg_{}", self.rendered.id);
        let at = json!({"item_id": item_id, "output_index": 0, "content_index": 0});
        if !self.started {
            self.started = true;
            let opening = self.rendered.object("in_progress", None, None);
            self.push(
                &mut frame,
                "response.created",
                json!({ "response": opening }),
            );
            self.push(
                &mut frame,
                "response.in_progress",
                json!({ "response": opening }),
            );
            let mut item = self.rendered.item("in_progress", "");
            item["content"] = json!([]);
            self.push(
                &mut frame,
                "response.output_item.added",
                json!({"output_index": 0, "item": item}),
            );
            let mut added = at.clone();
            added["part"] = part("");
            self.push(&mut frame, "response.content_part.added", added);
        }
        loop {
            let (deltas, end) = {
                let state = self.listener.borrow_and_update();
                let deltas: Vec<String> =
                    state.deltas.get(self.sent..).unwrap_or_default().to_vec();
                self.sent = state.deltas.len();
                (deltas, state.end.clone())
            };
            for delta in deltas {
                self.text.push_str(&delta);
                let mut event = at.clone();
                event["delta"] = delta.into();
                event["logprobs"] = json!([]);
                self.push(&mut frame, "response.output_text.delta", event);
            }
            if let Some(end) = end {
                self.finished = true;
                let text = std::mem::take(&mut self.text);
                let mut done = at.clone();
                done["text"] = text.clone().into();
                done["logprobs"] = json!([]);
                self.push(&mut frame, "response.output_text.done", done);
                let mut part_done = at.clone();
                part_done["part"] = part(&text);
                self.push(&mut frame, "response.content_part.done", part_done);
                let item = self.rendered.item("completed", &text);
                self.push(
                    &mut frame,
                    "response.output_item.done",
                    json!({"output_index": 0, "item": item}),
                );
                let whole = self.rendered.ended(&text, &end);
                let kind = match whole["status"].as_str() {
                    Some("completed") => "response.completed",
                    Some("failed") => "response.failed",
                    _ => "response.incomplete",
                };
                self.push(&mut frame, kind, json!({ "response": whole }));
                return Some(frame);
            }
            if !frame.is_empty() {
                return Some(frame);
            }
            self.listener.changed().await.ok()?;
        }
    }
}
