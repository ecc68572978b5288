//! A chatd reply in OpenAI's chat completion shapes: as a stream of
//! `chat.completion.chunk` events ending with `data: [DONE]` (with a last chunk of
//! usage when `stream_options.include_usage` asked for it), or, once it has ended, as
//! one `chat.completion` object. The provider's tool calls are relayed as it sent them:
//! each `tool_calls` delta as a chunk, in its place among the text, or merged into the
//! completion's `message.tool_calls`. Either is only a listener of the reply: a client that
//! goes away stops listening, and the reply goes on and is stored as everywhere.

use std::sync::Arc;

use common::MessageStatus;
use common::sse::push_data_event;
use serde_json::{Value, json};
use tokio::sync::watch;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use super::conversation::CONVERSATION_HEADER;
use super::error::OpenAiError;
use crate::providers::tools::MergedCalls;
use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::routes::error::json_response;
use crate::routes::stream::event_stream;

/// What every chunk or completion of one reply repeats.
#[derive(Debug, Clone)]
pub struct Completion {
    pub reply: Arc<Reply>,
    /// The model as the request named it.
    pub model: String,
    pub created: i64,
    pub include_usage: bool,
}

impl Completion {
    /// A user message answered once: its id names the completion.
    fn id(&self) -> String {
        format!("chatcmpl-{}", self.reply.user_message.id)
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id(),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason,
            }],
        })
    }

    fn usage_chunk(&self, usage: Value) -> Value {
        json!({
            "id": self.id(),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        })
    }

    /// Waits for the reply's end and answers it whole.
    pub async fn whole(self) -> Response {
        let mut listener = self.reply.subscribe();
        let end = match listener.wait_for(|state| state.end.is_some()).await {
            Ok(state) => {
                let mut calls = MergedCalls::default();
                for (_, delta) in &state.tool_calls {
                    calls.add(delta);
                }
                (state.deltas.concat(), calls, state.end.clone())
            }
            Err(_) => (String::new(), MergedCalls::default(), None),
        };
        let (content, calls, Some(end)) = end else {
            return OpenAiError::new(StatusCode::BAD_GATEWAY, "the reply stopped").into_response();
        };
        if end.status == MessageStatus::Failed {
            return failure(&end).into_response();
        }
        let mut message = json!({"role": "assistant", "content": content, "refusal": null});
        if !calls.is_empty() {
            message["tool_calls"] = calls.whole().into();
            if content.is_empty() {
                message["content"] = Value::Null;
            }
        }
        let mut body = json!({
            "id": self.id(),
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason(&end, !calls.is_empty()),
            }],
        });
        if let (Some(usage), Some(object)) = (usage(&end), body.as_object_mut()) {
            object.insert("usage".into(), usage);
        }
        let mut response = json_response(StatusCode::OK, &body);
        add_conversation_header(&mut response, self.reply.conversation_id);
        response
    }

    /// Streams the reply as chunks.
    pub fn stream(self) -> Response {
        let conversation_id = self.reply.conversation_id;
        let listener = self.reply.subscribe();
        let listening = Listening {
            completion: self,
            listener,
            sent: 0,
            sent_tools: 0,
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

/// Tells the client which conversation its request landed in.
fn add_conversation_header(response: &mut Response, conversation_id: i64) {
    response
        .headers_mut()
        .insert(CONVERSATION_HEADER, HeaderValue::from(conversation_id));
}

/// OpenAI's finish reason of a reply that ended without failing: the provider's own
/// when it is one of OpenAI's other reasons, else from how the reply ended.
fn finish_reason(end: &ReplyEnd, made_tool_calls: bool) -> &'static str {
    let said = end
        .message
        .as_ref()
        .and_then(|row| row.details.finish_reason.as_deref());
    match (end.status, said) {
        (MessageStatus::Truncated, _) => "length",
        (_, Some("tool_calls")) => "tool_calls",
        (_, Some("content_filter")) => "content_filter",
        (_, Some("function_call")) => "function_call",
        _ if made_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// The usage stored with the reply, if the provider reported it.
fn usage(end: &ReplyEnd) -> Option<Value> {
    let details = &end.message.as_ref()?.details;
    let (prompt, completion) = (details.prompt_tokens?, details.completion_tokens?);
    Some(json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }))
}

fn failure(end: &ReplyEnd) -> OpenAiError {
    OpenAiError::new(
        StatusCode::BAD_GATEWAY,
        end.error
            .clone()
            .unwrap_or_else(|| "the provider failed".into()),
    )
    .with_code("provider_failed")
}

/// One client's place in the reply's chunks.
struct Listening {
    completion: Completion,
    listener: watch::Receiver<ReplyState>,
    sent: usize,
    /// Tool-call deltas sent so far.
    sent_tools: usize,
    started: bool,
    finished: bool,
}

/// Frames the tool-call deltas not sent yet (from `*sent` on) that came before content
/// delta `before`.
fn push_tool_calls(
    completion: &Completion,
    sent: &mut usize,
    frame: &mut String,
    state: &ReplyState,
    before: usize,
) {
    while let Some((at, calls)) = state.tool_calls.get(*sent) {
        if *at > before {
            break;
        }
        let chunk = completion.chunk(json!({ "tool_calls": calls }), None);
        push_data_event(frame, &chunk.to_string());
        *sent += 1;
    }
}

impl Listening {
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let mut frame = String::new();
        if !self.started {
            self.started = true;
            let opening = self
                .completion
                .chunk(json!({"role": "assistant", "content": ""}), None);
            push_data_event(&mut frame, &opening.to_string());
        }
        loop {
            let (end, made_tool_calls) = {
                let state = self.listener.borrow_and_update();
                for (at, delta) in state.deltas.iter().enumerate().skip(self.sent) {
                    let sent = &mut self.sent_tools;
                    push_tool_calls(&self.completion, sent, &mut frame, &state, at);
                    let chunk = self.completion.chunk(json!({ "content": delta }), None);
                    push_data_event(&mut frame, &chunk.to_string());
                }
                self.sent = state.deltas.len();
                let (sent, before) = (&mut self.sent_tools, self.sent);
                push_tool_calls(&self.completion, sent, &mut frame, &state, before);
                (state.end.clone(), !state.tool_calls.is_empty())
            };
            if let Some(end) = end {
                self.finished = true;
                if end.status == MessageStatus::Failed {
                    // OpenAI's SDKs raise an error event as their `APIError`.
                    push_data_event(&mut frame, &failure(&end).body().to_string());
                    return Some(frame);
                }
                let last = self
                    .completion
                    .chunk(json!({}), Some(finish_reason(&end, made_tool_calls)));
                push_data_event(&mut frame, &last.to_string());
                if self.completion.include_usage {
                    let usage = usage(&end).unwrap_or_else(
                        || json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
                    );
                    push_data_event(&mut frame, &self.completion.usage_chunk(usage).to_string());
                }
                push_data_event(&mut frame, "[DONE]");
                return Some(frame);
            }
            if !frame.is_empty() {
                return Some(frame);
            }
            self.listener.changed().await.ok()?;
        }
    }
}
