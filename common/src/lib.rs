//! The wire of the chat API: request and response bodies, the error body and the SSE
//! framing, shared by `chatd` (which serves them) and `chatctl` (which consumes them).
//!
//! The documented objects keep exactly the fields and the field order of
//! `docs/API.md`; everything beyond the original document is an extension and is
//! marked as such. This crate depends on serde alone so that chatctl stays small; the
//! `openapi` feature (chatd's) adds the types' OpenAPI schemas.
//!
//! It also holds the little both sides judge alike: which hosts are loopback
//! ([`loopback`]).

pub mod archive;
pub mod loopback;
pub mod sse;
pub mod summaries;

use serde::{Deserialize, Serialize};

/// The base path every endpoint lives under.
pub const API_BASE: &str = "/api/v1";

/// `POST /users/` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    /// 1 to 64 characters (after NFC normalisation), no control character, no `/`,
    /// not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\x00-\x1f\x7f-\x9f/]*[^\x00-\x1f\x7f-\x9f/\s][^\x00-\x1f\x7f-\x9f/]*$"
        )
    )]
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// A user as returned by `POST /users/` and `GET /users/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub username: String,
    pub email: Option<String>,
    pub id: i64,
    /// RFC 3339, UTC, microseconds, `Z` suffix.
    pub created_at: String,
}

/// `POST /conversations/` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateConversationRequest {
    pub user_id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// A conversation without its messages, as listed by `GET /users/{user_id}/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub user_id: i64,
    pub name: Option<String>,
    pub id: i64,
    pub created_at: String,
}

/// `GET /conversations/{conversation_id}`: the conversation and all its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationWithMessages {
    pub user_id: i64,
    pub name: Option<String>,
    pub id: i64,
    pub created_at: String,
    pub messages: Vec<Message>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Extension, assistant messages only: the model that answered, as the provider
    /// reported it (else the one chatd asked for). Like every field below, present only
    /// on the extension endpoints and only when known; older servers never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Extension: the provider's `finish_reason` (`stop`, `length`, `content_filter`,
    /// ...) as it said it; absent when it said none (a cancelled or failed reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Extension: the token counts the provider reported for this reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Extension: milliseconds from chatd's request to the provider to the first
    /// content or reasoning delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    /// Extension: milliseconds from chatd's request to the provider to the reply's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Extension: what the model reasoned before (or while) answering, kept apart from
    /// `content` and never sent back to the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Extension (branches): the message this one follows in its conversation's tree;
    /// absent for a root (a conversation's first message, or an edit of it) and on the
    /// documented objects, and older servers never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
}

/// Extension: the token counts of one reply, as its provider reported them. Either may
/// be absent when the provider gave only the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<i64>,
}

impl Usage {
    /// `None` when neither count is known.
    pub fn of(prompt_tokens: Option<i64>, completion_tokens: Option<i64>) -> Option<Usage> {
        (prompt_tokens.is_some() || completion_tokens.is_some()).then_some(Usage {
            prompt_tokens,
            completion_tokens,
        })
    }
}

/// Extension: `GET /models`, the models of every configured provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelsResponse {
    /// The model a conversation without one of its own uses, as `PROVIDER/MODEL`.
    pub default: String,
    /// Every configured provider, in the order of the configuration, the default
    /// included, whether or not it could be asked.
    pub providers: Vec<ProviderModels>,
}

/// Extension: one provider of `GET /models`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderModels {
    /// The name models are addressed by: `NAME/MODEL`.
    pub name: String,
    /// `"openai"` or `"echo"`.
    pub kind: String,
    /// The provider's base URL; `null` for echo.
    pub base_url: Option<String>,
    /// Whether this is the default provider, which bare model names address.
    pub default: bool,
    /// Its models, each as `NAME/MODEL`, ready to use as a conversation's `model`. Empty
    /// when the provider could not be asked (`error` says why).
    pub models: Vec<String>,
    /// Whether names not in `models` are accepted too (echo accepts any name).
    pub accepts_any_model: bool,
    /// Why the list could not be had (the provider is down, refused, timed out, ...);
    /// `null` when it was.
    pub error: Option<String>,
}

/// Extension: the sampling parameters of a conversation, passed through to its provider.
/// Each is optional; one left out is the provider's own default. Stored as this
/// object's JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChatParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 2))]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1))]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

impl ChatParams {
    pub fn is_empty(&self) -> bool {
        *self == ChatParams::default()
    }
}

