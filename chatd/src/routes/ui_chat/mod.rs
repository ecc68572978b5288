//! The AI SDK's UI message stream routes, so that a `useChat` app talks to chatd
//! unchanged (`api: "http://127.0.0.1:8000/api/v1/ui/chat"`): `POST /ui/chat` takes the
//! body its `DefaultChatTransport` sends (`{id, messages, trigger, messageId}`) and
//! answers the reply as the UI message stream (`chunks.rs`);
//! `GET /ui/chat/{id}/stream` resumes the reply in flight (204 when none);
//! `POST /ui/chat/{id}/stop` is chatd's cancel (the SDK's own stop only drops the
//! connection, and the reply goes on); `GET /ui/chat/{id}/messages` is the stored
//! conversation as `UIMessage[]` (`history.rs`).
//!
//! The client's chat id names a conversation of the request's user (`X-Chatd-User`, else
//! `--default-user`), made on first sight (`store/chat_keys.rs`). chatd keeps the
//! history, so of the messages sent only the last, a user message, is new: the ones
//! before it must be what chatd stored (else 409), or be left out altogether. A history
//! that is the start of the stored path and stops before one of its user messages is
//! how `sendMessage({messageId})` edits that message: the new one is stored beside it
//! (a branch, docs/API.md §3.19). `regenerate()` makes a sibling reply, the old one
//! kept.

mod chunks;
mod history;

use bytes::Bytes;
use common::{CancelResponse, Role};
use futures_util::Stream;
use serde_json::{Map, Value, json};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::acting_user::{USER_HEADER, UserChoiceError, acting_user, acting_user_name};
use super::error::{ApiError, Invalid, json_response};
use super::openapi::schemas::{Detail, ValidationError};
use super::openapi::ui_chat::{UiChatRequest, UiMessage, UiMessageChunk};
use super::{
    App, MESSAGE_MAX_CHARS, begin_error, decode_segment, input, manage, settings, stop_reply,
};
use crate::replies::ChatOverrides;
use crate::store::{Branch, ChatKeyed, ConversationSettingsRow, KnownOrRow, MessageRow, UserTurn};
use history::{Said, Speaker};

/// The longest chat id kept: the AI SDK's own are 16 characters, UUIDs 36.
const CHAT_KEY_MAX_CHARS: usize = 256;

/// What a `POST /ui/chat` asks for.
struct ChatRequest {
    key: String,
    /// The system messages' text, if any were sent.
    system_prompt: Option<String>,
    /// The messages before the new one, after the system messages.
    history: Vec<Said>,
    new_message: String,
    /// `trigger: "regenerate-message"`: the last message is the stored one whose reply
    /// is made again.
    regenerate: bool,
    /// The body's `messageId` is the id of its last message: `sendMessage({messageId})`,
    /// which replaces that message (an edit) rather than adding one.
    replaces: bool,
    /// The body's `model` (an app's `body: {model}`): this reply's model, and a new
    /// conversation's.
    model: Option<String>,
}

fn field_loc(name: &str) -> Vec<Value> {
    vec![json!("body"), json!(name)]
}

fn check_key(key: &str, loc: Vec<Value>) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().count() > CHAT_KEY_MAX_CHARS {
        return Err(ApiError::invalid(Invalid::new(
            "string_too_long",
            loc,
            format!("The chat id should have 1 to {CHAT_KEY_MAX_CHARS} characters"),
            json!(key),
        )));
    }
    Ok(())
}

