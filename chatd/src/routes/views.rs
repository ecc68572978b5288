//! Rows of the store as the API shows them: the documented objects, with timestamps in
//! RFC 3339 UTC with microseconds and a `Z` (addendum 1).

use common::{Conversation, Message, User};

use crate::store::{ConversationRow, MessageRow, UserRow};

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

/// A message; `with_status` adds the extension field the documented objects omit.
pub fn message(row: MessageRow, with_status: bool) -> Message {
    Message {
        role: row.role,
        status: with_status.then_some(row.status),
        created_at: timestamp(&row.created_at),
        content: row.content,
        id: row.id,
        conversation_id: row.conversation_id,
    }
}

/// Our own types always serialise; the fallback keeps a stream well-formed regardless.
pub fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