/// Extension: a conversation's settings, as `GET /conversations/{id}/settings` and
/// `PATCH /conversations/{id}` answer them. `model`, `system_prompt` and `params` are
/// the values a chat started now would use: the conversation's own, or chatd's defaults
/// where it has none; `defaults` names the fields that come from chatd's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSettings {
    pub id: i64,
    pub name: Option<String>,
    /// `PROVIDER/MODEL`, or a bare model name on the default provider.
    pub model: String,
    /// `null` when neither the conversation nor chatd has one.
    pub system_prompt: Option<String>,
    pub params: ChatParams,
    /// Where the name came from: `user`, `first_line` or `model`; `null` without a name.
    pub title_source: Option<String>,
    /// Which of `model`, `system_prompt` and `params` are chatd's defaults.
    pub defaults: Vec<String>,
    /// The last message of the conversation's active path (docs/API.md §3.19); absent
    /// while it has no message, and from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_leaf_id: Option<i64>,
}

/// Extension: `PATCH /conversations/{id}` body. A field left out is not changed; a
/// field sent as `null` goes back to chatd's default (`name: null` removes the name).
/// Any other field is refused (422).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateConversationRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, max_length = 200)
    )]
    pub name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, min_length = 1, max_length = 200)
    )]
    pub model: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub system_prompt: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ChatParams>))]
    pub params: Option<Option<ChatParams>>,
    /// Switches branch (docs/API.md §3.19): any message of the conversation; one that
    /// is not a leaf stands for the newest leaf below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_leaf_id: Option<i64>,
}

/// A field that is present, even as `null`: `Some(None)`; serde's `default` covers the
/// field left out.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Extension: the answer of `DELETE /users/{id}/conversations?before=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedConversations {
    /// How many conversations were deleted, with their messages.
    pub deleted: u64,
}

/// `POST /chat` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatRequest {
    pub conversation_id: i64,
    /// Not blank; up to 100,000 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100_000, pattern = r"\S")
    )]
    pub message: String,
    /// Extension (docs/API.md §3.19): an earlier user message of the conversation that
    /// this one replaces on a new branch (the same parent), answered there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_of: Option<i64>,
}

/// Extension: `POST /conversations/{id}/regenerate` body, optional as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegenerateRequest {
    /// The assistant message to answer again; by default the active leaf's reply (or
    /// the active leaf itself, a user message left unanswered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
}

/// Extension: one message of `GET /conversations/{id}/tree`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeMessage {
    pub id: i64,
    /// `null` for a root.
    pub parent_id: Option<i64>,
    pub role: Role,
    pub status: MessageStatus,
    pub created_at: String,
    /// The ids of every message with the same parent, this one included, oldest first
    /// (a "2 / 3" switcher: this one's place among them).
    pub siblings: Vec<i64>,
    /// Whether it lies on the active path.
    pub active: bool,
}

/// Extension: `GET /conversations/{id}/tree`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationTree {
    pub conversation_id: i64,
    /// The last message of the active path; `null` while there is no message.
    pub active_leaf_id: Option<i64>,
    /// Every message, oldest first (at most 10,000: see `complete`).
    pub messages: Vec<TreeMessage>,
    /// `false` when the conversation has more messages than one tree answer holds;
    /// the oldest 10,000 are given.
    pub complete: bool,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The default model as `PROVIDER/MODEL`. Older servers omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// The names of the configured providers, in configuration order. Older servers
    /// omit it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
}

/// Extension: the answer of `POST /conversations/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelResponse {
    pub conversation_id: i64,
    pub cancelled: bool,
}

/// Extension: data of the `start` event of a stream opened with `?events=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamStart {
    pub conversation_id: i64,
    /// The stored user message this reply answers.
    pub user_message: Message,
}

/// Extension: the answer (202) of `POST /chat?detach=true`, given as soon as the user
/// message is stored; the reply runs on without a listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetachedChat {
    pub conversation_id: i64,
    /// The stored user message the reply answers.
    pub user_message: Message,
    pub reply: DetachedReply,
}

/// Extension: the reply of a detached chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetachedReply {
    /// `in_progress` while it runs; how it ended (a message status) once it has, as a
    /// repeat of the request with its `Idempotency-Key` can find it.
    pub status: String,
    /// The cursor before the reply's first token: attach with it
    /// (`GET /conversations/{id}/reply?after=`) to read the reply from its start.
    pub cursor: String,
    /// The stored assistant message, once there is one.
    pub message: Option<Message>,
}

/// Extension: data of the `end` event of a stream opened with `?events=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
            model: None,
            finish_reason: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            reasoning: None,
            parent_id: None,
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"role":"assistant","content":"hi","id":2,"conversation_id":1,"created_at":"2026-11-24T05:39:12.123456Z"}"#
        );
    }

    #[test]
    fn an_update_tells_a_field_left_out_from_a_null() {
        let update: UpdateConversationRequest =
            serde_json::from_str(r#"{"name": null, "model": "echo/echo"}"#).unwrap();
        assert_eq!(update.name, Some(None));
        assert_eq!(update.model, Some(Some("echo/echo".into())));
        assert_eq!(update.system_prompt, None);
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"name":null,"model":"echo/echo"}"#
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
