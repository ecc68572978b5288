//! The Responses API's routes on one response: `GET /v1/responses/{id}` (its state, or
//! with `stream=true` its events again, from the one after `starting_after`),
//! `POST /v1/responses/{id}/cancel` and `DELETE /v1/responses/{id}`. A response is a
//! chatd user message and its reply, so each maps onto what chatd already does: the
//! reply in flight in the registry or the stored message, chatd's cancel (what was
//! generated is stored as `cancelled`), and a delete of the conversation's last turn.

use crate::routes::openapi::front_door::{
    DeletedResponse, OpenAiErrorBody, ResponseObject, ServerSentEvent,
};
use std::sync::Arc;
use std::time::Duration;

use common::{MessageStatus, Role};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::error::OpenAiError;
use super::response_object::{Answer, Rendered, Source};
use super::responses::parse_id;
use crate::replies::Reply;
use crate::routes::error::json_response;
use crate::routes::{App, input};
use crate::store::{MessageRow, TurnDelete};

/// How long a cancel waits for the reply to stop and be stored.
const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// A response as chatd finds it: its user message, and its reply running or stored.
struct Found {
    rendered: Rendered,
    message: MessageRow,
    running: Option<Arc<Reply>>,
    answer: Option<MessageRow>,
}

fn not_found(raw_id: &str) -> OpenAiError {
    OpenAiError::new(
        StatusCode::NOT_FOUND,
        format!("No response with id {raw_id:?} found."),
    )
}

async fn find(app: &App, raw_id: &str) -> Result<Found, OpenAiError> {
    let id = parse_id(raw_id).ok_or_else(|| not_found(raw_id))?;
    let (message, answer) = app
        .store
        .message_with_next(id)
        .await?
        .ok_or_else(|| not_found(raw_id))?;
    if message.role != Role::User {
        return Err(not_found(raw_id));
    }
    let settings = app
        .store
        .conversation_settings(message.conversation_id)
        .await?
        .map(|(_, settings)| settings)
        .unwrap_or_default();
    let running = app
        .replies
        .attach(message.conversation_id)
        .filter(|reply| reply.user_message.id == id);
    let rendered = Rendered {
        id,
        conversation_id: message.conversation_id,
        created_at: message.created_at.and_utc().timestamp(),
        model: settings
            .model
            .unwrap_or_else(|| app.providers.default_model()),
        instructions: settings.system_prompt,
        previous_response_id: None,
        background: None,
    };
    Ok(Found {
        rendered,
        running,
        answer: answer.filter(|answer| answer.role == Role::Assistant),
        message,
    })
}

impl Found {
    /// The stored reply, or, when nothing was stored for the message (the reply
    /// stopped before its first token: the provider failed, it was cancelled, or chatd
    /// stopped), a failed stand-in without text.
    fn stored(&self) -> MessageRow {
        self.answer.clone().unwrap_or_else(|| MessageRow {
            role: Role::Assistant,
            content: String::new(),
            status: MessageStatus::Failed,
            ..self.message.clone()
        })
    }
}

#[utoipa::path(
    get, path = "/v1/responses/{id}", tag = "openai",
    params(
        ("id" = String, Path, pattern = r"^resp_[0-9]+$", description = "`resp_N`"),
        ("stream" = Option<bool>, Query, description = "Answer with the response's events, as `POST /v1/responses` streams them"),
        ("starting_after" = Option<u64>, Query, description = "With `stream`: only the events after this `sequence_number`"),
    ),
    responses(
        (status = 200, description = "The response as it is now; with `stream=true`, its events (Server-Sent Events)", content(
            (ResponseObject = "application/json"),
            (ServerSentEvent = "text/event-stream"),
        )),
        (status = 400, description = "A bad `stream` or `starting_after`", body = OpenAiErrorBody),
        (status = 404, description = "No such response", body = OpenAiErrorBody),
    )
)]
/// GET /v1/responses/{id}: the response as it is now, in progress or ended; with
/// `stream=true`, its events, resumed after `starting_after` when given.
pub async fn retrieve(app: &App, raw_id: &str, query: &str) -> Result<Response, OpenAiError> {
    let pairs = input::query_pairs(query);
    let stream = input::query_bool(&pairs, "stream")?;
    let starting_after = match input::query_value(&pairs, "starting_after") {
        None => None,
        Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            OpenAiError::invalid(
                "starting_after",
                "starting_after must be a sequence number (an integer of 0 or more)",
            )
        })?),
    };
    if starting_after.is_some() && !stream {
        return Err(OpenAiError::invalid(
            "starting_after",
            "starting_after resumes a stream: send it with stream=true",
        ));
    }
    let found = find(app, raw_id).await?;
    if stream {
        let source = match &found.running {
            Some(reply) => Source::Live(reply.clone()),
            None => Source::Stored(found.stored()),
        };
        return Ok(found.rendered.stream(source, starting_after));
    }
    let answer = match &found.running {
        Some(reply) => {
            let state = reply.subscribe();
            let text = state.borrow().deltas.concat();
            Answer::Running(text)
        }
        None => Answer::Stored(found.stored()),
    };
    Ok(found.rendered.answer(answer))
}