fn read_request(body: &Map<String, Value>) -> Result<ChatRequest, ApiError> {
    let key = match body.get("id") {
        Some(Value::String(key)) => key.clone(),
        other => {
            return Err(ApiError::invalid(Invalid::new(
                "string_type",
                field_loc("id"),
                "Input should be a valid string (the chat id)",
                other.cloned().unwrap_or(Value::Null),
            )));
        }
    };
    check_key(&key, field_loc("id"))?;
    let regenerate = match body.get("trigger").and_then(Value::as_str) {
        None | Some("submit-message") => false,
        Some("regenerate-message") => true,
        Some(other) => {
            return Err(ApiError::invalid(Invalid::new(
                "literal_error",
                field_loc("trigger"),
                "Input should be 'submit-message' or 'regenerate-message'",
                json!(other),
            )));
        }
    };
    let model = match body.get("model") {
        None | Some(Value::Null) => None,
        Some(Value::String(model)) => Some(model.clone()),
        Some(other) => {
            return Err(ApiError::invalid(Invalid::new(
                "string_type",
                field_loc("model"),
                "Input should be a valid string (PROVIDER/MODEL)",
                other.clone(),
            )));
        }
    };
    let Some(values) = body.get("messages").and_then(Value::as_array) else {
        return Err(ApiError::invalid(Invalid::new(
            "list_type",
            field_loc("messages"),
            "Input should be a valid list (of UIMessages)",
            body.get("messages").cloned().unwrap_or(Value::Null),
        )));
    };
    let mut problems = Vec::new();
    let mut messages: Vec<Said> = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| history::read_message(index, value, &mut problems))
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let last_loc = vec![
        json!("body"),
        json!("messages"),
        json!(values.len().saturating_sub(1)),
    ];
    let new_message = match messages.pop() {
        Some(Said {
            role: Speaker::Chat(Role::User),
            text,
            has_other_parts: false,
        }) if !text.trim().is_empty() && text.chars().count() <= MESSAGE_MAX_CHARS => text,
        Some(Said {
            role: Speaker::Chat(Role::User),
            has_other_parts: true,
            ..
        }) => {
            return Err(ApiError::invalid(Invalid::new(
                "value_error",
                last_loc,
                "chatd keeps text only: send the message without files or tool parts",
                Value::Null,
            )));
        }
        Some(Said {
            role: Speaker::Chat(Role::User),
            text,
            ..
        }) => {
            return Err(ApiError::invalid(Invalid::new(
                "value_error",
                last_loc,
                format!(
                    "The new message's text must not be blank, and have at most \
                     {MESSAGE_MAX_CHARS} characters"
                ),
                json!(text.chars().count()),
            )));
        }
        _ => {
            return Err(ApiError::invalid(Invalid::new(
                "value_error",
                last_loc,
                "The last message must be the user's (its new one, or the one whose reply is \
                 regenerated)",
                Value::Null,
            )));
        }
    };
    let system_count = messages
        .iter()
        .take_while(|said| said.role == Speaker::System)
        .count();
    let history = messages.split_off(system_count);
    if history.iter().any(|said| said.role == Speaker::System) {
        return Err(ApiError::invalid(Invalid::new(
            "value_error",
            field_loc("messages"),
            "System messages must come first: chatd keeps them as the conversation's system \
             prompt",
            Value::Null,
        )));
    }
    let system: Vec<String> = messages.into_iter().map(|said| said.text).collect();
    let last_id = values
        .last()
        .and_then(|last| last.get("id"))
        .and_then(Value::as_str);
    let replaces = !regenerate
        && last_id.is_some()
        && body.get("messageId").and_then(Value::as_str) == last_id;
    Ok(ChatRequest {
        key,
        system_prompt: (!system.is_empty()).then(|| system.join("\n\n")),
        history,
        new_message,
        regenerate,
        replaces,
        model,
    })
}

/// A user choice's error as this API answers it: a bad header is a 422 like any input.
fn user_error(headers: &HeaderMap, error: UserChoiceError) -> ApiError {
    match error {
        UserChoiceError::Invalid {
            from_header: true,
            message,
        } => ApiError::invalid(Invalid::new(
            "value_error",
            vec![json!("header"), json!(USER_HEADER)],
            message,
            headers
                .get(USER_HEADER)
                .and_then(|value| value.to_str().ok())
                .map_or(Value::Null, |text| json!(text)),
        )),
        UserChoiceError::Invalid {
            from_header: false,
            message,
        } => ApiError::Internal(format!("the configured default user is invalid: {message}")),
        UserChoiceError::Failed(error) => error,
    }
}

/// The id of the request's user (`X-Chatd-User`, else chatd's default user), registered
/// on first use.
async fn user_of(app: &App, headers: &HeaderMap) -> Result<i64, ApiError> {
    acting_user(app, headers, None, &app.default_user)
        .await
        .map_err(|error| user_error(headers, error))
}

/// The conversation the path's chat id names for the request's user, if there is one
/// (a user never seen has none, and is not registered by looking).
async fn find(app: &App, headers: &HeaderMap, raw_key: &str) -> Result<Option<i64>, ApiError> {
    let key = decode_segment("id", raw_key)?;
    check_key(&key, vec![json!("path"), json!("id")])?;
    let name = acting_user_name(headers, None, &app.default_user)
        .map_err(|error| user_error(headers, error))?;
    let Some(user) = app.store.user_by_name(name).await? else {
        return Ok(None);
    };
    Ok(app.store.conversation_by_chat_key(user.id, key).await?)
}

