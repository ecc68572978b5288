//! The core of OpenAI's stateful Responses API: `POST /v1/responses` and
//! `GET /v1/responses/{id}`. A response id names a chatd message, the user message the
//! response answers (`resp_N`), so a chain of responses linked by
//! `previous_response_id` is one chatd conversation that anyone can read through
//! `/api/v1`. Rendering (the response object, the stream's events) is in
//! `response_object.rs`.
//!
//! chatd keeps every response (`store: false` is refused) and runs none in the
//! background; what it cannot do (tools, background runs, stored prompts, server-side
//! `conversation` objects) is refused with a 400 naming the field, never ignored.

use serde_json::{Map, Value};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::error::OpenAiError;
use super::response_object::{Answer, Rendered};
use super::{FrontDoor, request};
use crate::replies::ChatOverrides;
use crate::routes::{App, input};
use crate::store::{ConversationSettingsRow, UserTurn};
use common::{MessageStatus, Role};

/// Fields of the Responses API that chatd does not do; sent with a value, each is a 400.
const REFUSED: &[(&str, &str)] = &[
    ("tools", "chatd relays text only: tools are not supported"),
    (
        "background",
        "chatd answers every response in the foreground",
    ),
    (
        "conversation",
        "chatd's conversations are chained with previous_response_id",
    ),
    ("prompt", "stored prompts are not supported"),
];

/// What a `POST /v1/responses` asks for.
struct ResponseRequest {
    model: String,
    instructions: Option<String>,
    new_messages: Vec<String>,
    previous: Option<i64>,
    stream: bool,
    params: common::ChatParams,
    user: Option<String>,
}

/// `resp_N` → N.
pub fn parse_id(id: &str) -> Option<i64> {
    id.strip_prefix("resp_")?.parse().ok()
}

fn read(body: &Map<String, Value>) -> Result<ResponseRequest, OpenAiError> {
    for (field, why) in REFUSED {
        let given = match body.get(*field) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Array(items)) => !items.is_empty(),
            Some(_) => true,
        };
        if given {
            return Err(OpenAiError::invalid(field, why));
        }
    }
    if body.get("store") == Some(&Value::Bool(false)) {
        return Err(OpenAiError::invalid(
            "store",
            "chatd keeps every response as part of a conversation: store must be true",
        ));
    }
    let model = match body.get("model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        _ => {
            return Err(OpenAiError::invalid(
                "model",
                "you must provide a model parameter",
            ));
        }
    };
    let mut instructions = match body.get("instructions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.clone()],
        Some(_) => {
            return Err(OpenAiError::invalid(
                "instructions",
                "instructions must be a string",
            ));
        }
    };
    let mut new_messages = Vec::new();
    match body.get("input") {
        Some(Value::String(text)) => new_messages.push(text.clone()),
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let param = format!("input[{index}]");
                let Some(item) = item.as_object() else {
                    return Err(OpenAiError::invalid(
                        &param,
                        "each input item must be an object",
                    ));
                };
                if let Some(kind) = item.get("type").and_then(Value::as_str)
                    && kind != "message"
                {
                    return Err(OpenAiError::invalid(
                        &format!("{param}.type"),
                        &format!("input items of type {kind:?} are not supported: send messages"),
                    ));
                }
                let text = text_of(item.get("content"), &param)?;
                match item.get("role").and_then(Value::as_str) {
                    Some("user") => new_messages.push(text),
                    Some("system" | "developer") if new_messages.is_empty() => {
                        instructions.push(text)
                    }
                    _ => {
                        return Err(OpenAiError::invalid(
                            &format!("{param}.role"),
                            "chatd keeps the history: send the user's new messages (after any \
                             system or developer message) and continue with \
                             previous_response_id",
                        ));
                    }
                }
            }
        }
        _ => {
            return Err(OpenAiError::invalid(
                "input",
                "input must be a string or a list of messages",
            ));
        }
    }
    if new_messages.iter().all(|text| text.trim().is_empty()) {
        return Err(OpenAiError::invalid(
            "input",
            "input must hold a user message",
        ));
    }
    let previous = match body.get("previous_response_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(parse_id(id).ok_or_else(|| unknown_previous(id))?),
        Some(_) => {
            return Err(OpenAiError::invalid(
                "previous_response_id",
                "previous_response_id must be a string",
            ));
        }
    };
    let mut sampling = Map::new();
    for (theirs, ours) in [
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("max_output_tokens", "max_tokens"),
    ] {
        if let Some(value) = body.get(theirs) {
            sampling.insert(ours.into(), value.clone());
        }
    }
    let params = request::params(&sampling).map_err(|mut error| {
        if error.param.as_deref() == Some("max_tokens") {
            error.param = Some("max_output_tokens".into());
        }
        error
    })?;
    Ok(ResponseRequest {
        model,
        instructions: (!instructions.is_empty()).then(|| instructions.join("\n\n")),
        new_messages,
        previous,
        stream: body.get("stream") == Some(&Value::Bool(true)),
        params,
        user: body.get("user").and_then(Value::as_str).map(str::to_string),
    })
}

