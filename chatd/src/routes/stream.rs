//! The SSE response of a reply: one listener of the reply's shared state, framed as the
//! contract shows. The default stream is nothing but `data:` events; with `?events=true`
//! it also opens with an `event: start` and closes with an `event: end` that says how
//! the reply ended (the documented way to tell complete from cancelled or failed).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::sse::{push_data_event, push_named_event};
use common::{StreamEnd, StreamStart};
use tokio::sync::watch;
use warp::Reply as _;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use super::views;
use crate::replies::{Reply, ReplyState};

pub fn sse_response(
    reply: Arc<Reply>,
    listener: watch::Receiver<ReplyState>,
    with_events: bool,
) -> Response {
    let listening = Listening {
        reply,
        listener,
        with_events,
        position: Position::default(),
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
    reply: Arc<Reply>,
    listener: watch::Receiver<ReplyState>,
    with_events: bool,
    position: Position,
    started: bool,
    finished: bool,
}

impl Listening {
    /// Everything new since the last frame, waiting for it if there is nothing yet;
    /// `None` once the reply's end was sent or the reply went away.
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        if !self.started {
            self.started = true;
            if self.with_events {
                let start = StreamStart {
                    conversation_id: self.reply.conversation_id,
                    user_message: views::message(self.reply.user_message.clone(), true),
                };
                let mut frame = String::new();
                push_named_event(&mut frame, "start", &views::to_json(&start));
                return Some(frame);
            }
        }
        loop {
            let (mut frame, end) = {
                let state = self.listener.borrow_and_update();
                let frame = self.position.frame_new(&state, self.with_events);
                (frame, state.end.clone())
            };
            if let Some(end) = end {
                self.finished = true;
                if self.with_events {
                    let summary = StreamEnd {
                        conversation_id: self.reply.conversation_id,
                        status: end.status,
                        message: end.message.map(|row| views::message(row, true)),
                        error: end.error,
                        stored: end.stored,
                    };
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
}

impl Position {
    /// The frames of what `state` holds past this position, content and (with events)
    /// reasoning in the order they came, and the position moved past them.
    fn frame_new(&mut self, state: &ReplyState, with_events: bool) -> String {
        let mut frame = String::new();
        if with_events {
            for (at, reasoning) in state
                .reasoning
                .get(self.reasoning_sent..)
                .unwrap_or_default()
            {
                // The content that came before this reasoning goes first.
                for delta in state.deltas.get(self.sent..*at).unwrap_or_default() {
                    push_data_event(&mut frame, delta);
                }
                self.sent = self.sent.max(*at);
                push_named_event(&mut frame, "reasoning", &views::to_json(reasoning));
            }
            self.reasoning_sent = state.reasoning.len();
        }
        for delta in state.deltas.get(self.sent..).unwrap_or_default() {
            push_data_event(&mut frame, delta);
        }
        self.sent = state.deltas.len();
        frame
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
            with_events.frame_new(&early, true),
            with_events.frame_new(&late, true),
        ]
        .concat();
        assert_eq!(
            framed,
            "event: reasoning\ndata: \"think\"\n\ndata: A\n\nevent: reasoning\ndata: \"more\"\n\n\
             data: B\n\nevent: reasoning\ndata: \"again\\nhere\"\n\ndata: C\n\n"
        );
        let framed = [
            plain.frame_new(&early, false),
            plain.frame_new(&late, false),
        ]
        .concat();
        assert_eq!(framed, "data: A\n\ndata: B\n\ndata: C\n\n");
        assert_eq!(with_events.frame_new(&late, true), "", "nothing twice");
    }
}
