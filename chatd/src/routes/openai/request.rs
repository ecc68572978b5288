//! A `POST /v1/chat/completions` body read into what chatd can do with it, every
//! refusal an OpenAI-shaped 400 naming the field (`param`).
//!
//! The provider is sent the request as it came (its messages and every field chatd does
//! not read itself, such as `tools`; see [`Relayed`]), but chatd stores text: a text
//! part is kept as it is, any other content part (an image, audio, a file) becomes a
//! placeholder saying what was there, an assistant's tool calls are listed by name
//! (`providers/tools.rs`), and a `tool` message is kept as a user message that says it
//! is a tool's result. The leading `system`/`developer` messages are the system prompt;
//! a later one is kept as a user message marked `[system]`. The turn to answer is the
//! trailing user and tool messages (a tool's result is the client's side of a turn).

use common::{ChatParams, Role};
use serde_json::{Map, Value};

use crate::providers::{Relayed, tools};

/// Fields chatd reads itself, or that are chatd's (`metadata`): never relayed.
const READ_BY_CHATD: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "metadata",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "n",
];

use super::error::OpenAiError;

/// The largest message chatd stores, as for `POST /chat`.
const MESSAGE_MAX_CHARS: usize = crate::routes::MESSAGE_MAX_CHARS;

/// One message of the request, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub role: Role,
    pub content: String,
}

/// What a chat completion request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub model: String,
    /// The leading system (or developer) messages, joined by blank lines.
    pub system_prompt: Option<String>,
    /// What came before the new user messages, oldest first.
    pub history: Vec<Said>,
    /// The trailing user messages: the turn to store and answer (never empty).
    pub new_messages: Vec<String>,
    pub stream: bool,
    pub include_usage: bool,
    pub params: ChatParams,
    pub user: Option<String>,
    /// `metadata.chatd_conversation_id`.
    pub conversation_id: Option<i64>,
    /// The request's messages as sent.
    pub raw_messages: Vec<Value>,
    /// Its fields that chatd does not read, sent on to the provider.
    pub relayed_fields: Map<String, Value>,
}

impl CompletionRequest {
    /// What goes to the provider unchanged: every message when the conversation holds
    /// the request's whole history (`whole`), else only the new ones.
    pub fn relayed(&self, whole: bool) -> Relayed {
        let new = self.new_messages.len();
        let messages = if whole {
            self.raw_messages.clone()
        } else {
            self.raw_messages[self.raw_messages.len().saturating_sub(new)..].to_vec()
        };
        Relayed {
            messages,
            whole,
            fields: self.relayed_fields.clone(),
        }
    }
}

