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
use super::openapi::schemas::{Detail, ReplyEvent, ValidationError};
use super::stream::{self, Framing};
use super::{ApiError, App, input, path_id};
use crate::replies::cursor::{self, Cursor, Offsets, Place, ReplyId};
use crate::replies::{Reply, ReplyState};
use crate::store::MessageRow;
use common::{MessageStatus, Role};

/// The longest `?wait=` may ask for, in seconds.
const MAX_WAIT_SECS: i64 = 60;
/// How long a cursor ahead of a mirrored reply waits for the mirror to reach it.
const MIRROR_CATCH_UP: Duration = Duration::from_secs(2);

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}/reply", tag = "chat",
    params(
        ("conversation_id" = i64, Path),
        ("events" = Option<bool>, Query, description = "As for `POST /chat`"),
        ("after" = Option<String>, Query, nullable = false, pattern = "^([1-9][0-9]{0,17}(\\.[1-9][0-9]{0,8})?:([0-9]{1,18}(:[0-9]{1,18})?|end))?$", description = "A cursor (an event's `id:`, `R:C`, `R:C:T` or `R:end`; `R` is `ID` or `ID.N`, docs/API.md §3.19): only what came after it, for clients that cannot set `Last-Event-ID`"),
        ("wait" = Option<i64>, Query, minimum = 0, maximum = 60, description = "Seconds to wait for a reply to start instead of answering 404 at once"),
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^([1-9][0-9]{0,17}(\\.[1-9][0-9]{0,8})?:([0-9]{1,18}(:[0-9]{1,18})?|end))?$", description = "A cursor, as EventSource sends it on a reconnect; wins over `after`"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = ReplyEvent, description = "The reply as Server-Sent Events, from its first token (or after the cursor) on, then live; a reply that has ended since, or was interrupted by a restart, from its stored message. Unnamed token events as for `POST /chat`, and with `?events=true` the named events `start` (a StreamStart), `reasoning` (a JSON string) and `end` (a StreamEnd); every event has its cursor as `id:` (docs/API.md §3.4)."),
        (status = 400, description = "A cursor of another reply, past its text, or at the end of a reply that has not ended", body = Detail),
        (status = 404, description = "`No reply in progress` (nor an interrupted one, nor one started within `wait`); `Conversation not found` when waiting on one that does not exist", body = Detail),
        (status = 422, description = "A bad id, `events`, `wait` or a malformed cursor", body = ValidationError),
    )
)]
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
        .attach_anywhere(id)
        .await
        .filter(|reply| reply.id() == cursor.reply);
    match (live, cursor.place) {
        (Some(reply), Place::Within(offsets)) => {
            let mut listener = reply.subscribe();
            // A reply of another process is mirrored here a little behind its owner; a
            // cursor from the owner's stream may be ahead of the mirror for a moment.
            let _ = tokio::time::timeout(
                MIRROR_CATCH_UP,
                listener.wait_for(|state| state.end.is_some() || covers(state, offsets)),
            )
            .await;
            check_within(&listener.borrow(), offsets)?;
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
                Place::End => next_reply(app, id, cursor.reply, framing, wait).await,
                Place::Within(offsets) => {
                    check_stored(answer.as_ref(), offsets)?;
                    Ok(stream::stored_sse_response(
                        question,
                        cursor.reply.index,
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
    if let Some(reply) = app.replies.attach_anywhere(id).await {
        return Ok(stream::sse_response(reply, framing, None));
    }
    if let Some((question, answer, index)) = app.store.last_answered_turn(id).await?
        && answer.status == MessageStatus::Interrupted
    {
        return Ok(stream::stored_sse_response(
            question,
            index,
            Some(answer),
            framing,
            None,
        ));
    }
    match waited(app, id, None, wait).await? {
        Some(reply) => Ok(stream::sse_response(reply, framing, None)),
        None => Err(no_reply()),
    }
}

/// What came after the end of reply `after`: the conversation's next reply.
async fn next_reply(
    app: &App,
    id: i64,
    after: ReplyId,
    framing: Framing,
    wait: Duration,
) -> Result<Response, ApiError> {
    match waited(app, id, Some(after), wait).await? {
        Some(reply) => Ok(stream::sse_response(reply, framing, None)),
        None => Err(no_reply()),
    }
}

async fn waited(
    app: &App,
    id: i64,
    after: Option<ReplyId>,
    wait: Duration,
) -> Result<Option<std::sync::Arc<Reply>>, ApiError> {
    let reply = app.replies.attach_anywhere(id).await;
    // One reply runs at a time: one other than `after` came after it.
    if let Some(reply) = reply.filter(|reply| after.is_none_or(|a| reply.id() != a)) {
        return Ok(Some(reply));
    }
    if wait.is_zero() {
        return Ok(None);
    }
    // No reply will ever start on a conversation that does not exist: say so at once
    // rather than hold the client for the whole wait.
    if app.store.conversation_settings(id).await?.is_none() {
        return Err(ApiError::not_found("Conversation not found"));
    }
    Ok(app.replies.next_reply(id, after, wait).await)
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
    reply: ReplyId,
) -> Result<(MessageRow, Option<MessageRow>), ApiError> {
    let found = app
        .store
        .message_with_reply(reply.user_message, reply.index)
        .await?;
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
    // A first reply that stored nothing (it failed before its first token) is answered
    // as such, as before branches; a later one that was never made is no reply at all.
    if reply.index > 0 && answer.is_none() {
        return Err(ApiError::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "The cursor names reply {reply}, which message {} does not have; attach \
                 without a cursor to follow this conversation",
                reply.user_message
            ),
        ));
    }
    Ok((question, answer))
}

/// A cursor of the reply in flight lies within what it has generated.
fn check_within(state: &ReplyState, offsets: Offsets) -> Result<(), ApiError> {
    let (content, reasoning) = generated(state);
    check_offsets(offsets, content, reasoning)
}

fn covers(state: &ReplyState, offsets: Offsets) -> bool {
    let (content, reasoning) = generated(state);
    offsets.content <= content && offsets.reasoning <= reasoning
}

/// Characters of content and of reasoning a reply has generated so far.
fn generated(state: &ReplyState) -> (u64, u64) {
    let content: u64 = state.deltas.iter().map(|d| cursor::chars(d)).sum();
    let reasoning: u64 = state.reasoning.iter().map(|(_, r)| cursor::chars(r)).sum();
    (content, reasoning)
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
