//! Rows of the store as the API shows them: the documented objects, with timestamps in
//! RFC 3339 UTC with microseconds and a `Z` (addendum 1).

use common::{Conversation, Message, MessageStatus, Usage, User};

use crate::store::{ConversationRow, ListedConversationRow, MessageDetails, MessageRow, UserRow};

pub use crate::store::columns::rfc3339_micros as timestamp;

pub fn user(row: UserRow) -> User {
    User {
        created_at: timestamp(&row.created_at),
        username: row.username,
        email: row.email,
        id: row.id,
    }
}

/// A page of a user's conversations as `GET /users/{user_id}/conversations` answers it:
/// the bytes serde writes for a `Vec<Conversation>`, written straight from the rows. The
/// keys and the time need no escaping and only a name can, so only the name and the
/// numbers go through serde: its general path (every key escaped, a `String` per time)
/// was a sixth of a list read's instructions.
pub fn listed_conversations_json(
    user_id: i64,
    rows: &[ListedConversationRow],
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(2 + rows.len() * 100);
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"user_id\":");
        serde_json::to_writer(&mut out, &user_id)?;
        out.extend_from_slice(b",\"name\":");
        serde_json::to_writer(&mut out, &row.name)?;
        out.extend_from_slice(b",\"id\":");
        serde_json::to_writer(&mut out, &row.id)?;
        out.extend_from_slice(b",\"created_at\":\"");
        out.extend_from_slice(row.created_at.as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::columns::ApiTime;
    use chrono::NaiveDate;

    #[test]
    fn a_listed_page_is_the_bytes_serde_writes_for_its_conversations() {
        let at = |micros: u32| {
            NaiveDate::from_ymd_opt(2026, 12, 4)
                .and_then(|d| d.and_hms_micro_opt(19, 5, 7, micros))
                .unwrap()
        };
        let names = [
            Some("plain"),
            None,
            Some("quote \" backslash \\ slash /"),
            Some("control \u{1} \n \t \u{7f} and \u{2028}"),
            Some("ünïcödé 😀 日本語"),
            Some(""),
        ];
        let rows: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| ListedConversationRow {
                id: i as i64 * 1_000_003 + 1,
                name: name.map(str::to_owned),
                created_at: ApiTime::of(&at(i as u32 * 123_457)),
            })
            .collect();
        for page in [&rows[..0], &rows[..1], &rows[..]] {
            let written = listed_conversations_json(42, page).unwrap();
            let documented: Vec<Conversation> = page
                .iter()
                .map(|row| Conversation {
                    user_id: 42,
                    name: row.name.clone(),
                    id: row.id,
                    created_at: row.created_at.as_str().to_owned(),
                })
                .collect();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&documented).unwrap()
            );
        }
    }
}
