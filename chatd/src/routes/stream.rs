//! The SSE response of a reply: one listener of the reply's shared state, framed as the
//! contract shows. The default stream is nothing but `data:` events; with `?events=true`
//! it also opens with an `event: start` and closes with an `event: end` that says how
//! the reply ended (the documented way to tell complete from cancelled or failed).
//! Streams with ids (`?events=true`, and every attach) give each event an `id:`, its
//! reply cursor (`replies/cursor.rs`), and may resume after one: only the characters
//! past the cursor are sent. A stored reply is framed the same way, as one delta of
//! reasoning and one of content. [`event_stream`] is the response itself, for every
//! stream chatd sends (the front door's too).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::sse::{push_data_event, push_event_id, push_named_event};
use common::{MessageStatus, StreamEnd, StreamStart};
use tokio::sync::watch;
use warp::Reply as _;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use super::views;
use crate::replies::cursor::{self, Cursor, Offsets, ReplyId};
use crate::replies::{Reply, ReplyEnd, ReplyState};
use crate::store::MessageRow;

/// How a reply stream is framed.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// `start`, `reasoning` and `end` events beside the content's `data:` events.
    pub with_events: bool,
    /// An `id:` (the reply cursor) on every event.
    pub with_ids: bool,
}

impl Framing {
    /// `POST /chat`: the documented stream stays plain; `?events=true` adds ids.
    pub fn of_chat(with_events: bool) -> Framing {
        Framing {
            with_events,
            with_ids: with_events,
        }
    }

    /// `GET /conversations/{id}/reply`: ids always, so any attach can be resumed.
    pub fn of_attach(with_events: bool) -> Framing {
        Framing {
            with_events,
            with_ids: true,
        }
    }
}

/// The stream of a reply in flight, from its first event, or from the one after
/// `resume` (and then without the `start` event, which came before).
pub fn sse_response(reply: Arc<Reply>, framing: Framing, resume: Option<Offsets>) -> Response {
    let listener = reply.subscribe();
    let user_message = reply.user_message.clone();
    let id = reply.id();
    Listening::new(user_message, id, Some(reply), listener, framing, resume).into_response()
}

/// The stream of a reply that has ended and is stored (`answer`, or `None` when it
/// ended before anything was generated and so stored nothing), from its first event or
/// from the one after `resume`; `reply_index` says which of the user message's replies
/// it is.
pub fn stored_sse_response(
    user_message: MessageRow,
    reply_index: i32,
    answer: Option<MessageRow>,
    framing: Framing,
    resume: Option<Offsets>,
) -> Response {
    let mut state = ReplyState::default();
    let end = match answer {
        Some(answer) => {
            if let Some(reasoning) = answer.details.reasoning.clone().filter(|r| !r.is_empty()) {
                state.reasoning.push((0, reasoning));
            }
            if !answer.content.is_empty() {
                state.deltas.push(answer.content.clone());
            }
            ReplyEnd {
                status: answer.status,
                message: Some(answer),
                error: None,
                stored: true,
            }
        }
        None => ReplyEnd {
            status: MessageStatus::Failed,
            message: None,
            error: Some("the reply ended before anything of it was generated".into()),
            stored: true,
        },
    };
    state.end = Some(end);
    // The sender may go at once: a receiver still reads the last state, and an ended
    // reply is never waited on.
    let (_, listener) = watch::channel(state);
    let id = ReplyId {
        user_message: user_message.id,
        index: reply_index,
    };
    Listening::new(user_message, id, None, listener, framing, resume).into_response()
}