/// A message's content: a string, or its text parts (`input_text`, `output_text`),
/// with a placeholder for any other part, as in chat completions.
fn text_of(content: Option<&Value>, param: &str) -> Result<String, OpenAiError> {
    let mut text = String::new();
    match content {
        Some(Value::String(whole)) => text.push_str(whole),
        Some(Value::Array(parts)) => {
            for part in parts {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("?");
                let piece = match (kind, part.get("text").and_then(Value::as_str)) {
                    ("input_text" | "output_text" | "text", Some(piece)) => piece.to_string(),
                    _ => format!("[{kind} part: not stored by chatd]"),
                };
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&piece);
            }
        }
        _ => {
            return Err(OpenAiError::invalid(
                &format!("{param}.content"),
                "content must be a string or a list of content parts",
            ));
        }
    }
    Ok(text)
}

fn unknown_previous(id: &str) -> OpenAiError {
    OpenAiError::invalid(
        "previous_response_id",
        &format!("Previous response with id {id:?} not found."),
    )
    .with_code("previous_response_not_found")
}

/// POST /v1/responses
pub async fn create<S>(
    app: &App,
    door: &FrontDoor,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, OpenAiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, warp::Error>> + Unpin,
{
    let object = input::json_object(headers, body).await?;
    let asked = read(&object)?;
    super::check_model(app, &asked.model).await?;
    let (conversation_id, after, previous_id) = match asked.previous {
        Some(previous) => {
            let id = format!("resp_{previous}");
            let Some((message, answer)) = app.store.message_with_next(previous).await? else {
                return Err(unknown_previous(&id));
            };
            if message.role != Role::User {
                return Err(unknown_previous(&id));
            }
            let settings = app
                .store
                .conversation_settings(message.conversation_id)
                .await?;
            let prompt = settings.and_then(|(_, settings)| settings.system_prompt);
            if asked.instructions.is_some() && asked.instructions != prompt {
                return Err(OpenAiError::invalid(
                    "instructions",
                    "the conversation keeps its own instructions (its system prompt): send the \
                     same, none, or change them with PATCH /api/v1/conversations/{id}",
                ));
            }
            // Continuing anything but the conversation's latest response is a 409.
            let last = answer.map_or(message.id, |answer| answer.id);
            (message.conversation_id, Some(Some(last)), Some(id))
        }
        None => {
            let user_id = super::conversation::user_id(
                app,
                headers,
                asked.user.as_deref(),
                &door.default_user,
            )
            .await?;
            let settings = ConversationSettingsRow {
                model: Some(asked.model.clone()),
                system_prompt: asked.instructions.clone(),
                ..ConversationSettingsRow::default()
            };
            let created = super::conversation::create(app, user_id, settings).await?;
            (created, Some(None), None)
        }
    };
    let turn = UserTurn {
        contents: asked.new_messages,
        after,
    };
    let overrides = ChatOverrides {
        model: Some(asked.model.clone()),
        params: Some(asked.params),
    };
    let reply = app
        .replies
        .begin_with(conversation_id, turn, overrides)
        .await?;
    let rendered = Rendered {
        id: reply.user_message.id,
        conversation_id,
        created_at: reply.user_message.created_at.and_utc().timestamp(),
        model: asked.model,
        instructions: asked.instructions,
        previous_response_id: previous_id,
    };
    Ok(if asked.stream {
        rendered.stream(reply)
    } else {
        rendered.whole(reply).await
    })
}

/// GET /v1/responses/{id}: the response as it is now, in progress or ended.
pub async fn retrieve(app: &App, raw_id: &str) -> Result<Response, OpenAiError> {
    let not_found = || {
        OpenAiError::new(
            StatusCode::NOT_FOUND,
            format!("No response with id {raw_id:?} found."),
        )
    };
    let id = parse_id(raw_id).ok_or_else(not_found)?;
    let (message, answer) = app
        .store
        .message_with_next(id)
        .await?
        .ok_or_else(not_found)?;
    if message.role != Role::User {
        return Err(not_found());
    }
    let settings = app
        .store
        .conversation_settings(message.conversation_id)
        .await?;
    let settings = settings.map(|(_, settings)| settings).unwrap_or_default();
    let running = app
        .replies
        .attach(message.conversation_id)
        .filter(|reply| reply.user_message.id == id);
    let answer = match (running, answer) {
        (Some(reply), _) => {
            let state = reply.subscribe();
            let state = state.borrow();
            Answer::Running(state.deltas.concat())
        }
        (None, Some(answer)) if answer.role == Role::Assistant => Answer::Stored(answer),
        // Nothing was stored for it: the provider failed before its first token.
        _ => Answer::Stored(crate::store::MessageRow {
            role: Role::Assistant,
            content: String::new(),
            status: MessageStatus::Failed,
            ..message.clone()
        }),
    };
    let rendered = Rendered {
        id,
        conversation_id: message.conversation_id,
        created_at: message.created_at.and_utc().timestamp(),
        model: settings
            .model
            .unwrap_or_else(|| app.providers.default_model()),
        instructions: settings.system_prompt,
        previous_response_id: None,
    };
    Ok(rendered.answer(answer))
}
