//! UI messages, the AI SDK's `UIMessage` (`{id, role, metadata?, parts}`), both ways: a
//! request's messages read into roles and text (chatd keeps text: of a message it reads
//! the `text` parts), checked against the conversation chatd stored, and the stored
//! conversation rendered as `UIMessage[]`.

use common::{MessageStatus, Role};
use serde_json::{Value, json};
use warp::http::StatusCode;

use super::chunks::{reply_message_id, usage, user_message_id};
use crate::routes::error::{ApiError, Invalid};
use crate::routes::views;
use crate::store::MessageRow;

/// Who says a message of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// A system message: chatd keeps it as the conversation's system prompt.
    System,
    Chat(Role),
}

impl Speaker {
    fn name(self) -> &'static str {
        match self {
            Speaker::System => "system",
            Speaker::Chat(role) => role.as_str(),
        }
    }
}

/// One message of a request, as chatd reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub role: Speaker,
    pub text: String,
    /// Whether it has parts chatd does not keep (files, tool calls).
    pub has_other_parts: bool,
}

/// Reads `messages[index]`; 422 items for what is wrong with it.
pub fn read_message(index: usize, value: &Value, problems: &mut Vec<Invalid>) -> Option<Said> {
    let loc = |field: &str| vec![json!("body"), json!("messages"), json!(index), json!(field)];
    let Some(message) = value.as_object() else {
        problems.push(Invalid::new(
            "model_type",
            vec![json!("body"), json!("messages"), json!(index)],
            "Input should be an object (a UIMessage)",
            value.clone(),
        ));
        return None;
    };
    let role = match message.get("role").and_then(Value::as_str) {
        Some("user") => Speaker::Chat(Role::User),
        Some("assistant") => Speaker::Chat(Role::Assistant),
        Some("system") => Speaker::System,
        _ => {
            problems.push(Invalid::new(
                "literal_error",
                loc("role"),
                "Input should be 'system', 'user' or 'assistant'",
                message.get("role").cloned().unwrap_or(Value::Null),
            ));
            return None;
        }
    };
    let Some(parts) = message.get("parts").and_then(Value::as_array) else {
        problems.push(Invalid::new(
            "list_type",
            loc("parts"),
            "Input should be a valid list (the message's parts)",
            message.get("parts").cloned().unwrap_or(Value::Null),
        ));
        return None;
    };
    let mut text = String::new();
    let mut has_other_parts = false;
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("text") => match part.get("text").and_then(Value::as_str) {
                Some(piece) => text.push_str(piece),
                None => {
                    problems.push(Invalid::new(
                        "string_type",
                        loc("parts"),
                        "A text part's text should be a valid string",
                        part.clone(),
                    ));
                    return None;
                }
            },
            // What a reply carries besides its text, which chatd keeps elsewhere or
            // makes itself.
            Some("reasoning" | "step-start" | "source-url" | "source-document") => {}
            Some(kind) if kind.starts_with("data-") => {}
            _ => has_other_parts = true,
        }
    }
    Some(Said {
        role,
        text,
        has_other_parts,
    })
}

/// Checks that `history` (a request's messages before its new one, after its system
/// messages) is what chatd stored: the same messages, in order, with the same text. A reply
/// that did not end complete may have been stored with more text than the client saw
/// (it was cancelled after the client stopped reading), so there the client's text may
/// be the start of the stored one. Assistant messages without text are left out on both
/// sides: a reply that failed before its first token is not stored.
pub fn check(history: &[Said], stored: &[MessageRow]) -> Result<(), ApiError> {
    let end = matched_prefix(history, stored)?;
    if stored[end..].iter().any(|row| !is_empty_reply(row)) {
        let kept = stored.iter().filter(|row| !is_empty_reply(row)).count();
        return Err(count_mismatch(history.len() - empty_said(history), kept));
    }
    Ok(())
}

fn is_empty_reply(row: &MessageRow) -> bool {
    row.role == Role::Assistant && row.content.is_empty()
}