fn chat_not_found() -> ApiError {
    ApiError::not_found("Chat not found")
}

/// A conversation's messages, oldest first.
async fn stored_messages(app: &App, conversation_id: i64) -> Result<Vec<MessageRow>, ApiError> {
    let (_, parts) = app
        .store
        .conversation_with_known_messages(conversation_id, |ids| {
            ids.iter().map(|_| None::<()>).collect()
        })
        .await?
        .ok_or_else(chat_not_found)?;
    Ok(parts
        .into_iter()
        .filter_map(|part| match part {
            KnownOrRow::Row(row) => Some(row),
            KnownOrRow::Known(()) => None,
        })
        .collect())
}

#[utoipa::path(
    post, path = "/api/v1/ui/chat", tag = "ui",
    request_body = UiChatRequest,
    params(("X-Chatd-User" = Option<String>, Header, nullable = false, min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f/]*[^\x00-\x1f\x7f-\x9f/\s][^\x00-\x1f\x7f-\x9f/]*$", description = "The user the chat belongs to; else the `--default-user` (`local` unless set)")),
    responses(
        (status = 200, content_type = "text/event-stream", body = UiMessageChunk, description = "The reply as the UI message stream, protocol v1 (header `x-vercel-ai-ui-message-stream: v1`): one chunk per `data:` line, then `data: [DONE]`. A provider that fails before the first token is an `error` chunk, so that the client shows why (docs/API.md §13)."),
        (status = 404, description = "`Chat not found` (a regenerate of a chat chatd does not have)", body = Detail),
        (status = 409, description = "The history sent does not match the stored conversation, or a reply is already being generated", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "Invalid body, a blank or too long message, an unknown model or user", body = ValidationError),
    )
)]
/// POST /ui/chat
pub async fn chat<S>(app: &App, headers: &HeaderMap, body: S) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let object = input::json_object(headers, body).await?;
    let request = read_request(&object)?;
    if let Some(model) = &request.model {
        settings::check_model(app, model)
            .await
            .map_err(ApiError::invalid)?;
    }
    let user_id = user_of(app, headers).await?;
    let settings = ConversationSettingsRow {
        model: request.model.clone(),
        system_prompt: request.system_prompt.clone(),
        ..ConversationSettingsRow::default()
    };
    let (conversation_id, created) = match app
        .store
        .conversation_for_chat_key(user_id, request.key.clone(), settings)
        .await?
    {
        ChatKeyed::Found(id) => {
            if request.system_prompt.is_some() {
                let stored = app.store.conversation_settings(id).await?;
                let prompt = stored.and_then(|(_, settings)| settings.system_prompt);
                if prompt != request.system_prompt {
                    return Err(ApiError::detail(
                        StatusCode::CONFLICT,
                        "The chat's system message is not the conversation's system prompt; \
                         send the same, none, or change it with PATCH \
                         /api/v1/conversations/{id}",
                    ));
                }
            }
            (id, false)
        }
        ChatKeyed::Created(id) => {
            app.events
                .announce(crate::events::Event::ConversationCreated {
                    conversation_id: id,
                    user_id,
                });
            (id, true)
        }
        ChatKeyed::NoUser => {
            return Err(ApiError::detail(
                StatusCode::CONFLICT,
                "the user was deleted while the chat was being made; send it again",
            ));
        }
    };
    let overrides = ChatOverrides {
        model: request.model.clone(),
        ..ChatOverrides::default()
    };
    let next = if created {
        Next::Turn(first_turn(app, conversation_id, request).await?)
    } else {
        continued_turn(app, conversation_id, request).await?
    };
    let begun = match next {
        Next::Turn(turn) => {
            app.replies
                .begin_at_once(conversation_id, turn, overrides)
                .await
        }
        Next::Regenerate(message_id) => {
            app.replies
                .regenerate_with(conversation_id, message_id, overrides)
                .await
        }
    };
    let reply = begun.map_err(|error| match error {
        // The path changed between the read and the regenerate.
        crate::replies::BeginError::NoBranch(_) => {
            cannot_regenerate("the chat was changed by another request; reload its messages")
        }
        error => begin_error(error),
    })?;
    Ok(chunks::ui_stream(reply))
}

