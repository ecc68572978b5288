//! A conversation as Markdown, for people: front matter with the ids and dates, a
//! heading with the name, a section per message with its text as it was written (code
//! fences and all), and the reasoning of a reply folded into a `<details>` block.

use std::fmt::Write as _;

use common::archive::ConversationExport;
use common::{Message, MessageStatus, Role};

/// The Markdown of an exported conversation.
pub fn render(document: &ConversationExport) -> String {
    let conversation = &document.conversation;
    let mut out = String::new();
    let title = conversation
        .name
        .clone()
        .unwrap_or_else(|| format!("Conversation {}", conversation.id));
    out.push_str("---\n");
    // JSON strings are YAML double-quoted scalars: any name is safe here.
    let _ = writeln!(out, "title: {}", quoted(&title));
    let _ = writeln!(out, "conversation_id: {}", conversation.id);
    let _ = writeln!(out, "user_id: {}", conversation.user_id);
    let _ = writeln!(out, "created_at: {}", quoted(&conversation.created_at));
    if let Some(last) = document.messages.last() {
        let _ = writeln!(out, "updated_at: {}", quoted(&last.created_at));
    }
    if let Some(model) = &conversation.model {
        let _ = writeln!(out, "model: {}", quoted(model));
    }
    let _ = writeln!(out, "messages: {}", document.messages.len());
    let _ = writeln!(
        out,
        "format: {}",
        quoted(&format!(
            "{}.markdown/{}",
            document.format, document.version
        ))
    );
    out.push_str("---\n\n");
    let _ = writeln!(out, "# {}\n", one_line(&title));
    if let Some(prompt) = &conversation.system_prompt {
        out.push_str("> **System prompt**\n>\n");
        for line in prompt.lines() {
            let _ = writeln!(out, "> {line}");
        }
        out.push('\n');
    }
    for message in &document.messages {
        section(&mut out, message);
    }
    out
}

fn section(out: &mut String, message: &Message) {
    let who = match message.role {
        Role::User => "User",
        Role::Assistant => "Assistant",
    };
    let mut heading = format!("## {who} · {}", message.created_at);
    if let Some(model) = &message.model {
        let _ = write!(heading, " · {model}");
    }
    if let Some(status) = message.status.filter(|s| *s != MessageStatus::Complete) {
        let _ = write!(heading, " · {}", status.as_str());
    }
    let _ = writeln!(out, "{heading}\n");
    if let Some(reasoning) = message
        .reasoning
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        out.push_str("<details>\n<summary>Reasoning</summary>\n\n");
        push_text(out, reasoning);
        out.push_str("</details>\n\n");
    }
    push_text(out, &message.content);
}

/// A message's own text, unchanged, ended by a blank line; a code fence it left open
/// is closed, so that the sections after it are not read as code.
fn push_text(out: &mut String, text: &str) {
    out.push_str(text.trim_end_matches('\n'));
    out.push('\n');
    let open_fence = text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            line.starts_with("```") || line.starts_with("~~~")
        })
        .count()
        % 2
        == 1;
    if open_fence {
        out.push_str("```\n");
    }
    out.push('\n');
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::archive::ExportedConversation;

    fn message(role: Role, content: &str, reasoning: Option<&str>) -> Message {
        Message {
            role,
            content: content.into(),
            id: 1,
            conversation_id: 7,
            created_at: "2026-12-02T01:00:00.000000Z".into(),
            status: Some(MessageStatus::Complete),
            model: None,
            finish_reason: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            reasoning: reasoning.map(Into::into),
        }
    }

    #[test]
    fn front_matter_heading_sections_fences_and_reasoning() {
        let document = ConversationExport {
            format: "chatd.conversation".into(),
            version: 1,
            conversation: ExportedConversation {
                id: 7,
                user_id: 3,
                name: Some("Rust \"tips\"".into()),
                created_at: "2026-12-02T00:00:00.000000Z".into(),
                title_source: None,
                model: None,
                system_prompt: None,
                params: None,
            },
            messages: vec![
                message(Role::User, "How?\n```rust\nfn main() {}\n```", None),
                message(Role::Assistant, "```\nunclosed", Some("think first")),
            ],
        };
        let text = render(&document);
        assert!(
            text.starts_with("---\ntitle: \"Rust \\\"tips\\\"\"\nconversation_id: 7\nuser_id: 3\n")
        );
        assert!(text.contains("\n# Rust \"tips\"\n"));
        assert!(text.contains(
            "## User · 2026-12-02T01:00:00.000000Z\n\nHow?\n```rust\nfn main() {}\n```\n\n"
        ));
        assert!(text.contains(
            "## Assistant · 2026-12-02T01:00:00.000000Z\n\n<details>\n<summary>Reasoning</summary>\n\nthink first\n\n</details>\n\n```\nunclosed\n```\n"
        ));
    }
}
