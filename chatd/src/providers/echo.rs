//! The offline provider: it answers with the user's own message, streamed word by word
//! (each token is a run of whitespace and the word after it, as language models emit
//! them), with an optional delay per token. Deterministic, so tests and demos need no
//! network and no model. It ignores the model name and the sampling parameters, and
//! reports no token counts.

use std::time::Duration;

use futures_util::StreamExt;

use super::{Delta, DeltaStream, Ending, FinishReason, ProviderError, Turn};

#[derive(Debug, Clone, Default)]
pub struct EchoProvider {
    pub token_delay: Duration,
}

impl EchoProvider {
    pub fn stream(&self, history: &[Turn]) -> DeltaStream {
        let message = history
            .iter()
            .rev()
            .find(|turn| turn.role == "user")
            .map(|turn| &*turn.content)
            .unwrap_or_default();
        let tokens: Vec<Result<Delta, ProviderError>> = tokenize(message)
            .into_iter()
            .map(|token| Ok(Delta::Text(token)))
            .collect();
        let end = futures_util::stream::once(async {
            Ok(Delta::End(Ending::new(FinishReason::Stop, Some("stop"))))
        });
        let delay = self.token_delay;
        if delay.is_zero() {
            return futures_util::stream::iter(tokens).chain(end).boxed();
        }
        futures_util::stream::iter(tokens)
            .then(move |token| async move {
                tokio::time::sleep(delay).await;
                token
            })
            .chain(end)
            .boxed()
    }
}

/// Splits text into tokens of leading whitespace plus one word; concatenated they give
/// the text back exactly.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            if in_word {
                tokens.push(std::mem::take(&mut current));
                in_word = false;
            }
        } else {
            in_word = true;
        }
        current.push(ch);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_leading_whitespace() {
        assert_eq!(tokenize("The sky is"), vec!["The", " sky", " is"]);
        assert_eq!(tokenize("  a\n\nb "), vec!["  a", "\n\nb", " "]);
        assert_eq!(tokenize(""), Vec::<String>::new());
    }

    #[test]
    fn tokens_concatenate_to_the_text() {
        for text in [
            "你好，世界 😀 emoji",
            "line\r\nbreak\ttab",
            " lead",
            "trail  ",
        ] {
            assert_eq!(tokenize(text).concat(), text);
        }
    }
}
