//! What `GET /events` announces: each kind, and the JSON of its `data:`.

use common::{MessageStatus, Role};
use serde::{Deserialize, Serialize};

/// One thing that happened, as its event's `data:` carries it (`type` is also the SSE
/// `event:` name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "user.created")]
    UserCreated { user_id: i64, username: String },
    #[serde(rename = "conversation.created")]
    ConversationCreated { conversation_id: i64, user_id: i64 },
    /// Its name or settings changed by `PATCH /conversations/{id}`, or the title chatd
    /// gives it after its first reply stored.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated { conversation_id: i64, user_id: i64 },
    /// `user_id` is `null` only when the conversation was already gone when its delete
    /// was announced and whose it was could not be read.
    #[serde(rename = "conversation.deleted")]
    ConversationDeleted {
        conversation_id: i64,
        user_id: Option<i64>,
    },
    #[serde(rename = "message.created")]
    MessageCreated {
        message_id: i64,
        conversation_id: i64,
        user_id: i64,
        role: Role,
    },
    /// `reply_id` is the user message the reply answers (as in reply cursors).
    #[serde(rename = "reply.started")]
    ReplyStarted {
        conversation_id: i64,
        user_id: i64,
        reply_id: i64,
    },
    /// `message_id` is the stored answer, `null` when nothing was stored (the reply
    /// failed before its first token, or its final write is still being retried:
    /// `stored` false).
    #[serde(rename = "reply.ended")]
    ReplyEnded {
        conversation_id: i64,
        user_id: i64,
        reply_id: i64,
        message_id: Option<i64>,
        status: MessageStatus,
        stored: bool,
    },
}

impl Event {
    /// The SSE event name, as `type` says it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserCreated { .. } => "user.created",
            Event::ConversationCreated { .. } => "conversation.created",
            Event::ConversationUpdated { .. } => "conversation.updated",
            Event::ConversationDeleted { .. } => "conversation.deleted",
            Event::MessageCreated { .. } => "message.created",
            Event::ReplyStarted { .. } => "reply.started",
            Event::ReplyEnded { .. } => "reply.ended",
        }
    }

    /// The user the event is about, for `?user_id=`.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Event::UserCreated { user_id, .. }
            | Event::ConversationCreated { user_id, .. }
            | Event::ConversationUpdated { user_id, .. }
            | Event::MessageCreated { user_id, .. }
            | Event::ReplyStarted { user_id, .. }
            | Event::ReplyEnded { user_id, .. } => Some(*user_id),
            Event::ConversationDeleted { user_id, .. } => *user_id,
        }
    }
}

/// The `data:` of a `lagged` event: the stream could not give every event, so the
/// client should re-read what it shows (the REST routes) and may go on from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lagged {
    /// `slow`: the client read too slowly and `missed` events were dropped for it;
    /// `outside_window`: its `Last-Event-ID` is older than the window, or from another
    /// process or run; `relay`: this process's connection to the other chatd
    /// processes was lost for a while, and their events of that time may be missing.
    pub reason: String,
    /// How many events were dropped, when known.
    pub missed: Option<u64>,
    /// The oldest event id still held: `Last-Event-ID` just before it replays from it.
    pub oldest: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_json_with_its_type_and_ids() {
        let event = Event::ReplyEnded {
            conversation_id: 3,
            user_id: 1,
            reply_id: 8,
            message_id: Some(9),
            status: MessageStatus::Cancelled,
            stored: true,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"type": "reply.ended", "conversation_id": 3, "user_id": 1,
                "reply_id": 8, "message_id": 9, "status": "cancelled", "stored": true})
        );
        assert_eq!(event.kind(), "reply.ended");
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }
}
