//! The OpenAPI schemas of the OpenAI-compatible front door (`/v1`, `docs/API.md` §11):
//! OpenAI's shapes as `routes/openai/` reads and writes them with `serde_json`, at the
//! level a client needs (the fields chatd reads and always writes; OpenAI's other
//! request fields are relayed to the provider, so every request object stays open).

use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

/// Every front-door error: OpenAI's `{"error": {...}}`, so OpenAI's SDKs raise it as
/// their own exception types.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"message": "you must provide a model parameter",
    "type": "invalid_request_error", "param": "model", "code": null}}))]
pub struct OpenAiErrorBody {
    pub error: OpenAiErrorObject,
}

#[derive(Serialize, ToSchema)]
pub struct OpenAiErrorObject {
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `service_unavailable_error` or
    /// `api_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request field that is wrong, if one is.
    pub param: Option<String>,
    /// `model_not_found`, `unknown_url`, `provider_failed`, ... when there is one.
    pub code: Option<String>,
}

/// One message of a chat completion request. `content` is a string or a list of
/// content parts; chatd stores text parts as they are and any other part as a note of
/// what was there (§11.5).
#[derive(Serialize, ToSchema)]
pub struct ChatCompletionMessage {
    pub role: MessageRole,
    /// Null or absent (empty text) for an assistant message that only calls tools, as
    /// OpenAI sends it; the Responses API needs it.
    pub content: Option<MessageContent>,
}

/// `function` is the older name of `tool`, still sent by some clients.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

/// A message's text, or its content parts.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A content part: `{"type": "text", "text": ...}`, or an image, audio or file part
/// (stored as a note of what was there).
#[derive(Serialize, ToSchema)]
pub struct ContentPart {
    /// `text` (`input_text` in the Responses API), `image_url`, `input_audio`, `file`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

/// `POST /v1/chat/completions` body. Fields besides these (`tools`, ...) go to the
/// provider unchanged.
#[derive(Serialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// `PROVIDER/MODEL`, or a bare name on the default provider.
    #[schema(min_length = 1)]
    pub model: String,
    #[schema(min_items = 1)]
    pub messages: Vec<ChatCompletionMessage>,
    /// Answer as `text/event-stream` `chat.completion.chunk`s.
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    #[schema(minimum = 0, maximum = 1)]
    pub top_p: Option<f64>,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    pub max_tokens: Option<i64>,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    pub max_completion_tokens: Option<i64>,
    pub seed: Option<i64>,
    /// The chatd user whose conversation this is (else the front door's default user).
    pub user: Option<String>,
    pub metadata: Option<RequestMetadata>,
}

#[derive(Serialize, ToSchema)]
pub struct StreamOptions {
    /// Adds a last chunk with `usage`.
    pub include_usage: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestMetadata {
    /// Continues chatd conversation N (`"N"`).
    #[schema(pattern = "^[0-9]+$")]
    pub chatd_conversation_id: Option<String>,
}

/// A whole `chat.completion`.
#[derive(Serialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-N`, N the stored reply's message id.
    pub id: String,
    /// `chat.completion`.
    pub object: String,
    pub created: i64,
    pub model: String,
    pub choices: Vec<ChatCompletionChoice>,
    pub usage: Option<TokenUsage>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatCompletionChoice {
    pub index: u32,
    /// `{"role": "assistant", "content": ..., "refusal": null}`, with `tool_calls` when
    /// the model called tools.
    #[schema(value_type = Object)]
    pub message: serde_json::Value,
    /// `stop`, `length`, `tool_calls`, ...
    pub finish_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUsage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
}

/// `GET /v1/models`: every provider's models as OpenAI lists them.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    pub data: Vec<ModelEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct ModelEntry {
    /// `PROVIDER/MODEL`.
    pub id: String,
    /// `model`.
    pub object: String,
    pub created: i64,
    /// The provider's name.
    pub owned_by: String,
}

/// `POST /v1/responses` body. `previous_response_id` chains a response onto the
/// conversation of an earlier one; `conversation`, `prompt` and `store: false` are
/// refused (§11.6).
#[derive(Serialize, ToSchema)]
pub struct CreateResponseRequest {
    #[schema(min_length = 1)]
    pub model: String,
    /// A string, or a list of input items (messages).
    pub input: ResponseInput,
    pub instructions: Option<String>,
    /// `resp_N`.
    #[schema(pattern = r"^resp_[0-9]+$")]
    pub previous_response_id: Option<String>,
    pub stream: Option<bool>,
    /// Answer at once with `status: "queued"`; the reply runs on without the client.
    pub background: Option<bool>,
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    #[schema(minimum = 0, maximum = 1)]
    pub top_p: Option<f64>,
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    pub max_output_tokens: Option<i64>,
    pub user: Option<String>,
}

/// What `POST /v1/responses` answers: a text, or messages.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ResponseInput {
    Text(String),
    Items(Vec<ChatCompletionMessage>),
}

/// A `response` object.
#[derive(Serialize, ToSchema)]
pub struct ResponseObject {
    /// `resp_N`, N the reply's message id.
    pub id: String,
    /// `response`.
    pub object: String,
    pub created_at: i64,
    /// `queued`, `in_progress`, `completed`, `cancelled`, `failed` or `incomplete`.
    pub status: String,
    pub model: String,
    pub instructions: Option<String>,
    pub previous_response_id: Option<String>,
    /// The reply as one `message` item with an `output_text` part.
    #[schema(value_type = Vec<Object>)]
    pub output: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub usage: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub incomplete_details: Option<serde_json::Value>,
    pub background: Option<bool>,
    /// `{"chatd_conversation_id": "N"}`.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

/// The answer of `DELETE /v1/responses/{id}`.
#[derive(Serialize, ToSchema)]
pub struct DeletedResponse {
    pub id: String,
    /// `response`.
    pub object: String,
    pub deleted: bool,
}

/// One Server-Sent Event of a front-door stream: unnamed (`message`) events whose
/// `data` is a JSON chunk, and the last `data: [DONE]` (Chat Completions); events named
/// by their `type` (Responses).
#[derive(Serialize, ToSchema)]
pub struct ServerSentEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// The errors of the front door's two chat routes (`POST /v1/chat/completions`,
/// `POST /v1/responses`).
#[derive(IntoResponses)]
pub enum ChatErrors {
    /// A field chatd cannot take, named by `param`
    #[response(status = 400)]
    BadRequest(OpenAiErrorBody),
    /// An unknown model (`model_not_found`), user, conversation or previous response
    #[response(status = 404)]
    NotFound(OpenAiErrorBody),
    /// A reply is already being generated for this conversation
    #[response(status = 409)]
    Conflict(OpenAiErrorBody),
    /// The body is over 1 MiB
    #[response(status = 413)]
    TooLarge(OpenAiErrorBody),
    /// The provider failed (`provider_failed`)
    #[response(status = 502)]
    ProviderFailed(OpenAiErrorBody),
    /// chatd is shutting down, too many replies are in flight, or storage is unavailable
    #[response(status = 503)]
    Unavailable(OpenAiErrorBody),
}
