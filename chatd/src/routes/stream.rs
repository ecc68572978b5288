//! The SSE response of a reply: one listener of the reply's shared state, framed as the
//! contract shows. The default stream is nothing but `data:` events; with `?events=true`
//! it also opens with an `event: start` and closes with an `event: end` that says how
//! the reply ended (the documented way to tell complete from cancelled or failed).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::sse::{push_data_event, push_named_event};
use common::{StreamEnd, StreamStart};
use tokio::sync::{mpsc, watch};
use warp::Reply as _;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use super::views;
use crate::replies::{Reply, ReplyState};

/// Frames waiting for a slow client, at the most. A client that stops reading holds back
/// only its own listener, never the reply, and costs no more than this.
const FRAMES_BUFFERED: usize = 16;

pub fn sse_response(
    reply: Arc<Reply>,
    listener: watch::Receiver<ReplyState>,
    with_events: bool,
) -> Response {
    let (frames, mut receiver) = mpsc::channel::<Result<Bytes, Infallible>>(FRAMES_BUFFERED);
    tokio::spawn(forward(reply, listener, with_events, frames));
    let body = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
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

async fn forward(
    reply: Arc<Reply>,
    mut listener: watch::Receiver<ReplyState>,
    with_events: bool,
    frames: mpsc::Sender<Result<Bytes, Infallible>>,
) {
    if with_events {
        let start = StreamStart {
            conversation_id: reply.conversation_id,
            user_message: views::message(reply.user_message.clone(), true),
        };
        let mut frame = String::new();
        push_named_event(&mut frame, "start", &views::to_json(&start));
        if frames.send(Ok(Bytes::from(frame))).await.is_err() {
            return;
        }
    }
    let mut sent = 0;
    loop {
        let (mut frame, end) = {
            let state = listener.borrow_and_update();
            let mut frame = String::new();
            for delta in &state.deltas[sent..] {
                push_data_event(&mut frame, delta);
            }
            sent = state.deltas.len();
            (frame, state.end.clone())
        };
        if let Some(end) = &end
            && with_events
        {
            let summary = StreamEnd {
                conversation_id: reply.conversation_id,
                status: end.status,
                message: end.message.clone().map(|row| views::message(row, true)),
                error: end.error.clone(),
            };
            push_named_event(&mut frame, "end", &views::to_json(&summary));
        }
        if !frame.is_empty() && frames.send(Ok(Bytes::from(frame))).await.is_err() {
            return;
        }
        if end.is_some() {
            return;
        }
        tokio::select! {
            changed = listener.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            // The client went away: stop listening; the reply goes on without it.
            _ = frames.closed() => return,
        }
    }
}
