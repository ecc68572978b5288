//! Providers turn a conversation's history into a stream of text deltas: `echo`
//! (offline, deterministic, the default) and `openai` (any OpenAI-compatible
//! `/chat/completions` endpoint: OpenAI, Ollama, llama.cpp, vLLM, LM Studio).

pub mod echo;
pub mod event_reader;
pub mod openai;

use std::pin::Pin;

use futures_util::Stream;

pub use echo::EchoProvider;
pub use openai::OpenAiProvider;

/// One message sent to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
}

/// Why a provider could not give (the rest of) a reply. The text is shown to clients in
/// a 502's `detail` or a stream's `end` event, so it names the cause and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// What a provider's stream yields: the reply's text in order, then one `End`, or an
/// error, and nothing after either. A stream that stops without one of them was cut
/// short and counts as a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Text(String),
    /// The provider said the reply is over, and why.
    End(FinishReason),
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
                .chain(futures_util::stream::iter([Ok(Delta::End(
                    FinishReason::Stop,
                ))]))
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

    pub fn model(&self) -> &str {
        match self {
            Provider::Echo(_) => "echo",
            Provider::OpenAi(provider) => provider.model(),
            #[cfg(test)]
            Provider::Scripted(_) => "scripted",
        }
    }

    /// Starts a reply to `history` (oldest first, the user's new message last).
    pub async fn stream(&self, history: Vec<Turn>) -> Result<DeltaStream, ProviderError> {
        match self {
            Provider::Echo(provider) => Ok(provider.stream(&history)),
            Provider::OpenAi(provider) => provider.stream(history).await,
            #[cfg(test)]
            Provider::Scripted(script) => script.stream(),
        }
    }
}
