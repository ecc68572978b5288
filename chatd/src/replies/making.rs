//! What a reply is made with and what is learnt while it is made, besides its text: the
//! conversation's parameters as sent to the provider, and the details stored with the
//! reply (the model that answered, its finish reason, usage, timings and reasoning).

use std::time::Instant;

use common::{ChatParams, Usage};

use crate::providers::registry::Resolved;
use crate::store::MessageDetails;

/// A conversation's stored parameters; stored ones that no longer read (they were
/// checked when stored, so only a hand-edited row) are left out, with a warning.
pub(super) fn conversation_params(conversation_id: i64, stored: Option<&str>) -> ChatParams {
    let Some(stored) = stored else {
        return ChatParams::default();
    };
    serde_json::from_str(stored).unwrap_or_else(|e| {
        tracing::warn!(
            conversation_id,
            "the conversation's stored params do not read ({e}); the provider's defaults are used"
        );
        ChatParams::default()
    })
}

/// What the reply task learns of how a reply is made, besides its text.
pub(super) struct Making {
    started: Instant,
    first_delta: Option<Instant>,
    /// As the provider names it.
    pub model: Option<String>,
    pub usage: Option<Usage>,
    /// As the provider wrote it.
    pub finish_reason: Option<String>,
    pub reasoning: String,
}

impl Making {
    pub fn new() -> Making {
        Making {
            started: Instant::now(),
            first_delta: None,
            model: None,
            usage: None,
            finish_reason: None,
            reasoning: String::new(),
        }
    }

    /// Marks the first content or reasoning delta (only the first counts).
    pub fn began(&mut self) {
        self.first_delta.get_or_insert_with(Instant::now);
    }

    /// The details to store; the model is the provider's name for it when it gave one.
    pub fn details(&mut self, resolved: &Resolved) -> MessageDetails {
        let millis = |at: Instant| i64::try_from(at.duration_since(self.started).as_millis()).ok();
        let model = match &self.model {
            Some(reported) => format!("{}/{reported}", resolved.provider.name),
            None => resolved.qualified(),
        };
        let usage = self.usage.unwrap_or_default();
        MessageDetails {
            model: Some(model),
            finish_reason: self.finish_reason.take(),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            ttft_ms: self.first_delta.and_then(millis),
            duration_ms: millis(Instant::now()),
            reasoning: (!self.reasoning.is_empty()).then(|| std::mem::take(&mut self.reasoning)),
        }
    }
}
