//! The JSON of OpenAI-style replies read into what chatd keeps: text, reasoning, the
//! finish reason, the model's name and the token counts. Everything here comes from the
//! provider, so names are checked and bounded before they are kept.

use std::borrow::Cow;

use common::Usage;
use serde::Deserialize;

use super::super::FinishReason;

/// The longest model name or finish reason kept from a provider; a longer one is dropped
/// (it is no name a person gave a model).
const NAME_MAX_CHARS: usize = 200;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Chunk {
    Done,
    Part(Part),
    Error(String),
}

/// What one `chat.completion.chunk` (or a whole completion) carries. Empty strings and
/// `None` for what it did not carry.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Part {
    pub text: String,
    pub reasoning: String,
    pub finish: Option<FinishReason>,
    /// The `finish_reason` as written, when it was a name.
    pub said: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    /// The delta's `tool_calls`, as the provider sent them (each item with its `index`).
    pub tool_calls: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamChunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<StreamChoice<'a>>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    model: Option<serde_json::Value>,
    #[serde(default)]
    usage: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamChoice<'a> {
    #[serde(default, alias = "message", borrow)]
    delta: Option<ChunkDelta<'a>>,
    #[serde(default)]
    finish_reason: Option<serde_json::Value>,
}

/// A delta, or a whole completion's message: the same fields. The texts borrow from
/// the event's data when they hold no escape, so a token is copied once, into its
/// `Part`, not first into a string of its own.
#[derive(Deserialize)]
struct ChunkDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    /// DeepSeek, llama.cpp and older vLLM.
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    /// Ollama, OpenRouter and newer vLLM.
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<serde_json::Value>,
}

/// `"length"` is the token limit; any other reason (`stop`, `content_filter`,
/// `tool_calls`, or one this code does not know) ends the reply as finished. Null and
/// `""` (which some servers send on every chunk) are no reason.
fn finish_reason(value: Option<&serde_json::Value>) -> Option<FinishReason> {
    match value? {
        serde_json::Value::Null => None,
        serde_json::Value::String(reason) if reason.is_empty() => None,
        serde_json::Value::String(reason) if reason == "length" => Some(FinishReason::Length),
        _ => Some(FinishReason::Stop),
    }
}

/// Of two finish reasons, the one to report: a cut anywhere makes the reply cut.
pub(super) fn strongest(
    earlier: Option<FinishReason>,
    later: Option<FinishReason>,
) -> Option<FinishReason> {
    match (earlier, later) {
        (Some(FinishReason::Length), _) | (_, Some(FinishReason::Length)) => {
            Some(FinishReason::Length)
        }
        (earlier, later) => later.or(earlier),
    }
}

/// A name from the provider worth keeping: a non-empty string of printable characters,
/// not absurdly long.
pub(super) fn a_name(value: Option<&serde_json::Value>) -> Option<String> {
    let name = value?.as_str()?.trim();
    let fits = !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && !name.chars().any(char::is_control);
    fits.then(|| name.to_string())
}

/// `usage.prompt_tokens` and `usage.completion_tokens`, when they are counts.
fn usage(value: Option<&serde_json::Value>) -> Option<Usage> {
    let value = value?;
    let count = |key: &str| value.get(key)?.as_i64().filter(|n| *n >= 0);
    Usage::of(count("prompt_tokens"), count("completion_tokens"))
}

/// Reads one streamed event's data.
pub(super) fn parse_chunk(data: &str) -> Chunk {
    let data = data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    if data.is_empty() || data == "null" {
        return Chunk::Part(Part::default());
    }
    let mut chunk: StreamChunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(e) => return Chunk::Error(format!("a chunk was not valid JSON ({e})")),
    };
    if let Some(error) = chunk.error.take().filter(|e| !e.is_null()) {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        return Chunk::Error(message);
    }
    Chunk::Part(part_of(chunk))
}

/// Reads a whole (non-streamed) completion; `None` when it is not one.
pub(super) fn parse_completion(body: &str) -> Option<Part> {
    let completion: StreamChunk = serde_json::from_str(body).ok()?;
    let has_message = completion
        .choices
        .as_ref()?
        .first()?
        .delta
        .as_ref()
        .is_some_and(|message| message.content.is_some() || message.tool_calls.is_some());
    let mut part = has_message.then(|| part_of(completion))?;
    // A whole message's tool calls carry no `index`: their place is it.
    if let Some(serde_json::Value::Array(calls)) = &mut part.tool_calls {
        for (index, call) in calls.iter_mut().enumerate() {
            if let Some(call) = call.as_object_mut() {
                call.entry("index").or_insert(index.into());
            }
        }
    }
    Some(part)
}

/// Appends `text` to `to`, taking it whole when `to` is empty (one choice, the usual
/// case) and it was unescaped into a string of its own already.
fn append(to: &mut String, text: Cow<'_, str>) {
    if to.is_empty() {
        *to = text.into_owned();
    } else {
        to.push_str(&text);
    }
}

