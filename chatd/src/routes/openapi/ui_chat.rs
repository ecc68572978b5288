//! The OpenAPI schemas of the AI SDK UI message stream routes (`/api/v1/ui/chat`,
//! `docs/API.md` §13): the body `useChat`'s `DefaultChatTransport` sends, the
//! `UIMessage`s chatd answers and the chunks of the stream, at the level a client needs.
//! The AI SDK owns these shapes and adds optional fields between versions, so request
//! objects stay open; `routes/ui_chat/` is what reads and writes them.

use serde::Serialize;
use utoipa::ToSchema;

/// `POST /api/v1/ui/chat`: what `DefaultChatTransport` sends.
#[derive(Serialize, ToSchema)]
pub struct UiChatRequest {
    /// The client's chat id; the chatd conversation it names is made on first sight.
    #[schema(min_length = 1, max_length = 256)]
    pub id: String,
    /// The chat's messages; only the last, a user message, is new (the ones before it
    /// must be what chatd stored, or be left out).
    pub messages: Vec<UiMessage>,
    pub trigger: UiTrigger,
    /// The message to regenerate, with `trigger: "regenerate-message"`.
    #[serde(rename = "messageId")]
    pub message_id: Option<String>,
    /// An app's `body: {model}`: this reply's model (`PROVIDER/MODEL` or a bare name).
    pub model: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UiTrigger {
    SubmitMessage,
    RegenerateMessage,
}

/// The AI SDK's `UIMessage`: chatd's data (ids, status, model, usage) in `metadata`.
#[derive(Serialize, ToSchema)]
pub struct UiMessage {
    pub id: String,
    pub role: UiRole,
    /// `text` and `reasoning` parts (`{type, text, state}`), `step-start`; chatd reads
    /// the text parts of what it is sent.
    pub parts: Vec<UiPart>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UiRole {
    System,
    User,
    Assistant,
}

/// One part of a `UIMessage`.
#[derive(Serialize, ToSchema)]
pub struct UiPart {
    /// `text`, `reasoning`, `step-start`, or another part type of the AI SDK.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    /// `streaming` or `done`.
    pub state: Option<String>,
}

/// One chunk of the UI message stream, the JSON of one `data:` line (the last line is
/// `data: [DONE]`). In order: `start` (with `messageId` and `messageMetadata`),
/// `start-step`, `text-start`/`text-delta`/`text-end` and `reasoning-start`/
/// `reasoning-delta`/`reasoning-end` (with `id` and `delta`), then `finish-step` and
/// `finish` (`finishReason` `stop`, `length` or `error`), or `message-metadata` and
/// `abort` for a cancelled reply, or `message-metadata`, `error` (`errorText`) and
/// `finish` for a failed or interrupted one.
#[derive(Serialize, ToSchema)]
pub struct UiMessageChunk {
    #[serde(rename = "type")]
    pub kind: UiChunkType,
    /// The part's id, on text and reasoning chunks.
    pub id: Option<String>,
    /// A piece of text or reasoning.
    pub delta: Option<String>,
    #[serde(rename = "messageId")]
    pub message_id: Option<String>,
    #[serde(rename = "messageMetadata")]
    #[schema(value_type = Option<Object>)]
    pub message_metadata: Option<serde_json::Value>,
    #[serde(rename = "finishReason")]
    pub finish_reason: Option<String>,
    #[serde(rename = "errorText")]
    pub error_text: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UiChunkType {
    Start,
    StartStep,
    TextStart,
    TextDelta,
    TextEnd,
    ReasoningStart,
    ReasoningDelta,
    ReasoningEnd,
    FinishStep,
    Finish,
    MessageMetadata,
    Abort,
    Error,
}
