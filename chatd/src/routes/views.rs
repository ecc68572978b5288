//! Rows of the store as the API shows them: the documented objects, with timestamps in
//! RFC 3339 UTC with microseconds and a `Z` (addendum 1).

use common::{Conversation, Message, MessageStatus, Usage, User};

use crate::store::{ConversationRow, MessageDetails, MessageRow, UserRow};

pub use crate::store::columns::rfc3339_micros as timestamp;

pub fn user(row: UserRow) -> User {
    User {
        created_at: timestamp(&row.created_at),
        username: row.username,
        email: row.email,
        id: row.id,
    }
}

pub fn conversation(row: ConversationRow) -> Conversation {
    Conversation {
        created_at: timestamp(&row.created_at),
        user_id: row.user_id,
        name: row.name,
        id: row.id,
    }
}

/// A message; `with_status` adds the extension fields the documented objects omit: its
/// status and, for a reply, how it was made.
pub fn message(row: MessageRow, with_status: bool) -> Message {
    let details = if with_status {
        row.details
    } else {
        MessageDetails::NONE
    };
    Message {
        role: row.role,
        status: with_status.then_some(row.status),
        created_at: timestamp(&row.created_at),
        content: row.content,
        id: row.id,
        conversation_id: row.conversation_id,
        model: details.model,
        finish_reason: details.finish_reason,
        usage: Usage::of(details.prompt_tokens, details.completion_tokens),
        ttft_ms: details.ttft_ms,
        duration_ms: details.duration_ms,
        reasoning: details.reasoning,
        parent_id: row.parent_id.filter(|_| with_status),
    }
}

/// The extension fields of a message, in the order and the rendering of
/// [`common::Message`]'s own (a test holds them to it), so they can be rendered apart
/// from the documented ones.
#[derive(serde::Serialize)]
pub struct MessageExtension<'a> {
    pub status: MessageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
}

impl<'a> MessageExtension<'a> {
    pub fn of(row: &'a MessageRow) -> MessageExtension<'a> {
        let details = &row.details;
        MessageExtension {
            status: row.status,
            model: &details.model,
            finish_reason: &details.finish_reason,
            usage: Usage::of(details.prompt_tokens, details.completion_tokens),
            ttft_ms: details.ttft_ms,
            duration_ms: details.duration_ms,
            reasoning: &details.reasoning,
            parent_id: row.parent_id,
        }
    }
}

/// Our own types always serialise; the fallback keeps a stream well-formed regardless.
pub fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
