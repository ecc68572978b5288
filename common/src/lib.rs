//! The wire of the chat API: request and response bodies, the error body and the SSE
//! framing, shared by `chatd` (which serves them) and `chatctl` (which consumes them).
//!
//! The documented objects keep exactly the fields and the field order of
//! `docs/API.md`; everything beyond the original document is an extension and is
//! marked as such. This crate depends on serde alone so that chatctl stays small.
//!
//! It also holds the little both sides judge alike: which hosts are loopback
//! ([`loopback`]).

pub mod loopback;
pub mod sse;
pub mod summaries;

use serde::{Deserialize, Serialize};

/// The base path every endpoint lives under.
pub const API_BASE: &str = "/api/v1";

/// `POST /users/` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// A user as returned by `POST /users/` and `GET /users/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub email: Option<String>,
    pub id: i64,
    /// RFC 3339, UTC, microseconds, `Z` suffix.
    pub created_at: String,
}

/// `POST /conversations/` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateConversationRequest {
    pub user_id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// A conversation without its messages, as listed by `GET /users/{user_id}/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub user_id: i64,
    pub name: Option<String>,
    pub id: i64,
    pub created_at: String,
}

/// `GET /conversations/{conversation_id}`: the conversation and all its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationWithMessages {
    pub user_id: i64,
    pub name: Option<String>,
    pub id: i64,
    pub created_at: String,
    pub messages: Vec<Message>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// How a stored message came to an end. User messages are always `complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// The provider finished the reply.
    Complete,
    /// Somebody cancelled the reply; `content` holds what was generated until then.
    Cancelled,
    /// The provider failed in the middle of the reply; `content` is the partial reply.
    Failed,
    /// chatd stopped (shut down past its grace period) before the reply finished.
    Interrupted,
    /// The provider stopped at its token limit (`finish_reason: "length"`); `content` is
    /// the reply as far as it got.
    Truncated,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Cancelled => "cancelled",
            MessageStatus::Failed => "failed",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Truncated => "truncated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "complete" => MessageStatus::Complete,
            "cancelled" => MessageStatus::Cancelled,
            "failed" => MessageStatus::Failed,
            "interrupted" => MessageStatus::Interrupted,
            "truncated" => MessageStatus::Truncated,
            _ => return None,
        })
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    pub id: i64,
    pub conversation_id: i64,
    pub created_at: String,
    /// Extension: how the message ended. Present only on the extension endpoints
    /// (`GET /conversations/{id}/messages`, the `end` event); the documented objects
    /// omit it, and older servers never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
}

/// `POST /chat` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub conversation_id: i64,
    pub message: String,
}

/// Every error body: `{"detail": "..."}`, or a list of validation errors for a 422.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub detail: serde_json::Value,
}

impl ErrorBody {
    /// The detail as one line a person can read, whatever its shape.
    pub fn summary(&self) -> String {
        match &self.detail {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    let msg = item
                        .get("msg")
                        .and_then(|m| m.as_str())
                        .unwrap_or("invalid");
                    let loc = item
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .map(|parts| {
                            parts
                                .iter()
                                .map(|p| match p {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    if loc.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{loc}: {msg}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}

/// Extension: `GET /status`, what a client needs to know about the daemon it talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Always `"chatd"`.
    pub name: String,
    pub version: String,
    /// `"echo"` or `"openai"`.
    pub provider: String,
    pub model: String,
    /// `"sqlite"` or `"postgres"`.
    pub database_backend: String,
    /// Where the data lives: a file path for SQLite; never carries a password.
    pub database: String,
    /// Replies being generated right now.
    pub replies_in_flight: usize,
    /// Replies that have ended but wait to be stored (the database refused their final
    /// write; chatd retries). Older servers omit it.
    #[serde(default)]
    pub replies_unstored: usize,
    /// The daemon's process id, so that a client on the same machine can stop it.
    /// Older servers omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Extension: the answer of `POST /conversations/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResponse {
    pub conversation_id: i64,
    pub cancelled: bool,
}

/// Extension: data of the `start` event of a stream opened with `?events=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStart {
    pub conversation_id: i64,
    /// The stored user message this reply answers.
    pub user_message: Message,
}

/// Extension: data of the `end` event of a stream opened with `?events=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEnd {
    pub conversation_id: i64,
    /// How the reply ended; equals `message.status` when a message was stored.
    pub status: MessageStatus,
    /// The stored assistant message, with `status`; `null` when nothing was generated
    /// and therefore nothing stored.
    pub message: Option<Message>,
    /// Why the provider failed, for `status: "failed"`; while `stored` is false, also
    /// why the reply is not stored yet.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether the reply is in the database. `false` when its final write failed:
    /// chatd keeps it and retries, and `GET /conversations/{id}/messages` shows it once
    /// stored. Older servers omit it (they only ever reported stored replies).
    #[serde(default = "stored_by_default")]
    pub stored: bool,
}

fn stored_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_message_has_no_status_field() {
        let message = Message {
            role: Role::Assistant,
            content: "hi".into(),
            id: 2,
            conversation_id: 1,
            created_at: "2026-11-24T05:39:12.123456Z".into(),
            status: None,
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"role":"assistant","content":"hi","id":2,"conversation_id":1,"created_at":"2026-11-24T05:39:12.123456Z"}"#
        );
    }

    #[test]
    fn summary_reads_validation_lists() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"detail":[{"type":"missing","loc":["body","user_id"],"msg":"Field required","input":{}}]}"#,
        )
        .unwrap();
        assert_eq!(body.summary(), "body.user_id: Field required");
        let body: ErrorBody = serde_json::from_str(r#"{"detail":"User not found"}"#).unwrap();
        assert_eq!(body.summary(), "User not found");
    }

    #[test]
    fn status_round_trips_through_text() {
        for status in [
            MessageStatus::Complete,
            MessageStatus::Cancelled,
            MessageStatus::Failed,
            MessageStatus::Interrupted,
            MessageStatus::Truncated,
        ] {
            assert_eq!(MessageStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", status.as_str()),
                "serde and as_str agree"
            );
        }
        assert_eq!(MessageStatus::parse("done"), None);
    }
}
