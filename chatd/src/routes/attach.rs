//! Extension `GET /conversations/{id}/reply`: attaching to a conversation's reply, live
//! from its first event, or resumed after a cursor (`Last-Event-ID`, as EventSource
//! sends it on a reconnect, or `?after=`). A cursor of a reply that has ended since is
//! answered from the stored message; one at a reply's end asks for what came after it,
//! the conversation's next reply. `?wait=SECONDS` waits for a reply to start instead of
//! answering 404 at once.

use std::time::Duration;

use serde_json::json;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::error::Invalid;
use super::stream::{self, Framing};
use super::{ApiError, App, input, path_id};
use crate::replies::cursor::{self, Cursor, Offsets, Place};
use crate::replies::{Reply, ReplyState};
use crate::store::MessageRow;
use common::{MessageStatus, Role};

/// The longest `?wait=` may ask for, in seconds.
const MAX_WAIT_SECS: i64 = 60;

/// GET /conversations/{conversation_id}/reply
pub async fn attach_reply(
    app: &App,
    raw_id: &str,
    query: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    let pairs = input::query_pairs(query);
    let framing = Framing::of_attach(input::query_bool(&pairs, "events")?);
    let wait = input::query_int(&pairs, "wait", 0, 0, Some(MAX_WAIT_SECS))
        .map_err(|item| ApiError::invalid(*item))?;
    let wait = Duration::from_secs(u64::try_from(wait).unwrap_or(0));
    let Some(cursor) = read_cursor(headers, &pairs)? else {
        return from_the_start(app, id, framing, wait).await;
    };
    let live = app
        .replies
        .attach(id)
        .filter(|reply| reply.user_message.id == cursor.reply);
    match (live, cursor.place) {
        (Some(reply), Place::Within(offsets)) => {
            check_within(&reply.subscribe().borrow(), offsets)?;
            Ok(stream::sse_response(reply, framing, Some(offsets)))
        }
        // The end of a reply that has ended but is still held (its final write is being
        // retried): nothing came after it yet.
        (Some(reply), Place::End) if reply.subscribe().borrow().end.is_some() => {
            next_reply(app, id, cursor.reply, framing, wait).await
        }
        (Some(_), Place::End) => Err(ApiError::detail(
            StatusCode::BAD_REQUEST,
            "The cursor is at the end of a reply that has not ended; resume from the last \
             event id received",
        )),
        (None, place) => {
            let (question, answer) = stored_reply(app, id, cursor.reply).await?;
            match place {
                Place::End => next_reply(app, id, question.id, framing, wait).await,
                Place::Within(offsets) => {
                    check_stored(answer.as_ref(), offsets)?;
                    Ok(stream::stored_sse_response(
                        question,
                        answer,
                        framing,
                        Some(offsets),
                    ))
                }
            }
        }
    }
}

/// Without a cursor: the reply in flight, else a reply interrupted by a restart (or a
/// dead peer) as it was stored, else, with `wait`, the next reply once it starts.
async fn from_the_start(
    app: &App,
    id: i64,
    framing: Framing,
    wait: Duration,
) -> Result<Response, ApiError> {
    if let Some(reply) = app.replies.attach(id) {
        return Ok(stream::sse_response(reply, framing, None));
    }
    if let Some((question, answer)) = app.store.last_answered_turn(id).await?
        && answer.status == MessageStatus::Interrupted
    {
        return Ok(stream::stored_sse_response(
            question,
            Some(answer),
            framing,
            None,
        ));
    }
    match waited(app, id, None, wait).await {
        Some(reply) => Ok(stream::sse_response(reply, framing, None)),
        None => Err(no_reply()),
    }
}

/// What came after the end of reply `after`: the conversation's next reply.
async fn next_reply(
    app: &App,
    id: i64,
    after: i64,
    framing: Framing,
    wait: Duration,
) -> Result<Response, ApiError> {
    match waited(app, id, Some(after), wait).await {
        Some(reply) => Ok(stream::sse_response(reply, framing, None)),
        None => Err(no_reply()),
    }
}

async fn waited(
    app: &App,
    id: i64,
    after: Option<i64>,
    wait: Duration,
) -> Option<std::sync::Arc<Reply>> {
    let reply = app.replies.attach(id);
    if let Some(reply) = reply.filter(|reply| after.is_none_or(|a| reply.user_message.id > a)) {
        return Some(reply);
    }
    if wait.is_zero() {
        return None;
    }
    app.replies.next_reply(id, after, wait).await
}

fn no_reply() -> ApiError {
    ApiError::not_found("No reply in progress")
}

/// The cursor the client resumes after: the `Last-Event-ID` header (which EventSource
/// sends on every reconnect, so it is newer than the URL's) or `?after=`. An empty
/// value is no cursor, as the HTML standard resets the last event id with one.
fn read_cursor(
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Option<Cursor>, ApiError> {
    let (place, name, text) = match headers.get("last-event-id") {
        Some(value) => (
            "header",
            "last-event-id",
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ),
        None => match input::query_value(pairs, "after") {
            Some(text) => ("query", "after", text.to_string()),
            None => return Ok(None),
        },
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Cursor::parse(text).map(Some).map_err(|why| {
        ApiError::invalid(Invalid::new(
            "value_error",
            vec![json!(place), json!(name)],
            why,
            json!(text),
        ))
    })
}

/// The reply `reply` of conversation `id` as stored: its user message and its answer
/// (`None` when it ended before anything was generated). A cursor of anything else is a
/// 400: chatd never guesses which reply was meant.
async fn stored_reply(
    app: &App,
    id: i64,
    reply: i64,
) -> Result<(MessageRow, Option<MessageRow>), ApiError> {
    let found = app.store.message_with_next(reply).await?;
    let Some((question, next)) =
        found.filter(|(question, _)| question.conversation_id == id && question.role == Role::User)
    else {
        return Err(ApiError::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "The cursor names reply {reply}, which is not a reply of conversation {id}; \
                 attach without a cursor to follow this conversation"
            ),
        ));
    };
    let answer = next.filter(|next| next.role == Role::Assistant);
    Ok((question, answer))
}

/// A cursor of the reply in flight lies within what it has generated.
fn check_within(state: &ReplyState, offsets: Offsets) -> Result<(), ApiError> {
    let content: u64 = state.deltas.iter().map(|d| cursor::chars(d)).sum();
    let reasoning: u64 = state.reasoning.iter().map(|(_, r)| cursor::chars(r)).sum();
    check_offsets(offsets, content, reasoning)
}

/// A cursor of a stored reply lies within what was stored.
fn check_stored(answer: Option<&MessageRow>, offsets: Offsets) -> Result<(), ApiError> {
    let (content, reasoning) = answer.map_or((0, 0), |answer| {
        (
            cursor::chars(&answer.content),
            answer.details.reasoning.as_deref().map_or(0, cursor::chars),
        )
    });
    check_offsets(offsets, content, reasoning)
}

fn check_offsets(offsets: Offsets, content: u64, reasoning: u64) -> Result<(), ApiError> {
    if offsets.content > content || offsets.reasoning > reasoning {
        return Err(ApiError::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "The cursor is past the reply: it has {content} characters of content and \
                 {reasoning} of reasoning"
            ),
        ));
    }
    Ok(())
}