pub fn read(body: &Map<String, Value>) -> Result<CompletionRequest, OpenAiError> {
    let model = match body.get("model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        None | Some(Value::Null) => {
            return Err(OpenAiError::invalid(
                "model",
                "you must provide a model parameter",
            ));
        }
        Some(_) => {
            return Err(OpenAiError::invalid(
                "model",
                "model must be a non-empty string",
            ));
        }
    };
    let messages = match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            return Err(OpenAiError::invalid(
                "messages",
                "messages must not be empty: send at least one user message",
            ));
        }
        None | Some(Value::Null) => {
            return Err(OpenAiError::invalid(
                "messages",
                "you must provide messages",
            ));
        }
        Some(_) => {
            return Err(OpenAiError::invalid(
                "messages",
                "messages must be an array",
            ));
        }
    };
    let mut system = Vec::new();
    let mut said = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let param = format!("messages[{index}]");
        let Some(message) = message.as_object() else {
            return Err(OpenAiError::invalid(
                &param,
                "each message must be an object",
            ));
        };
        let role = match message.get("role") {
            Some(Value::String(role)) => role.as_str(),
            _ => {
                return Err(OpenAiError::invalid(
                    &format!("{param}.role"),
                    "each message needs a role: system, developer, user, assistant or tool",
                ));
            }
        };
        let text = content_text(message, &param)?;
        let kept = match role {
            "system" | "developer" if said.is_empty() => {
                system.push(text);
                continue;
            }
            "system" | "developer" => Said {
                role: Role::User,
                content: format!("[system] {text}"),
            },
            "user" => Said {
                role: Role::User,
                content: text,
            },
            "assistant" => Said {
                role: Role::Assistant,
                content: with_tool_calls(text, message),
            },
            "tool" | "function" => Said {
                role: Role::User,
                content: format!("[tool result] {text}"),
            },
            other => {
                return Err(OpenAiError::invalid(
                    &format!("{param}.role"),
                    &format!(
                        "unknown role {other:?}: use system, developer, user, assistant or tool"
                    ),
                ));
            }
        };
        if kept.content.chars().count() > MESSAGE_MAX_CHARS {
            return Err(OpenAiError::invalid(
                &format!("{param}.content"),
                &format!("a message may have at most {MESSAGE_MAX_CHARS} characters"),
            ));
        }
        let from_user = matches!(role, "user" | "tool" | "function");
        said.push((from_user, kept));
    }
    let trailing = said
        .iter()
        .rev()
        .take_while(|(from_user, _)| *from_user)
        .count();
    if trailing == 0 {
        return Err(OpenAiError::invalid(
            "messages",
            "the last message must be from the user (role \"user\", or \"tool\" with a tool's result)",
        ));
    }
    let new_messages: Vec<String> = said
        .split_off(said.len() - trailing)
        .into_iter()
        .map(|(_, message)| message.content)
        .collect();
    if new_messages.iter().all(|text| text.trim().is_empty()) {
        return Err(OpenAiError::invalid(
            &format!("messages[{}].content", messages.len() - 1),
            "the user's message must not be blank",
        ));
    }
    let (stream, include_usage) = streaming(body)?;
    Ok(CompletionRequest {
        model,
        system_prompt: (!system.is_empty()).then(|| system.join("\n\n")),
        history: said.into_iter().map(|(_, message)| message).collect(),
        new_messages,
        stream,
        include_usage,
        params: params(body)?,
        user: optional_string(body, "user")?,
        conversation_id: metadata_conversation(body)?,
        raw_messages: messages.clone(),
        relayed_fields: body
            .iter()
            .filter(|(name, _)| !READ_BY_CHATD.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    })
}

/// What a content part (`param`) stores: its text when its type is one of `text_kinds`,
/// else a placeholder naming its type. A part without a string type, or with a `text`
/// that is not a string, is refused, as the OpenAPI document's `ContentPart` says.
pub(super) fn part_text(
    part: &Value,
    param: &str,
    text_kinds: &[&str],
) -> Result<String, OpenAiError> {
    let Some(kind) = part.get("type").and_then(Value::as_str) else {
        return Err(OpenAiError::invalid(
            &format!("{param}.type"),
            "each content part needs a type",
        ));
    };
    let text = match part.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            return Err(OpenAiError::invalid(
                &format!("{param}.text"),
                "a content part's text must be a string",
            ));
        }
    };
    Ok(match text {
        Some(text) if text_kinds.contains(&kind) => text.clone(),
        _ => format!("[{kind} part: not stored by chatd]"),
    })
}

/// A message's content as text: a string, or the text of its parts with a placeholder
/// for each part that is not text.
fn content_text(message: &Map<String, Value>, param: &str) -> Result<String, OpenAiError> {
    match message.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (index, part) in parts.iter().enumerate() {
                let piece = part_text(part, &format!("{param}.content[{index}]"), &["text"])?;
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&piece);
            }
            Ok(text)
        }
        Some(_) => Err(OpenAiError::invalid(
            &format!("{param}.content"),
            "content must be a string or an array of content parts",
        )),
    }
}

/// An assistant message's text with its tool calls named after it.
fn with_tool_calls(text: String, message: &Map<String, Value>) -> String {
    let Some(Value::Array(calls)) = message.get("tool_calls") else {
        return text;
    };
    let names: Vec<String> = calls.iter().map(tools::shown_name).collect();
    tools::with_placeholder(&text, &names)
}

fn streaming(body: &Map<String, Value>) -> Result<(bool, bool), OpenAiError> {
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => return Err(OpenAiError::invalid("stream", "stream must be a boolean")),
    };
    let include_usage = match body.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(options)) => match options.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(on)) => *on,
            Some(_) => {
                return Err(OpenAiError::invalid(
                    "stream_options.include_usage",
                    "include_usage must be a boolean",
                ));
            }
        },
        Some(_) => {
            return Err(OpenAiError::invalid(
                "stream_options",
                "stream_options must be an object",
            ));
        }
    };
    Ok((stream, include_usage))
}