/// The turn of a chat chatd has just made the conversation of. A history sent with it
/// (a chat kept elsewhere until now) is stored first, as the front door does, so that
/// the conversation holds what the model is given; its last user message is answered,
/// whether sent or regenerated.
async fn first_turn(
    app: &App,
    conversation_id: i64,
    request: ChatRequest,
) -> Result<UserTurn, ApiError> {
    let earlier: Vec<(Role, String)> = request
        .history
        .into_iter()
        .filter_map(|said| match said.role {
            Speaker::Chat(role) if !said.text.is_empty() => Some((role, said.text)),
            _ => None,
        })
        .collect();
    let seeded = !earlier.is_empty();
    if seeded {
        app.store.seed_messages(conversation_id, earlier).await?;
    }
    Ok(UserTurn {
        contents: vec![request.new_message],
        // Nothing to compare against but what was just seeded.
        after: (!seeded).then_some(None),
        key: None,
        branch: Branch::Continue,
    })
}

/// What a chat on a conversation chatd already has asks for.
enum Next {
    /// A new user message, after the active path or beside one of its messages.
    Turn(UserTurn),
    /// A new reply beside this assistant message (`None`: to the active leaf, a user
    /// message left unanswered).
    Regenerate(Option<i64>),
}

/// The turn of a chat on a conversation chatd already has: a new message after the
/// stored path, an edit of one of its user messages, or a new reply.
async fn continued_turn(
    app: &App,
    conversation_id: i64,
    request: ChatRequest,
) -> Result<Next, ApiError> {
    let stored = stored_messages(app, conversation_id).await?;
    if request.regenerate {
        return turn_again(request, &stored).map(Next::Regenerate);
    }
    let after = Some(stored.last().map(|row| row.id));
    let mut branch = Branch::Continue;
    // A request of the new message alone continues whatever is stored (the AI SDK's
    // way to send less), unless it says it replaces that message; any history sent
    // must be the start of the stored path, and one that stops before a user message
    // of it edits that message.
    if request.whole_history_sent() || request.replaces {
        let end = history::matched_prefix(&request.history, &stored)?;
        match stored[end..].iter().find(|row| !row.content.is_empty()) {
            None => {}
            Some(next) if next.role == Role::User => branch = Branch::EditOf(next.id),
            // The history stops between a user message and its reply.
            Some(_) => return Err(parted(&request.history, &stored)),
        }
    }
    Ok(Next::Turn(UserTurn {
        contents: vec![request.new_message],
        after,
        key: None,
        branch,
    }))
}

impl ChatRequest {
    /// Whether the request carries the chat's history, not only its last message.
    fn whole_history_sent(&self) -> bool {
        !(self.history.is_empty() && self.system_prompt.is_none())
    }
}

fn cannot_regenerate(why: &str) -> ApiError {
    ApiError::detail(
        StatusCode::CONFLICT,
        format!("The reply cannot be regenerated: {why}"),
    )
}

/// A regenerate: the request's messages, up to its last user message, must be the start
/// of the stored path, up to a user message of it; the reply after that message (the
/// last one, or an earlier one: `regenerate({messageId})`) gets a sibling, which becomes
/// active, the old one kept. Which assistant message that is, or `None` for a user
/// message left unanswered at the end of the path.
fn turn_again(request: ChatRequest, stored: &[MessageRow]) -> Result<Option<i64>, ApiError> {
    if !request.whole_history_sent() {
        let asked = match stored.split_last() {
            Some((last, before)) if last.role == Role::Assistant => before,
            _ => stored,
        };
        let Some(last_user) = asked.last().filter(|row| row.role == Role::User) else {
            return Err(cannot_regenerate("the chat has no message to answer again"));
        };
        if last_user.content == request.new_message {
            return Ok(stored
                .last()
                .filter(|row| row.role == Role::Assistant)
                .map(|row| row.id));
        }
        // Else the whole history is the first message: its reply again.
    }
    let mut sent = request.history;
    sent.push(Said {
        role: Speaker::Chat(Role::User),
        text: request.new_message,
        has_other_parts: false,
    });
    let end = history::matched_prefix(&sent, stored)?;
    match stored.get(end) {
        None => Ok(None),
        Some(reply) if reply.role == Role::Assistant => Ok(Some(reply.id)),
        // Two user messages in a row, and the request stops between them.
        Some(_) => Err(parted(&sent, stored)),
    }
}

