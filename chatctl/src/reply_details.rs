//! The dim line shown on a terminal after a reply: which model answered, how many
//! tokens it took and how fast it produced them, from the details chatd stores with
//! each reply (the `end` event's message). Servers that store none show nothing.

use std::io::IsTerminal;

use common::{Message, StreamEnd};
use dialoguer::console::Style;

use crate::output::{Out, note};

/// Shows the summary of a stored reply, dimmed, on stderr when it is a terminal (never
/// in `--json` output or in pipes).
pub fn show(end: &StreamEnd, out: &Out) {
    if out.json || !std::io::stderr().is_terminal() {
        return;
    }
    let Some(line) = end.message.as_ref().and_then(summary) else {
        return;
    };
    if out.stderr_color() {
        note(
            &Style::new()
                .dim()
                .force_styling(true)
                .apply_to(line)
                .to_string(),
        );
    } else {
        note(&line);
    }
}

/// A piece of reasoning, dimmed when colour is allowed on stderr.
pub fn dim_for_stderr(text: &str, out: &Out) -> String {
    if out.stderr_color() {
        Style::new()
            .dim()
            .force_styling(true)
            .apply_to(text)
            .to_string()
    } else {
        text.to_string()
    }
}

/// `openai/gpt-4o-mini · 21 + 9 tokens · 42.5 tokens/s`, or `None` when the message
/// says nothing of how it was made.
pub fn summary(message: &Message) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(model) = &message.model {
        parts.push(model.clone());
    }
    let usage = message.usage.unwrap_or_default();
    match (usage.prompt_tokens, usage.completion_tokens) {
        (Some(prompt), Some(completion)) => parts.push(format!("{prompt} + {completion} tokens")),
        (None, Some(completion)) => parts.push(format!("{completion} tokens")),
        (Some(prompt), None) => parts.push(format!("{prompt} prompt tokens")),
        (None, None) => {}
    }
    if let (Some(completion), Some(duration)) = (usage.completion_tokens, message.duration_ms) {
        // The rate of generation: from the first token on, when chatd saw one.
        let generating = duration - message.ttft_ms.unwrap_or(0);
        if generating > 0 {
            let rate = completion as f64 * 1000.0 / generating as f64;
            parts.push(format!("{rate:.1} tokens/s"));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// What `conv show` says under a stored reply: its summary and its status
/// (`echo/echo · 5 + 3 tokens · complete`); `None` for a server that keeps neither.
pub fn stored(message: &Message) -> Option<String> {
    let status = message.status.map(|status| status.as_str().to_string());
    let parts: Vec<String> = summary(message).into_iter().chain(status).collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use common::{Role, Usage};

    use super::*;

    fn message() -> Message {
        Message {
            role: Role::Assistant,
            content: "hi".into(),
            id: 2,
            conversation_id: 1,
            created_at: "2026-12-02T01:00:00.000000Z".into(),
            status: None,
            model: None,
            finish_reason: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            reasoning: None,
            parent_id: None,
        }
    }

    #[test]
    fn the_line_says_what_is_known() {
        assert_eq!(summary(&message()), None);
        let full = Message {
            model: Some("ollama/llama3.2:latest".into()),
            usage: Usage::of(Some(21), Some(90)),
            ttft_ms: Some(200),
            duration_ms: Some(2200),
            ..message()
        };
        assert_eq!(
            summary(&full).as_deref(),
            Some("ollama/llama3.2:latest · 21 + 90 tokens · 45.0 tokens/s")
        );
        let quick = Message {
            model: Some("echo/echo".into()),
            duration_ms: Some(0),
            usage: Usage::of(None, Some(3)),
            ..message()
        };
        assert_eq!(summary(&quick).as_deref(), Some("echo/echo · 3 tokens"));
        assert_eq!(stored(&message()), None);
        let cancelled = Message {
            status: Some(common::MessageStatus::Cancelled),
            ..quick
        };
        assert_eq!(
            stored(&cancelled).as_deref(),
            Some("echo/echo · 3 tokens · cancelled")
        );
    }
}
