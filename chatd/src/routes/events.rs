//! Extension `GET /events`: the live feed (`events/`) as Server-Sent Events, each with
//! its `id:` and its kind as `event:`, optionally only one user's (`?user_id=`),
//! resumed after `Last-Event-ID` (or `?after=`) within the window, and a `lagged`
//! event wherever the stream could not give every event. `?seconds=` closes it after a
//! while (for clients, and checkers, that cannot hold a stream open).

use std::sync::Arc;
use std::time::Duration;

use common::sse::{push_event_id, push_named_event};
use serde_json::json;
use tokio::sync::broadcast;
use warp::http::HeaderMap;
use warp::reply::Response;

use super::error::Invalid;
use super::openapi::schemas::{FeedEvent, ValidationError};
use super::stream::event_stream;
use super::{ApiError, App, input};
use crate::events::{self, Event, Feed, Item, Lagged, Stamped};

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The longest `?seconds=` may ask for.
const MAX_SECONDS: i64 = 86_400;

#[utoipa::path(
    get, path = "/api/v1/events", tag = "daemon",
    params(
        ("user_id" = Option<i64>, Query, description = "Only the events about this user (a `conversation.deleted` whose user is unknown is not sent)"),
        ("after" = Option<String>, Query, nullable = false, pattern = "^([0-9a-f]{1,16}-[0-9]{1,19})?$", description = "An event id: only what came after it, for clients that cannot set `Last-Event-ID`"),
        ("seconds" = Option<i64>, Query, minimum = 0, maximum = 86400, description = "Close the stream after this many seconds (0: right after what was missed since `Last-Event-ID`); without it the stream stays open"),
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^([0-9a-f]{1,16}-[0-9]{1,19})?$", description = "An event id, as EventSource sends it on a reconnect; wins over `after`"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = FeedEvent, description = "Server-Sent Events: each has an `id:`, its kind as `event:` (`user.created`, `conversation.created`, `conversation.updated`, `conversation.deleted`, `message.created`, `reply.started`, `reply.ended`) and its JSON as `data:`; a `lagged` event (data: a Lagged, no id) where events could not all be given (docs/API.md §3.18)."),
        (status = 422, description = "A bad `user_id`, `seconds` or a malformed event id", body = ValidationError),
    )
)]
/// GET /events
pub async fn events(app: &App, query: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let pairs = input::query_pairs(query);
    let user = match input::query_value(&pairs, "user_id") {
        Some(_) => Some(
            input::query_int(&pairs, "user_id", 0, i64::MIN, None)
                .map_err(|item| ApiError::invalid(*item))?,
        ),
        None => None,
    };
    let seconds = match input::query_value(&pairs, "seconds") {
        Some(_) => Some(
            input::query_int(&pairs, "seconds", 0, 0, Some(MAX_SECONDS))
                .map_err(|item| ApiError::invalid(*item))?,
        ),
        None => None,
    };
    let after = read_after(headers, &pairs)?;
    let joined = app.events.join(after.as_deref());
    let deadline = seconds
        .map(|seconds| tokio::time::Instant::now() + Duration::from_secs(seconds.unsigned_abs()));
    let mut first = String::new();
    if let Some(lagged) = &joined.lagged {
        push_lagged(&mut first, lagged);
    }
    let last = joined.backlog.last().map_or(0, |e| e.number);
    for stamped in &joined.backlog {
        push_item(&mut first, &app.events, stamped, user);
    }
    let reading = Reading {
        feed: app.events.clone(),
        user,
        live: joined.live,
        last,
        pending: first,
        deadline,
    };
    Ok(event_stream(reading, |mut reading| async move {
        let frame = reading.next_frame().await?;
        Some((frame, reading))
    }))
}

/// One client's place in the feed.
struct Reading {
    feed: Feed,
    user: Option<i64>,
    live: broadcast::Receiver<Arc<Stamped>>,
    /// The number of the last event given (backlog and live overlap).
    last: u64,
    pending: String,
    deadline: Option<tokio::time::Instant>,
}

impl Reading {
    async fn next_frame(&mut self) -> Option<String> {
        if !self.pending.is_empty() {
            return Some(std::mem::take(&mut self.pending));
        }
        loop {
            let until = tokio::time::Instant::now() + KEEP_ALIVE;
            let wake = self.deadline.map_or(until, |deadline| deadline.min(until));
            let received = match tokio::time::timeout_at(wake, self.live.recv()).await {
                Ok(received) => received,
                Err(_)
                    if self
                        .deadline
                        .is_some_and(|d| d <= tokio::time::Instant::now()) =>
                {
                    return None;
                }
                Err(_) => return Some(": keep-alive\n\n".into()),
            };
            let mut frame = String::new();
            match received {
                Ok(stamped) => {
                    if stamped.number <= self.last {
                        continue;
                    }
                    self.last = stamped.number;
                    push_item(&mut frame, &self.feed, &stamped, self.user);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // The receiver goes on at the oldest event the buffer still holds.
                    push_lagged(
                        &mut frame,
                        &Lagged {
                            reason: "slow".into(),
                            missed: Some(missed),
                            oldest: self.feed.oldest_id(),
                        },
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
            if !frame.is_empty() {
                return Some(frame);
            }
        }
    }
}

fn push_item(frame: &mut String, feed: &Feed, stamped: &Stamped, user: Option<i64>) {
    match &stamped.item {
        Item::Event(event) => {
            if user.is_some() && event.user_id() != user {
                return;
            }
            push_event(frame, feed, stamped.number, event);
        }
        Item::RelayGap => push_lagged(
            frame,
            &Lagged {
                reason: "relay".into(),
                missed: None,
                oldest: None,
            },
        ),
    }
}

fn push_event(frame: &mut String, feed: &Feed, number: u64, event: &Event) {
    let Ok(data) = serde_json::to_string(event) else {
        return;
    };
    push_event_id(frame, &feed.id_of(number));
    push_named_event(frame, event.kind(), &data);
}

fn push_lagged(frame: &mut String, lagged: &Lagged) {
    if let Ok(data) = serde_json::to_string(lagged) {
        push_named_event(frame, "lagged", &data);
    }
}

/// The event id to resume after: `Last-Event-ID`, else `?after=`; empty is none.
fn read_after(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<Option<String>, ApiError> {
    let (place, name, text) = match headers.get("last-event-id") {
        Some(value) => (
            "header",
            "last-event-id",
            String::from_utf8_lossy(value.as_bytes()).trim().to_string(),
        ),
        None => match input::query_value(pairs, "after") {
            Some(text) => ("query", "after", text.trim().to_string()),
            None => return Ok(None),
        },
    };
    if text.is_empty() {
        return Ok(None);
    }
    if !events::is_event_id(&text) {
        return Err(ApiError::invalid(Invalid::new(
            "value_error",
            vec![json!(place), json!(name)],
            "an event id is EPOCH-NUMBER, as the ids of GET /events",
            json!(text),
        )));
    }
    Ok(Some(text))
}