#[utoipa::path(
    post, path = "/v1/responses/{id}/cancel", tag = "openai",
    params(("id" = String, Path, pattern = r"^resp_[0-9]+$", description = "`resp_N`")),
    responses(
        (status = 200, description = "The response, `cancelled`", body = ResponseObject),
        (status = 400, description = "The response ended otherwise", body = OpenAiErrorBody),
        (status = 404, description = "No such response", body = OpenAiErrorBody),
        (status = 503, description = "chatd is shutting down, too many replies are in flight, or storage is unavailable", body = OpenAiErrorBody),
    )
)]
/// POST /v1/responses/{id}/cancel: stops the reply with chatd's cancel (what it
/// generated is stored as `cancelled`) and answers the response once it is stored. A
/// response already cancelled is answered as it is; one that ended otherwise is a 400.
pub async fn cancel(app: &App, raw_id: &str) -> Result<Response, OpenAiError> {
    let found = find(app, raw_id).await?;
    let Some(reply) = &found.running else {
        let stored = found.stored();
        if stored.status == MessageStatus::Cancelled {
            return Ok(found.rendered.answer(Answer::Stored(stored)));
        }
        return Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "Cannot cancel a response that has already ended ({}).",
                stored.status.as_str()
            ),
        ));
    };
    reply.stop();
    let mut listener = reply.subscribe();
    let ended =
        tokio::time::timeout(CANCEL_WAIT, listener.wait_for(|state| state.end.is_some())).await;
    let (end, text) = match ended {
        Ok(Ok(state)) => (state.end.clone(), state.deltas.concat()),
        _ => (None, String::new()),
    };
    let Some(end) = end else {
        tracing::warn!(
            conversation_id = found.rendered.conversation_id,
            "a cancelled response took over 10 s to stop"
        );
        return Err(OpenAiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the response is stopping but has not ended yet; retrieve it shortly",
        ));
    };
    let mut row = end.message.clone().unwrap_or_else(|| found.stored());
    if end.message.is_none() {
        // Cancelled before its first token: nothing was stored, but it was cancelled.
        row.status = end.status;
        row.content = text;
    }
    Ok(found.rendered.answer(Answer::Stored(row)))
}

#[utoipa::path(
    delete, path = "/v1/responses/{id}", tag = "openai",
    params(("id" = String, Path, pattern = r"^resp_[0-9]+$", description = "`resp_N`")),
    responses(
        (status = 200, description = "Deleted", body = DeletedResponse),
        (status = 404, description = "No such response", body = OpenAiErrorBody),
        (status = 409, description = "Not its conversation's last response", body = OpenAiErrorBody),
    )
)]
/// DELETE /v1/responses/{id}: deletes the response's turn (its user messages and its
/// reply) when it is its conversation's last, stopping its reply first; a conversation
/// left empty goes with it. An earlier response is a 409: deleting it would change the
/// history the later ones were answered from.
pub async fn delete(app: &App, raw_id: &str) -> Result<Response, OpenAiError> {
    let found = find(app, raw_id).await?;
    if let Some(reply) = &found.running {
        reply.stop();
        let mut listener = reply.subscribe();
        let _ =
            tokio::time::timeout(CANCEL_WAIT, listener.wait_for(|state| state.end.is_some())).await;
    } else if app.replies.attach(found.rendered.conversation_id).is_some() {
        // A later response of the same conversation is running.
        return Err(not_last());
    }
    match app.store.delete_last_turn(found.rendered.id).await? {
        TurnDelete::Deleted {
            conversation_deleted,
        } => {
            if conversation_deleted {
                tracing::info!(
                    conversation_id = found.rendered.conversation_id,
                    "deleted a conversation whose only response was deleted"
                );
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"id": raw_id, "object": "response", "deleted": true}),
            ))
        }
        TurnDelete::NotLast => Err(not_last()),
        TurnDelete::Busy => Err(OpenAiError::new(
            StatusCode::CONFLICT,
            "a reply is running on this response's conversation; cancel it or wait for it \
             to end",
        )
        .with_code("conversation_busy")),
        TurnDelete::Missing => Err(not_found(raw_id)),
    }
}

fn not_last() -> OpenAiError {
    OpenAiError::new(
        StatusCode::CONFLICT,
        "only the latest response of a conversation can be deleted: later responses were \
         answered from it (delete the whole conversation with DELETE \
         /api/v1/conversations/{id})",
    )
}