/// The 409 of a history that stops where chatd cannot branch.
fn parted(history: &[Said], stored: &[MessageRow]) -> ApiError {
    history::check(history, stored).err().unwrap_or_else(|| {
        history::mismatch("the request's history stops inside a turn chatd stored".into())
    })
}

#[utoipa::path(
    get, path = "/api/v1/ui/chat/{id}/stream", tag = "ui",
    params(("id" = String, Path, description = "The client's chat id"), ("X-Chatd-User" = Option<String>, Header, nullable = false, min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f/]*[^\x00-\x1f\x7f-\x9f/\s][^\x00-\x1f\x7f-\x9f/]*$", description = "The user the chat belongs to; else the `--default-user` (`local` unless set)")),
    responses(
        (status = 200, content_type = "text/event-stream", body = UiMessageChunk, description = "The reply in flight as the UI message stream from its `start` chunk, then live"),
        (status = 204, description = "Nothing is streaming on this chat"),
        (status = 422, description = "A bad chat id or user", body = ValidationError),
    )
)]
/// GET /ui/chat/{id}/stream: the reply in flight from its `start` chunk, live; 204 when
/// nothing streams.
pub async fn resume(app: &App, headers: &HeaderMap, raw_key: &str) -> Result<Response, ApiError> {
    let streaming = find(app, headers, raw_key)
        .await?
        .and_then(|id| app.replies.attach(id))
        .filter(|reply| reply.subscribe().borrow().end.is_none());
    Ok(match streaming {
        Some(reply) => chunks::ui_stream(reply),
        None => manage::no_content(),
    })
}

#[utoipa::path(
    post, path = "/api/v1/ui/chat/{id}/stop", tag = "ui",
    params(("id" = String, Path, description = "The client's chat id"), ("X-Chatd-User" = Option<String>, Header, nullable = false, min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f/]*[^\x00-\x1f\x7f-\x9f/\s][^\x00-\x1f\x7f-\x9f/]*$", description = "The user the chat belongs to; else the `--default-user` (`local` unless set)")),
    responses(
        (status = 200, description = "Cancelled once stored; `cancelled: false` when nothing was streaming", body = CancelResponse),
        (status = 404, description = "`Chat not found`", body = Detail),
        (status = 422, description = "A bad chat id or user", body = ValidationError),
    )
)]
/// POST /ui/chat/{id}/stop: cancels the reply in flight, answering once it is stored;
/// `cancelled: false` when nothing was streaming.
pub async fn stop(app: &App, headers: &HeaderMap, raw_key: &str) -> Result<Response, ApiError> {
    let conversation_id = find(app, headers, raw_key)
        .await?
        .ok_or_else(chat_not_found)?;
    let cancelled = stop_reply(app, conversation_id).await;
    Ok(json_response(
        StatusCode::OK,
        &CancelResponse {
            conversation_id,
            cancelled,
        },
    ))
}

#[utoipa::path(
    get, path = "/api/v1/ui/chat/{id}/messages", tag = "ui",
    params(("id" = String, Path, description = "The client's chat id"), ("X-Chatd-User" = Option<String>, Header, nullable = false, min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f/]*[^\x00-\x1f\x7f-\x9f/\s][^\x00-\x1f\x7f-\x9f/]*$", description = "The user the chat belongs to; else the `--default-user` (`local` unless set)")),
    responses(
        (status = 200, description = "The stored conversation as the AI SDK's `UIMessage[]`", body = Vec<UiMessage>),
        (status = 404, description = "`Chat not found`", body = Detail),
        (status = 422, description = "A bad chat id or user", body = ValidationError),
    )
)]
/// GET /ui/chat/{id}/messages: the stored conversation as `UIMessage[]`.
pub async fn messages(app: &App, headers: &HeaderMap, raw_key: &str) -> Result<Response, ApiError> {
    let conversation_id = find(app, headers, raw_key)
        .await?
        .ok_or_else(chat_not_found)?;
    let stored = stored_messages(app, conversation_id).await?;
    let asked = stored
        .iter()
        .filter(|row| row.role == Role::User)
        .map(|row| row.id)
        .collect();
    let indices = app.store.reply_indices(asked).await?;
    Ok(json_response(
        StatusCode::OK,
        &history::render(conversation_id, &stored, &indices),
    ))
}