fn part_of(chunk: StreamChunk) -> Part {
    let mut part = Part {
        model: a_name(chunk.model.as_ref()),
        usage: usage(chunk.usage.as_ref()),
        ..Part::default()
    };
    for choice in chunk.choices.unwrap_or_default() {
        if let Some(delta) = choice.delta {
            if let Some(content) = delta.content {
                append(&mut part.text, content);
            }
            // A server that sends both sends the same text twice.
            if let Some(reasoning) = delta.reasoning_content.or(delta.reasoning) {
                append(&mut part.reasoning, reasoning);
            }
            if let Some(calls @ serde_json::Value::Array(_)) = delta.tool_calls {
                part.tool_calls = Some(calls);
            }
        }
        // chatd asks for one choice; should a server send more, a cut one counts.
        let finish = finish_reason(choice.finish_reason.as_ref());
        if finish.is_some() {
            part.said = a_name(choice.finish_reason.as_ref()).or(part.said);
        }
        part.finish = strongest(part.finish, finish);
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Chunk {
        Chunk::Part(Part {
            text: text.into(),
            ..Part::default()
        })
    }

    #[test]
    fn chunks_without_content_are_skipped() {
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
            text("")
        );
        assert_eq!(parse_chunk(r#"{"choices":[]}"#), text(""));
        assert_eq!(
            parse_chunk(r#"{"choices":null,"usage":{"total_tokens":3}}"#),
            text("")
        );
        assert_eq!(parse_chunk("null"), text(""));
    }

    #[test]
    fn reasoning_usage_and_the_model_are_read_apart_from_the_text() {
        for field in ["reasoning_content", "reasoning"] {
            let data = format!(r#"{{"choices":[{{"delta":{{"{field}":"hmm","content":""}}}}]}}"#);
            assert_eq!(
                parse_chunk(&data),
                Chunk::Part(Part {
                    reasoning: "hmm".into(),
                    ..Part::default()
                }),
                "{field}"
            );
        }
        let both = r#"{"choices":[{"delta":{"reasoning_content":"a","reasoning":"a"}}]}"#;
        let Chunk::Part(part) = parse_chunk(both) else {
            panic!()
        };
        assert_eq!(part.reasoning, "a", "the same reasoning is not kept twice");
        assert_eq!(
            parse_chunk(
                r#"{"model":"llama3.2:latest","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#
            ),
            Chunk::Part(Part {
                model: Some("llama3.2:latest".into()),
                usage: Some(Usage {
                    prompt_tokens: Some(12),
                    completion_tokens: Some(5)
                }),
                ..Part::default()
            })
        );
        let Chunk::Part(odd) = parse_chunk(
            r#"{"model":"bad\u0007name","usage":{"prompt_tokens":-1,"completion_tokens":"7"}}"#,
        ) else {
            panic!()
        };
        assert_eq!(odd.model, None);
        assert_eq!(odd.usage, None, "counts must be counts");
        let long = format!(r#"{{"model":"{}"}}"#, "m".repeat(201));
        assert_eq!(parse_chunk(&long), text(""));
    }

    #[test]
    fn content_done_finish_reasons_and_errors_are_recognised() {
        assert_eq!(
            parse_chunk(
                r#"{"choices":[{"delta":{"content":" sky"},"index":0,"finish_reason":null}]}"#
            ),
            text(" sky")
        );
        assert_eq!(parse_chunk("[DONE]"), Chunk::Done);
        assert_eq!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Chunk::Error("overloaded".into())
        );
        assert!(matches!(parse_chunk("{not json"), Chunk::Error(_)));
        for (reason, finish, said) in [
            ("\"stop\"", FinishReason::Stop, Some("stop")),
            ("\"length\"", FinishReason::Length, Some("length")),
            (
                "\"content_filter\"",
                FinishReason::Stop,
                Some("content_filter"),
            ),
            ("\"tool_calls\"", FinishReason::Stop, Some("tool_calls")),
            ("7", FinishReason::Stop, None),
        ] {
            let data = format!(
                r#"{{"choices":[{{"delta":{{"content":"!"}},"finish_reason":{reason}}}]}}"#
            );
            assert_eq!(
                parse_chunk(&data),
                Chunk::Part(Part {
                    text: "!".into(),
                    finish: Some(finish),
                    said: said.map(str::to_owned),
                    ..Part::default()
                }),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_whole_completion_is_read_like_a_chunk() {
        let body = r#"{"model":"gpt-4o-mini-2024","choices":[{"message":{"role":"assistant","content":"hi","reasoning_content":"think"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let part = parse_completion(body).unwrap();
        assert_eq!(part.text, "hi");
        assert_eq!(part.reasoning, "think");
        assert_eq!(part.said.as_deref(), Some("stop"));
        assert_eq!(part.model.as_deref(), Some("gpt-4o-mini-2024"));
        assert_eq!(part.usage.and_then(|u| u.completion_tokens), Some(1));
        assert!(parse_completion(r#"{"object":"list","data":[]}"#).is_none());
        assert!(parse_completion(r#"{"choices":[{"message":{"role":"assistant"}}]}"#).is_none());
    }
}
