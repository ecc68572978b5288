//! The core of OpenAI's stateful Responses API, `POST /v1/responses`. A response id
//! names a chatd message, the user message the response answers (`resp_N`), so a chain
//! of responses linked by `previous_response_id` is one chatd conversation that anyone
//! can read through `/api/v1`. `response_by_id.rs` has the routes on one response
//! (retrieve, resume its stream, cancel, delete); `response_object.rs` renders it.
//!
//! chatd keeps every response: `store: false` is refused, since a chat through chatd is
//! stored. `background: true` answers at once with the response `in_progress`; its reply
//! runs on in chatd like every reply (it always does: the flag only says not to wait).
//! What chatd cannot do (tools, stored prompts, server-side `conversation` objects) is
//! refused with a 400 naming the field, never ignored.

use serde_json::{Map, Value};
use warp::http::HeaderMap;
use warp::reply::Response;

use super::error::OpenAiError;
use super::response_object::{Answer, Rendered, Source};
use super::{FrontDoor, request};
use crate::replies::ChatOverrides;
use crate::routes::openapi::front_door::{
    ChatErrors, CreateResponseRequest, ResponseObject, ServerSentEvent,
};
use crate::routes::{App, input};
use crate::store::{Branch, ConversationSettingsRow, UserTurn};
use common::Role;

/// Fields of the Responses API that chatd does not do; sent with a value, each is a 400.
const REFUSED: &[(&str, &str)] = &[
    ("tools", "chatd relays text only: tools are not supported"),
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
    background: bool,
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
        stream: flag(body, "stream")?,
        background: flag(body, "background")?,
        params,
        user: body.get("user").and_then(Value::as_str).map(str::to_string),
    })
}

/// A boolean field, `false` when absent or null.
fn flag(body: &Map<String, Value>, name: &str) -> Result<bool, OpenAiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(on)) => Ok(*on),
        Some(_) => Err(OpenAiError::invalid(
            name,
            &format!("{name} must be a boolean"),
        )),
    }
}

/// A message's content: a string, or its text parts (`input_text`, `output_text`),
/// with a placeholder for any other part, as in chat completions.
fn text_of(content: Option<&Value>, param: &str) -> Result<String, OpenAiError> {
    let mut text = String::new();
    match content {
        Some(Value::String(whole)) => text.push_str(whole),
        Some(Value::Array(parts)) => {
            for (index, part) in parts.iter().enumerate() {
                let piece = request::part_text(
                    part,
                    &format!("{param}.content[{index}]"),
                    &["input_text", "output_text", "text"],
                )?;
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

#[utoipa::path(
    post, path = "/v1/responses", tag = "openai",
    request_body = CreateResponseRequest,
    responses(
        (status = 200, description = "A `response` (`queued` with `background: true`); with `stream: true`, Server-Sent Events named by their `type` (`response.created`, `response.in_progress`, `response.output_item.added`, `response.content_part.added`, `response.output_text.delta`, `response.output_text.done`, `response.content_part.done`, `response.output_item.done`, then `response.completed`, `response.incomplete` or `response.failed`), each with its `sequence_number` (docs/API.md §11.6)", content(
            (ResponseObject = "application/json"),
            (ServerSentEvent = "text/event-stream"),
        )),
        ChatErrors,
    )
)]
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
    let mut instructions = asked.instructions.clone();
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
            instructions = prompt;
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
        key: None,
        branch: Branch::Continue,
        contents: asked.new_messages,
        after,
    };
    let overrides = ChatOverrides {
        model: Some(asked.model.clone()),
        params: Some(asked.params),
        relayed: None,
    };
    let reply = if asked.background {
        app.replies
            .begin_at_once(conversation_id, turn, overrides)
            .await?
    } else {
        app.replies
            .begin_with(conversation_id, turn, overrides)
            .await?
    };
    let rendered = Rendered {
        id: reply.user_message.id,
        conversation_id,
        created_at: reply.user_message.created_at.and_utc().timestamp(),
        model: asked.model,
        instructions,
        previous_response_id: previous_id,
        background: Some(asked.background),
    };
    Ok(if asked.stream {
        rendered.stream(Source::Live(reply), None)
    } else if asked.background {
        rendered.answer(Answer::Running(String::new()))
    } else {
        rendered.whole(reply).await
    })
}
