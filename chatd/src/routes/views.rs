//! Rows of the store as the API shows them: the documented objects, with timestamps in
//! RFC 3339 UTC with microseconds and a `Z` (addendum 1).

use chrono::NaiveDateTime;
use common::{Conversation, Message, User};

use crate::store::{ConversationRow, MessageRow, UserRow};

pub fn timestamp(at: &NaiveDateTime) -> String {
    // Written out by hand: chrono's `format` parses its pattern on every call, which
    // showed in profiles of conversation reads (one timestamp per message).
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000 % 1_000_000
    )
}

pub fn user(row: &UserRow) -> User {
    User {
        username: row.username.clone(),
        email: row.email.clone(),
        id: row.id,
        created_at: timestamp(&row.created_at),
    }
}

pub fn conversation(row: &ConversationRow) -> Conversation {
    Conversation {
        user_id: row.user_id,
        name: row.name.clone(),
        id: row.id,
        created_at: timestamp(&row.created_at),
    }
}

/// A message; `with_status` adds the extension field the documented objects omit.
pub fn message(row: &MessageRow, with_status: bool) -> Message {
    Message {
        role: row.role(),
        content: row.content.clone(),
        id: row.id,
        conversation_id: row.conversation_id,
        created_at: timestamp(&row.created_at),
        status: with_status.then(|| row.status()),
    }
}

/// Our own types always serialise; the fallback keeps a stream well-formed regardless.
pub fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let at =
            NaiveDateTime::parse_from_str("2026-11-24 05:39:12.123456", "%Y-%m-%d %H:%M:%S%.f")
                .unwrap();
        assert_eq!(timestamp(&at), "2026-11-24T05:39:12.123456Z");
        let whole =
            NaiveDateTime::parse_from_str("2026-11-24 05:39:12", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(timestamp(&whole), "2026-11-24T05:39:12.000000Z");
    }
}
