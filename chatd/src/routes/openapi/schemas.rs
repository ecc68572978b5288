//! The OpenAPI schemas of bodies that chatd reads or writes by hand rather than through a
//! `common` type: the error bodies of `routes/error.rs` and the `POST /conversations/`
//! body with its extension fields. Each mirrors the code that writes or reads it, and
//! the tests of `openapi/mod.rs` check them against real answers.

use serde::Serialize;
use utoipa::ToSchema;

/// Every error but a 422: `{"detail": "text"}`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"detail": "Conversation not found"}))]
pub struct Detail {
    /// What went wrong, in words.
    pub detail: String,
}

/// A 422: the list of every problem found in the path, the query and the body, as
/// FastAPI (pydantic) reports them.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"detail": [{"type": "missing", "loc": ["body", "user_id"],
    "msg": "Field required", "input": {}}]}))]
pub struct ValidationError {
    pub detail: Vec<ValidationItem>,
}

/// One problem of a 422, as `routes::error::Invalid` writes it.
#[derive(Serialize, ToSchema)]
pub struct ValidationItem {
    /// pydantic's error type: `missing`, `int_parsing`, `string_too_long`,
    /// `json_invalid`, `model_attributes_type`, `bool_parsing`, `value_error`, ...
    /// (`docs/API.md` §6).
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `"path"`, `"query"` or `"body"`, then the field's name (and the index
    /// of an item in a list).
    pub loc: Vec<LocPart>,
    /// The problem in words.
    pub msg: String,
    /// The value that was refused (`null` for a missing one).
    pub input: serde_json::Value,
    /// Details of some types (`max_length`, `error`, `expected`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<serde_json::Value>,
}

/// A field's name, or an index into a list.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    Name(String),
    Index(u64),
}

/// `POST /conversations/` body: the documented `user_id` and `name`, and the
/// extensions `model`, `system_prompt` and `params` (`docs/API.md` §3.6), read by
/// `routes::create_conversation` and `routes::settings::read`.
#[derive(Serialize, ToSchema)]
pub struct NewConversation {
    pub user_id: i64,
    /// Up to 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Extension: `PROVIDER/MODEL` or a bare model name on the default provider (up to
    /// 200 characters); one chatd cannot reach is a 422. `null` or left out: chatd's
    /// default.
    #[schema(min_length = 1, max_length = 200)]
    pub model: Option<String>,
    /// Extension: the conversation's system prompt; `null` or left out: chatd's default.
    pub system_prompt: Option<String>,
    /// Extension: sampling parameters; `null`, `{}` or left out: the provider's defaults.
    pub params: Option<common::ChatParams>,
}

/// `format` of `GET /conversations/{id}/export`, as `archive::export` matches it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Markdown,
    /// The same as `markdown`.
    Md,
}

/// `order` of `GET /users/{id}/conversations/summaries` (`common::summaries::SummaryOrder`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SummaryOrder {
    Newest,
    Oldest,
}

/// `from` of `POST /users/{id}/import`, as `archive::import` matches it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportSource {
    /// Told by the document.
    Auto,
    Chatd,
    Chatgpt,
}

/// One Server-Sent Event of a reply stream (`POST /chat`, `GET
/// /conversations/{id}/reply`).
#[derive(Serialize, ToSchema)]
pub struct ReplyEvent {
    /// `message` (unnamed) for a token; with `?events=true` also `start`, `reasoning`
    /// and `end`.
    pub event: ReplyEventName,
    /// A token as it is (unnamed events); a StreamStart (`start`), a JSON string
    /// (`reasoning`) or a StreamEnd (`end`) as JSON.
    pub data: String,
}

/// One Server-Sent Event of `GET /events`.
#[derive(Serialize, ToSchema)]
pub struct FeedEvent {
    pub event: FeedEventName,
    /// The event as JSON: an Event (its `type` is `event`), or a Lagged for `lagged`.
    pub data: String,
}

#[derive(Serialize, ToSchema)]
pub enum FeedEventName {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    #[serde(rename = "conversation.deleted")]
    ConversationDeleted,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "reply.started")]
    ReplyStarted,
    #[serde(rename = "reply.ended")]
    ReplyEnded,
    #[serde(rename = "lagged")]
    Lagged,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplyEventName {
    Message,
    Start,
    Reasoning,
    End,
}
