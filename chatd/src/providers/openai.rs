//! A client for any OpenAI-compatible `POST {base}/chat/completions` with
//! `stream: true`. Reads `chat.completion.chunk` events through eventsource-stream,
//! ends on `[DONE]` or on a clean end of the body without it, skips chunks that carry
//! no content (role-only, empty `choices`, usage-only, reasoning deltas), and bounds
//! both the connection and every silence between two events.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::{DeltaStream, ProviderError, Turn};

/// What goes into a provider's error text from a response body, at the most.
const ERROR_BODY_LIMIT: usize = 300;

#[derive(Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    idle_timeout: Duration,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl OpenAiProvider {
    pub fn new(
        base_url: &str,
        model: String,
        api_key: Option<String>,
        connect_timeout: Duration,
        idle_timeout: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let endpoint = format!("{}/chat/completions", base_url.trim_end_matches('/'));
        reqwest::Url::parse(&endpoint)
            .map_err(|e| format!("invalid OpenAI base URL {base_url:?}: {e}"))?;
        Ok(OpenAiProvider {
            client,
            endpoint,
            model,
            api_key: api_key.filter(|key| !key.is_empty()),
            idle_timeout,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn stream(&self, history: Vec<Turn>) -> Result<DeltaStream, ProviderError> {
        let messages: Vec<_> = history
            .iter()
            .map(|turn| json!({"role": turn.role, "content": turn.content}))
            .collect();
        let body = json!({"model": self.model, "messages": messages, "stream": true});
        let mut request = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = tokio::time::timeout(self.idle_timeout, request.send())
            .await
            .map_err(|_| self.silence_error())?
            .map_err(|e| self.send_error(&e))?;

        let status = response.status();
        if !status.is_success() {
            return Err(self.status_error(response).await);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            // Some servers ignore `stream: true`; a whole completion is one delta.
            return self.whole_completion(response).await;
        }
        if !content_type.starts_with("text/event-stream") {
            return Err(ProviderError(format!(
                "the LLM provider at {} answered with {:?} instead of an event stream",
                self.endpoint,
                if content_type.is_empty() {
                    "no content type"
                } else {
                    &content_type
                }
            )));
        }
        Ok(self.deltas(response.bytes_stream()))
    }

    fn deltas<S, B>(&self, bytes: S) -> DeltaStream
    where
        S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
        B: AsRef<[u8]>,
    {
        let events = bytes.eventsource();
        let idle = self.idle_timeout;
        let endpoint = self.endpoint.clone();
        let state = (Box::pin(events), false);
        futures_util::stream::unfold(state, move |(mut events, finished)| {
            let endpoint = endpoint.clone();
            async move {
                if finished {
                    return None;
                }
                loop {
                    let next = match tokio::time::timeout(idle, events.next()).await {
                        Err(_) => {
                            let error = ProviderError(format!(
                                "the LLM provider at {endpoint} sent nothing for {} s",
                                idle.as_secs()
                            ));
                            return Some((Err(error), (events, true)));
                        }
                        // The body ended without `[DONE]`: servers such as older
                        // llama.cpp builds end that way after a complete reply.
                        Ok(None) => return None,
                        Ok(Some(next)) => next,
                    };
                    let event = match next {
                        Ok(event) => event,
                        Err(e) => {
                            let error = ProviderError(format!(
                                "the connection to the LLM provider at {endpoint} broke: {e}"
                            ));
                            return Some((Err(error), (events, true)));
                        }
                    };
                    match parse_chunk(&event.data) {
                        Chunk::Done => return None,
                        Chunk::Nothing => continue,
                        Chunk::Delta(text) => return Some((Ok(text), (events, false))),
                        Chunk::Error(message) => {
                            let error = ProviderError(format!(
                                "the LLM provider reported an error mid-stream: {message}"
                            ));
                            return Some((Err(error), (events, true)));
                        }
                    }
                }
            }
        })
        .boxed()
    }

    async fn whole_completion(
        &self,
        response: reqwest::Response,
    ) -> Result<DeltaStream, ProviderError> {
        let text = tokio::time::timeout(self.idle_timeout, response.text())
            .await
            .map_err(|_| self.silence_error())?
            .map_err(|e| self.send_error(&e))?;
        let content = serde_json::from_str::<Completion>(&text)
            .ok()
            .and_then(|c| c.choices.into_iter().next())
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| {
                ProviderError(format!(
                    "the LLM provider at {} answered with JSON that is not a chat completion",
                    self.endpoint
                ))
            })?;
        let deltas: Vec<Result<String, ProviderError>> = if content.is_empty() {
            Vec::new()
        } else {
            vec![Ok(content)]
        };
        Ok(futures_util::stream::iter(deltas).boxed())
    }

    fn silence_error(&self) -> ProviderError {
        ProviderError(format!(
            "the LLM provider at {} did not answer within {} s (timeout)",
            self.endpoint,
            self.idle_timeout.as_secs()
        ))
    }

    fn send_error(&self, error: &reqwest::Error) -> ProviderError {
        let cause = if error.is_connect() {
            let mut source: Option<&dyn std::error::Error> = Some(error);
            let mut refused = false;
            while let Some(err) = source {
                if let Some(io) = err.downcast_ref::<std::io::Error>() {
                    refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
                }
                source = err.source();
            }
            if refused {
                "connection refused".to_string()
            } else if error.is_timeout() {
                "connection timed out (timeout)".to_string()
            } else {
                format!("could not connect ({})", root_cause(error))
            }
        } else if error.is_timeout() {
            "timeout".to_string()
        } else {
            root_cause(error)
        };
        ProviderError(format!(
            "could not reach the LLM provider at {}: {cause}",
            self.endpoint
        ))
    }

    async fn status_error(&self, response: reqwest::Response) -> ProviderError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = tokio::time::timeout(Duration::from_secs(5), response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = provider_message(&body);
        let mut text = match status.as_u16() {
            401 => "the LLM provider rejected the API key (HTTP 401): set CHATD_OPENAI_API_KEY \
                    or OPENAI_API_KEY to a valid key"
                .to_string(),
            403 => "the LLM provider refused access (HTTP 403)".to_string(),
            404 => format!(
                "the LLM provider has no such endpoint or model (HTTP 404) at {}",
                self.endpoint
            ),
            429 => "the LLM provider is rate limiting requests (HTTP 429)".to_string(),
            code => format!("the LLM provider failed with HTTP {code}"),
        };
        if let Some(after) = retry_after {
            text.push_str(&format!("; retry after {after} s"));
        }
        if !message.is_empty() {
            text.push_str(": ");
            text.push_str(&message);
        }
        ProviderError(text)
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The human part of an error body: OpenAI's `error.message`, else the body's text,
/// shortened so a runaway HTML page cannot flood a client.
fn provider_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let error = v.get("error")?;
            error
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
                .or_else(|| error.as_str().map(str::to_owned))
        });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let mut short: String = text.chars().take(ERROR_BODY_LIMIT).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short.replace(['\n', '\r'], " ")
}

