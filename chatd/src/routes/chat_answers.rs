//! The answers of `POST /chat` other than the stream of a new reply: the 202 of
//! `?detach=true` (docs/API.md §3.16), and the answer to a repeat of a chat sent with
//! an `Idempotency-Key` (§3.15), which attaches to the first request's reply or replays
//! it once stored, and never stores a second message.

use std::sync::Arc;

use common::{DetachedChat, DetachedReply, Role};
use warp::http::StatusCode;
use warp::reply::Response;

use super::error::json_response;
use super::stream::{self, Framing};
use super::{ApiError, App, input, views};
use crate::replies::Reply;
use crate::replies::cursor::{Cursor, Offsets, ReplyId};
use crate::store::MessageRow;

/// How a chat is answered.
#[derive(Debug, Clone, Copy)]
pub enum ChatAnswer {
    Stream(Framing),
    Detached,
}

impl ChatAnswer {
    /// The answer a chat's query asks for: `?detach=true`, else a stream, with events
    /// when `?events=true`.
    pub fn asked(pairs: &[(String, String)]) -> Result<ChatAnswer, ApiError> {
        let with_events = input::query_bool(pairs, "events")?;
        Ok(if input::query_bool(pairs, "detach")? {
            ChatAnswer::Detached
        } else {
            ChatAnswer::Stream(Framing::of_chat(with_events))
        })
    }
}

/// The answer of a chat whose reply runs (or ran) in this process.
pub fn live(reply: Arc<Reply>, answer: ChatAnswer) -> Response {
    match answer {
        ChatAnswer::Stream(framing) => stream::sse_response(reply, framing, None),
        ChatAnswer::Detached => {
            let ended = reply.subscribe().borrow().end.clone();
            let (status, message) = match ended {
                Some(end) => (end.status.as_str().to_string(), end.message),
                None => ("in_progress".to_string(), None),
            };
            detached(reply.user_message.clone(), reply.id(), status, message)
        }
    }
}

fn detached(
    user_message: MessageRow,
    reply: ReplyId,
    status: String,
    message: Option<MessageRow>,
) -> Response {
    let cursor = Cursor::within(reply, Offsets::default()).to_string();
    json_response(
        StatusCode::ACCEPTED,
        &DetachedChat {
            conversation_id: user_message.conversation_id,
            user_message: views::message(user_message, true),
            reply: DetachedReply {
                status,
                cursor,
                message: message.map(|row| views::message(row, true)),
            },
        },
    )
}

/// The answer to a repeat of the chat that stored `user_message_id`: its reply, live
/// or as stored.
pub async fn again(
    app: &App,
    conversation_id: i64,
    user_message_id: i64,
    answer: ChatAnswer,
) -> Result<Response, ApiError> {
    if let Some(reply) = app
        .replies
        .attach(conversation_id)
        .filter(|reply| reply.id() == ReplyId::first(user_message_id))
    {
        return Ok(live(reply, answer));
    }
    let found = app.store.message_with_next(user_message_id).await?;
    let Some((question, next)) =
        found.filter(|(question, _)| question.conversation_id == conversation_id)
    else {
        // The conversation (or that turn) was deleted since.
        return Err(ApiError::not_found("Conversation not found"));
    };
    let Some(reply) = next.filter(|next| next.role == Role::Assistant) else {
        return Err(ApiError::detail(
            StatusCode::CONFLICT,
            "The first request with this Idempotency-Key stored its message, but its reply \
             is neither running in this chatd nor stored (it ended before its first token, \
             or another chatd process is generating it); read the conversation's messages",
        ));
    };
    Ok(match answer {
        ChatAnswer::Stream(framing) => {
            stream::stored_sse_response(question, 0, Some(reply), framing, None)
        }
        ChatAnswer::Detached => {
            let status = reply.status.as_str().to_string();
            let first = ReplyId::first(question.id);
            detached(question, first, status, Some(reply))
        }
    })
}