/// A `text/event-stream` response whose body is the frames `next` makes from `state`,
/// one call after another, until it answers `None`.
pub fn event_stream<T, F, Fut>(state: T, mut next: F) -> Response
where
    T: Send + Sync + 'static,
    F: FnMut(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<(String, T)>> + Send + Sync + 'static,
{
    let body = futures_util::stream::unfold(state, move |state| {
        let frame = next(state);
        async move {
            let (frame, state) = frame.await?;
            Some((Ok::<_, Infallible>(Bytes::from(frame)), state))
        }
    });
    let mut response = warp::reply::stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx and similar proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One client's place in a reply. The response body polls it directly: hyper asks for
/// the next frame only once the last one is written, so a client that stops reading
/// holds back only itself and costs its socket buffer, never the reply; and a client
/// that goes away drops it. No task or channel per listener sits in between, which
/// profiles of 10,000 concurrent streams showed as a wake-up too many per token.
struct Listening {
    conversation_id: i64,
    user_message: MessageRow,
    /// The reply's name in cursors.
    id: ReplyId,
    /// Keeps a reply in flight alive as long as its listener.
    _reply: Option<Arc<Reply>>,
    listener: watch::Receiver<ReplyState>,
    framing: Framing,
    position: Position,
    started: bool,
    finished: bool,
}

impl Listening {
    /// A listener from the start, or past `resume` (whose `start` event came before).
    fn new(
        user_message: MessageRow,
        id: ReplyId,
        reply: Option<Arc<Reply>>,
        listener: watch::Receiver<ReplyState>,
        framing: Framing,
        resume: Option<Offsets>,
    ) -> Listening {
        Listening {
            conversation_id: user_message.conversation_id,
            user_message,
            id,
            _reply: reply,
            listener,
            framing,
            position: Position::new(resume),
            started: resume.is_some(),
            finished: false,
        }
    }

    fn into_response(self) -> Response {
        event_stream(self, |mut listening| async move {
            let frame = listening.next_frame().await?;
            Some((frame, listening))
        })
    }

    fn reply_id(&self) -> Option<ReplyId> {
        self.framing.with_ids.then_some(self.id)
    }

    /// Everything new since the last frame, waiting for it if there is nothing yet;
    /// `None` once the reply's end was sent or the reply went away.
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        if !self.started {
            self.started = true;
            if self.framing.with_events {
                let start = StreamStart {
                    conversation_id: self.conversation_id,
                    user_message: views::message(self.user_message.clone(), true),
                };
                let mut frame = String::new();
                if let Some(reply) = self.reply_id() {
                    push_event_id(
                        &mut frame,
                        &Cursor::within(reply, Offsets::default()).to_string(),
                    );
                }
                push_named_event(&mut frame, "start", &views::to_json(&start));
                return Some(frame);
            }
        }
        let reply_id = self.reply_id();
        loop {
            let (mut frame, end) = {
                let state = self.listener.borrow_and_update();
                let frame = self
                    .position
                    .frame_new(&state, self.framing.with_events, reply_id);
                (frame, state.end.clone())
            };
            if let Some(end) = end {
                self.finished = true;
                if self.framing.with_events {
                    let summary = StreamEnd {
                        conversation_id: self.conversation_id,
                        status: end.status,
                        message: end.message.map(|row| views::message(row, true)),
                        error: end.error,
                        stored: end.stored,
                    };
                    if let Some(reply) = reply_id {
                        push_event_id(&mut frame, &Cursor::end(reply).to_string());
                    }
                    push_named_event(&mut frame, "end", &views::to_json(&summary));
                }
                return (!frame.is_empty()).then_some(frame);
            }
            if !frame.is_empty() {
                return Some(frame);
            }
            // A change made since `borrow_and_update` makes this return at once.
            self.listener.changed().await.ok()?;
        }
    }
}

/// How much of a reply one listener has framed.
#[derive(Debug, Default)]
struct Position {
    /// Content deltas.
    sent: usize,
    /// Reasoning deltas (only with events).
    reasoning_sent: usize,
    /// The characters of the deltas read so far, framed or skipped.
    at: Offsets,
    /// The characters before which nothing is framed (the cursor resumed after).
    resume: Offsets,
}

impl Position {
    fn new(resume: Option<Offsets>) -> Position {
        Position {
            resume: resume.unwrap_or_default(),
            ..Position::default()
        }
    }

    /// The frames of what `state` holds past this position, content and (with events)
    /// reasoning in the order they came, each with its cursor as id when `reply_id` is
    /// given, and the position moved past them.
    fn frame_new(
        &mut self,
        state: &ReplyState,
        with_events: bool,
        reply_id: Option<ReplyId>,
    ) -> String {
        let mut frame = String::new();
        if with_events {
            for (at, reasoning) in state
                .reasoning
                .get(self.reasoning_sent..)
                .unwrap_or_default()
            {
                // The content that came before this reasoning goes first.
                for delta in state.deltas.get(self.sent..*at).unwrap_or_default() {
                    self.push_content(&mut frame, delta, reply_id);
                }
                self.sent = self.sent.max(*at);
                let begins = self.at.reasoning;
                self.at.reasoning += cursor::chars(reasoning);
                if let Some(rest) = cursor::rest_after(reasoning, begins, self.resume.reasoning) {
                    self.push_id(&mut frame, reply_id);
                    push_named_event(&mut frame, "reasoning", &views::to_json(&rest));
                }
            }
            self.reasoning_sent = state.reasoning.len();
        }
        for delta in state.deltas.get(self.sent..).unwrap_or_default() {
            self.push_content(&mut frame, delta, reply_id);
        }
        self.sent = state.deltas.len();
        frame
    }

    fn push_content(&mut self, frame: &mut String, delta: &str, reply_id: Option<ReplyId>) {
        let begins = self.at.content;
        self.at.content += cursor::chars(delta);
        if let Some(rest) = cursor::rest_after(delta, begins, self.resume.content) {
            self.push_id(frame, reply_id);
            push_data_event(frame, rest);
        }
    }

    /// The id of the event about to be pushed: the place after it.
    fn push_id(&self, frame: &mut String, reply_id: Option<ReplyId>) {
        if let Some(reply) = reply_id {
            push_event_id(frame, &Cursor::within(reply, self.at).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(deltas: &[&str], reasoning: &[(usize, &str)]) -> ReplyState {
        ReplyState {
            deltas: deltas.iter().map(|d| d.to_string()).collect(),
            reasoning: reasoning
                .iter()
                .map(|(at, r)| (*at, r.to_string()))
                .collect(),
            tool_calls: Vec::new(),
            end: None,
        }
    }

    #[test]
    fn reasoning_is_framed_in_order_with_events_and_never_without() {
        // Reasoning, content, more reasoning between content, read in two goes.
        let early = state(&["A"], &[(0, "think"), (1, "more")]);
        let late = state(
            &["A", "B", "C"],
            &[(0, "think"), (1, "more"), (2, "again\nhere")],
        );
        let mut with_events = Position::default();
        let mut plain = Position::default();
        let framed = [
            with_events.frame_new(&early, true, None),
            with_events.frame_new(&late, true, None),
        ]
        .concat();
        assert_eq!(
            framed,
            "event: reasoning\ndata: \"think\"\n\ndata: A\n\nevent: reasoning\ndata: \"more\"\n\n\
             data: B\n\nevent: reasoning\ndata: \"again\\nhere\"\n\ndata: C\n\n"
        );
        let framed = [
            plain.frame_new(&early, false, None),
            plain.frame_new(&late, false, None),
        ]
        .concat();
        assert_eq!(framed, "data: A\n\ndata: B\n\ndata: C\n\n");
        assert_eq!(
            with_events.frame_new(&late, true, None),
            "",
            "nothing twice"
        );
    }
}
