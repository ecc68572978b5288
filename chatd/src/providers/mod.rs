//! Providers turn a conversation's history into a stream of deltas: `echo` (offline,
//! deterministic, the default) and `openai` (any OpenAI-compatible `/chat/completions`
//! endpoint: OpenAI, Ollama, llama.cpp, vLLM, LM Studio). `registry.rs` holds the
//! providers chatd is configured with, by name, resolves a conversation's model string
//! to one of them, and lists their models (`GET /models`).

pub mod echo;
pub mod event_reader;
pub mod openai;
pub mod registry;
pub mod tools;

use std::pin::Pin;
use std::sync::Arc;

use common::{ChatParams, Usage};
use futures_util::Stream;

pub use echo::EchoProvider;
pub use openai::OpenAiProvider;
pub use registry::{NamedProvider, Providers, UnknownModel};

/// One message sent to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// Shared with the store's kept texts (`store/known_texts.rs`): a chat's history is
    /// sent without a copy of each message.
    pub content: Arc<str>,
}

/// What a provider is asked for one reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyRequest {
    /// The model name as this provider knows it (without the `PROVIDER/` prefix).
    pub model: String,
    /// Sampling parameters; those left out are the provider's own defaults.
    pub params: ChatParams,
    /// Oldest first, the user's new message last; content only, never reasoning.
    pub history: Vec<Turn>,
    /// What an OpenAI-shaped request (the front door) relays to an OpenAI-compatible
    /// provider as it came.
    pub relayed: Option<Relayed>,
}

/// The parts of a front-door request sent on unchanged: its messages, with their
/// images, tool calls and tool results, and its other fields (`tools`, `tool_choice`,
/// `response_format`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relayed {
    /// The request's messages as sent: the whole history when `whole`, else only its
    /// new messages, which then replace the last as many turns of `history`.
    pub messages: Vec<serde_json::Value>,
    pub whole: bool,
    /// Fields chatd does not read itself.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Why a provider could not give (the rest of) a reply. The text is shown to clients in
/// a 502's `detail` or a stream's `end` event, so it names the cause and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// What a provider's stream yields: the reply's text and reasoning in order, with what
/// the provider says about the reply (its model, its token counts) wherever it says it,
/// then one `End`, or an error, and nothing after either. A stream that stops without
/// one of them was cut short and counts as a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Text(String),
    /// Reasoning (`reasoning_content` or `reasoning` in OpenAI-style chunks), kept apart
    /// from the text.
    Reasoning(String),
    /// The model that answers, as the provider names it; said once, or again when it
    /// changes.
    Model(String),
    /// The reply's token counts; a later one replaces an earlier one.
    Usage(Usage),
    /// A chunk's `tool_calls` as the provider sent them (an array of partial calls,
    /// each with its `index`), relayed to front-door clients as they came.
    ToolCalls(serde_json::Value),
    /// The provider said the reply is over, and why.
    End(Ending),
}

/// How the provider ended a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub reason: FinishReason,
    /// The `finish_reason` as the provider wrote it; `None` when it gave none.
    pub said: Option<String>,
}

impl Ending {
    pub fn new(reason: FinishReason, said: Option<&str>) -> Ending {
        Ending {
            reason,
            said: said.map(str::to_owned),
        }
    }
}

/// Why the provider ended a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model finished its reply.
    Stop,
    /// The model stopped at its token limit (OpenAI's `finish_reason: "length"`).
    Length,
}

/// The deltas of one reply (see `Delta`).
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<Delta, ProviderError>> + Send>>;

// Built once at start-up and kept behind an `Arc`: its size costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Provider {
    Echo(EchoProvider),
    OpenAi(OpenAiProvider),
    /// Tests of the reply task: a provider that fails, or never ends, on cue.
    #[cfg(test)]
    Scripted(Scripted),
}

/// What a [`Provider::Scripted`] does: fail at once, or give `deltas` and then end as
/// `then` says.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Scripted {
    pub refuse: Option<String>,
    pub deltas: Vec<String>,
    pub then: ScriptEnd,
}

#[cfg(test)]
#[derive(Debug, Clone)]
pub enum ScriptEnd {
    Complete,
    Fail(String),
    /// Never ends: only a cancel or shutdown stops the reply.
    Hang,
}

#[cfg(test)]
impl Scripted {
    fn stream(&self) -> Result<DeltaStream, ProviderError> {
        use futures_util::StreamExt;
        if let Some(why) = &self.refuse {
            return Err(ProviderError(why.clone()));
        }
        let deltas = futures_util::stream::iter(
            self.deltas
                .clone()
                .into_iter()
                .map(|text| Ok(Delta::Text(text))),
        );
        Ok(match &self.then {
            ScriptEnd::Complete => deltas
                .chain(futures_util::stream::iter([Ok(Delta::End(Ending::new(
                    FinishReason::Stop,
                    Some("stop"),
                )))]))
                .boxed(),
            ScriptEnd::Fail(why) => deltas
                .chain(futures_util::stream::iter([Err(ProviderError(
                    why.clone(),
                ))]))
                .boxed(),
            ScriptEnd::Hang => deltas.chain(futures_util::stream::pending()).boxed(),
        })
    }
}

impl Provider {
    /// `echo` or `openai`.
    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Echo(_) => "echo",
            Provider::OpenAi(_) => "openai",
            #[cfg(test)]
            Provider::Scripted(_) => "scripted",
        }
    }

    /// Starts a reply.
    pub async fn stream(&self, request: ReplyRequest) -> Result<DeltaStream, ProviderError> {
        match self {
            Provider::Echo(provider) => Ok(provider.stream(&request.history)),
            Provider::OpenAi(provider) => provider.stream(request).await,
            #[cfg(test)]
            Provider::Scripted(script) => script.stream(),
        }
    }
}