fn empty_said(history: &[Said]) -> usize {
    history
        .iter()
        .filter(|said| said.role == Speaker::Chat(Role::Assistant) && said.text.is_empty())
        .count()
}

fn count_mismatch(said: usize, stored: usize) -> ApiError {
    mismatch(format!(
        "the request's history has {said} messages with text before its new one, chatd \
         stored {stored} for this chat"
    ))
}

/// Checks that `history` is the start of what chatd stored, as [`check`] compares
/// them; the index in `stored` just past the last message it matched (0 when it holds
/// none), where the stored path goes on and the client's, edited or regenerated, parts
/// from it.
pub fn matched_prefix(history: &[Said], stored: &[MessageRow]) -> Result<usize, ApiError> {
    let said: Vec<&Said> = history
        .iter()
        .filter(|said| !(said.role == Speaker::Chat(Role::Assistant) && said.text.is_empty()))
        .collect();
    let kept: Vec<(usize, &MessageRow)> = stored
        .iter()
        .enumerate()
        .filter(|(_, row)| !is_empty_reply(row))
        .collect();
    if said.len() > kept.len() {
        return Err(count_mismatch(said.len(), kept.len()));
    }
    let mut end = 0;
    for (index, (said, (at, row))) in said.iter().zip(&kept).enumerate() {
        let same_text = said.text == row.content
            || (row.role == Role::Assistant
                && row.status != MessageStatus::Complete
                && row.content.starts_with(&said.text));
        if said.role != Speaker::Chat(row.role) || !same_text {
            return Err(mismatch(format!(
                "message {index} of the history ({}) is not the one chatd stored ({} message \
                 {})",
                said.role.name(),
                row.role.as_str(),
                row.id
            )));
        }
        end = at + 1;
    }
    Ok(end)
}

/// The 409 of a history that is not the stored one; `what` says where they part.
pub fn mismatch(what: String) -> ApiError {
    ApiError::detail(
        StatusCode::CONFLICT,
        format!(
            "The chat's history does not match what chatd stored: {what}. Reload the chat's \
             messages (GET /api/v1/ui/chat/{{id}}/messages) and send the new message again"
        ),
    )
}