/// The sampling parameters chatd's providers take; `n` other than 1 is refused, since
/// chatd stores one reply.
pub(super) fn params(body: &Map<String, Value>) -> Result<ChatParams, OpenAiError> {
    let number = |name: &str, low: f64, high: f64| -> Result<Option<f64>, OpenAiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_f64() {
                Some(x) if (low..=high).contains(&x) => Ok(Some(x)),
                _ => Err(OpenAiError::invalid(
                    name,
                    &format!("{name} must be a number from {low} to {high}"),
                )),
            },
        }
    };
    let integer = |name: &str| -> Result<Option<i64>, OpenAiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| OpenAiError::invalid(name, &format!("{name} must be an integer"))),
        }
    };
    let tokens = |name: &str| -> Result<Option<u32>, OpenAiError> {
        integer(name)?
            .map(|n| {
                u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                    OpenAiError::invalid(name, &format!("{name} must be a positive integer"))
                })
            })
            .transpose()
    };
    if let Some(n) = integer("n")?
        && n != 1
    {
        return Err(OpenAiError::invalid(
            "n",
            "chatd gives one choice: n must be 1",
        ));
    }
    Ok(ChatParams {
        temperature: number("temperature", 0.0, 2.0)?,
        top_p: number("top_p", 0.0, 1.0)?,
        max_tokens: tokens("max_completion_tokens")?.or(tokens("max_tokens")?),
        seed: integer("seed")?,
    })
}

fn optional_string(body: &Map<String, Value>, name: &str) -> Result<Option<String>, OpenAiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(OpenAiError::invalid(
            name,
            &format!("{name} must be a string"),
        )),
    }
}

/// `metadata.chatd_conversation_id`: OpenAI's metadata values are strings, so a string
/// of digits, as the OpenAPI document says (a number was once taken too, which the
/// document never said; schemathesis found it).
fn metadata_conversation(body: &Map<String, Value>) -> Result<Option<i64>, OpenAiError> {
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(metadata)) => metadata,
        Some(_) => {
            return Err(OpenAiError::invalid(
                "metadata",
                "metadata must be an object of strings",
            ));
        }
    };
    let id = match metadata.get("chatd_conversation_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) if text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse::<i64>().ok()
        }
        Some(_) => None,
    };
    id.map(Some).ok_or_else(|| {
        OpenAiError::invalid(
            "metadata.chatd_conversation_id",
            "chatd_conversation_id must be a conversation id, as a string of digits",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<CompletionRequest, OpenAiError> {
        read(body.as_object().expect("an object"))
    }

    #[test]
    fn the_trailing_user_messages_are_the_turn() {
        let request = parse(json!({
            "model": "echo",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
                {"role": "user", "content": [{"type": "text", "text": "d"},
                                             {"type": "image_url", "image_url": {"url": "x"}}]},
            ],
            "max_completion_tokens": 5,
        }))
        .expect("reads");
        assert_eq!(request.system_prompt.as_deref(), Some("be brief"));
        assert_eq!(request.history.len(), 2);
        assert_eq!(
            request.new_messages,
            vec![
                "c".to_string(),
                "d\n[image_url part: not stored by chatd]".into()
            ]
        );
        assert_eq!(request.params.max_tokens, Some(5));
    }

    #[test]
    fn refusals_name_the_field() {
        let param = |body: Value| parse(body).map(|_| ()).unwrap_err().param;
        assert_eq!(param(json!({"messages": []})), Some("model".into()));
        assert_eq!(
            param(json!({"model": "m", "messages": []})),
            Some("messages".into())
        );
        assert_eq!(
            param(json!({"model": "m", "messages": [{"role": "assistant", "content": "x"}]})),
            Some("messages".into())
        );
        assert_eq!(
            param(json!({"model": "m", "messages": [{"role": "user", "content": 3}]})),
            Some("messages[0].content".into())
        );
        assert_eq!(
            param(json!({"model": "m", "temperature": "hot",
                         "messages": [{"role": "user", "content": "x"}]})),
            Some("temperature".into())
        );
    }
}