#[derive(Debug, PartialEq, Eq)]
enum Chunk {
    Done,
    Nothing,
    Delta(String),
    Error(String),
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Option<Vec<StreamChoice>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<CompletionChoice>,
}

#[derive(Deserialize)]
struct CompletionChoice {
    message: CompletionMessage,
}

#[derive(Deserialize)]
struct CompletionMessage {
    #[serde(default)]
    content: Option<String>,
}

fn parse_chunk(data: &str) -> Chunk {
    let data = data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    if data.is_empty() || data == "null" {
        return Chunk::Nothing;
    }
    let chunk: StreamChunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(e) => return Chunk::Error(format!("a chunk was not valid JSON ({e})")),
    };
    if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        return Chunk::Error(message);
    }
    let content: String = chunk
        .choices
        .unwrap_or_default()
        .into_iter()
        .filter_map(|choice| choice.delta.and_then(|d| d.content))
        .collect();
    if content.is_empty() {
        Chunk::Nothing
    } else {
        Chunk::Delta(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_without_content_are_skipped() {
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
            Chunk::Nothing
        );
        assert_eq!(parse_chunk(r#"{"choices":[]}"#), Chunk::Nothing);
        assert_eq!(
            parse_chunk(r#"{"choices":null,"usage":{"total_tokens":3}}"#),
            Chunk::Nothing
        );
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#),
            Chunk::Nothing
        );
        assert_eq!(parse_chunk("null"), Chunk::Nothing);
    }

    #[test]
    fn content_done_and_errors_are_recognised() {
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"content":" sky"},"index":0}]}"#),
            Chunk::Delta(" sky".into())
        );
        assert_eq!(parse_chunk("[DONE]"), Chunk::Done);
        assert_eq!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Chunk::Error("overloaded".into())
        );
        assert!(matches!(parse_chunk("{not json"), Chunk::Error(_)));
    }

    proptest::proptest! {
        /// For any deltas, the upstream's SSE (split at any byte) read through
        /// eventsource-stream and `parse_chunk`, normalised, framed as chatd frames
        /// them and parsed again by a conforming parser, gives back the deltas' text.
        #[test]
        fn any_deltas_survive_parsing_and_framing(
            deltas in proptest::collection::vec(
                proptest::string::string_regex("[a-z \\n\\r\\t:é😀中]{0,6}").unwrap(), 0..20),
            split in 1usize..50,
        ) {
            use futures_util::StreamExt;
            let mut upstream = String::new();
            for delta in &deltas {
                let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": delta}}]});
                upstream.push_str(&format!("data: {chunk}\n\n"));
            }
            upstream.push_str("data: [DONE]\n\n");
            let pieces: Vec<Result<Vec<u8>, std::io::Error>> = upstream
                .as_bytes()
                .chunks(split)
                .map(|piece| Ok(piece.to_vec()))
                .collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let parsed: Vec<String> = runtime.block_on(async {
                futures_util::stream::iter(pieces)
                    .eventsource()
                    .filter_map(|event| async move {
                        match parse_chunk(&event.ok()?.data) {
                            Chunk::Delta(text) => Some(text),
                            _ => None,
                        }
                    })
                    .collect()
                    .await
            });
            let mut normalizer = common::sse::LineBreakNormalizer::default();
            let mut framed = String::new();
            let mut sent = String::new();
            for delta in parsed {
                let delta = normalizer.normalize(&delta);
                if !delta.is_empty() {
                    common::sse::push_data_event(&mut framed, &delta);
                    sent.push_str(&delta);
                }
            }
            let expected = deltas.concat().replace("\r\n", "\n").replace('\r', "\n");
            proptest::prop_assert_eq!(&sent, &expected);
            let reparsed: Vec<String> = runtime.block_on(async {
                futures_util::stream::iter([Ok::<_, std::io::Error>(framed.into_bytes())])
                    .eventsource()
                    .map(|event| event.map(|e| e.data).unwrap_or_default())
                    .collect()
                    .await
            });
            proptest::prop_assert_eq!(reparsed.concat(), expected);
        }
    }

    #[test]
    fn provider_messages_are_short_and_single_line() {
        assert_eq!(
            provider_message(r#"{"error":{"message":"Incorrect API key"}}"#),
            "Incorrect API key"
        );
        let long = "x\n".repeat(400);
        let message = provider_message(&long);
        assert!(message.chars().count() <= ERROR_BODY_LIMIT + 1);
        assert!(!message.contains('\n'));
    }
}