/// A conversation's stored messages as the AI SDK's `UIMessage[]`: each with chatd's
/// data in `metadata`, an assistant message with its reasoning before its text.
/// `reply_indices` is each reply's place among its user message's replies.
pub fn render(
    conversation_id: i64,
    stored: &[MessageRow],
    reply_indices: &std::collections::HashMap<i64, i32>,
) -> Value {
    let mut answering = None;
    let messages: Vec<Value> = stored
        .iter()
        .map(|row| {
            let mut metadata = json!({
                "conversation_id": conversation_id,
                "message_id": row.id,
                "status": row.status.as_str(),
                "created_at": views::timestamp(&row.created_at),
            });
            let mut parts = Vec::new();
            let id = if row.role == Role::Assistant {
                let details = &row.details;
                metadata["model"] = details.model.clone().into();
                metadata["finish_reason"] = details.finish_reason.clone().into();
                metadata["usage"] = usage(details);
                parts.push(json!({"type": "step-start"}));
                if let Some(reasoning) = details.reasoning.as_ref().filter(|text| !text.is_empty())
                {
                    parts.push(json!({"type": "reasoning", "text": reasoning, "state": "done"}));
                }
                // The reply's id in the stream it came in, when its user message is known.
                let index = reply_indices.get(&row.id).copied().unwrap_or(0);
                answering.map_or_else(
                    || user_message_id(row.id),
                    |user| reply_message_id(user, index),
                )
            } else {
                answering = Some(row.id);
                user_message_id(row.id)
            };
            if !row.content.is_empty() {
                parts.push(json!({"type": "text", "text": row.content, "state": "done"}));
            }
            json!({
                "id": id,
                "role": row.role.as_str(),
                "metadata": metadata,
                "parts": parts,
            })
        })
        .collect();
    Value::Array(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageDetails;

    fn row(id: i64, role: Role, content: &str, status: MessageStatus) -> MessageRow {
        MessageRow {
            id,
            conversation_id: 1,
            role,
            content: content.into(),
            status,
            created_at: chrono::NaiveDateTime::default(),
            details: MessageDetails::NONE,
            parent_id: None,
        }
    }

    fn said(role: Role, text: &str) -> Said {
        Said {
            role: Speaker::Chat(role),
            text: text.into(),
            has_other_parts: false,
        }
    }

    #[test]
    fn a_history_matches_by_role_and_text_with_the_two_leniencies() {
        use MessageStatus::{Cancelled, Complete};
        let stored = [
            row(1, Role::User, "hi", Complete),
            row(2, Role::Assistant, "hello there", Complete),
            row(3, Role::User, "stop soon", Complete),
            row(4, Role::Assistant, "one two three", Cancelled),
            row(5, Role::User, "failed before a token", Complete),
        ];
        let mut history = vec![
            said(Role::User, "hi"),
            said(Role::Assistant, "hello there"),
            said(Role::User, "stop soon"),
            // The client stopped reading before chatd stopped the reply.
            said(Role::Assistant, "one two"),
            said(Role::User, "failed before a token"),
            // The client keeps an empty reply that chatd did not store.
            said(Role::Assistant, ""),
        ];
        assert!(check(&history, &stored).is_ok());
        // Only a reply that did not end complete may be shorter.
        history[1] = said(Role::Assistant, "hello");
        assert!(check(&history, &stored).is_err());
        history[1] = said(Role::Assistant, "hello there");
        history[3] = said(Role::Assistant, "one two four");
        assert!(check(&history, &stored).is_err());
        history[3] = said(Role::Assistant, "one two");
        history.remove(0);
        assert!(check(&history, &stored).is_err(), "a message left out");
        let roles_swapped = [said(Role::Assistant, "hi")];
        assert!(check(&roles_swapped, &stored[..1]).is_err());
    }

    #[test]
    fn a_prefix_of_the_stored_path_says_where_it_parts() {
        use MessageStatus::Complete;
        let stored = [
            row(1, Role::User, "hi", Complete),
            row(2, Role::Assistant, "", Complete),
            row(3, Role::User, "again", Complete),
            row(4, Role::Assistant, "hello", Complete),
        ];
        assert_eq!(matched_prefix(&[], &stored).ok(), Some(0));
        // The empty reply is passed over with the message before it.
        let first = [said(Role::User, "hi")];
        assert_eq!(matched_prefix(&first, &stored).ok(), Some(1));
        let two = [said(Role::User, "hi"), said(Role::User, "again")];
        assert_eq!(matched_prefix(&two, &stored).ok(), Some(3));
        assert!(check(&two, &stored).is_err(), "a reply is left");
        let other = [said(Role::User, "hi"), said(Role::User, "edited")];
        assert!(matched_prefix(&other, &stored).is_err());
        let longer = [
            said(Role::User, "hi"),
            said(Role::User, "again"),
            said(Role::Assistant, "hello"),
            said(Role::User, "more"),
        ];
        assert!(matched_prefix(&longer, &stored).is_err());
    }

    #[test]
    fn a_request_message_reads_its_text_parts_only() {
        let mut problems = Vec::new();
        let message = json!({"id": "x", "role": "assistant", "parts": [
            {"type": "step-start"},
            {"type": "reasoning", "text": "hmm"},
            {"type": "text", "text": "one "},
            {"type": "data-chatd-note", "data": {}},
            {"type": "text", "text": "two"},
        ]});
        let read = read_message(0, &message, &mut problems);
        assert_eq!(read, Some(said(Role::Assistant, "one two")));
        let with_file = json!({"role": "user", "parts": [{"type": "file", "url": "data:,x"}]});
        let read = read_message(1, &with_file, &mut problems);
        assert!(read.is_some_and(|said| said.has_other_parts));
        assert!(problems.is_empty());
        let no_parts = json!({"role": "user"});
        assert_eq!(read_message(2, &no_parts, &mut problems), None);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].loc,
            vec![json!("body"), json!("messages"), json!(2), json!("parts")]
        );
    }
}
