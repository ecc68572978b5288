//! A client for any OpenAI-compatible `POST {base}/chat/completions` with
//! `stream: true`. Reads `chat.completion.chunk` events with `EventReader` (so one
//! event is bounded in size and read in linear time), skips chunks that carry no
//! content (role-only, empty `choices`, usage-only, reasoning deltas), and bounds both
//! the connection and every silence of the byte stream.
//!
//! A reply is over at `[DONE]`, or when the body ends (or breaks, or falls silent) after
//! a chunk gave a `finish_reason`: older llama.cpp builds close the body after one
//! without sending `[DONE]`. A body that ends before either was cut off, and the reply
//! fails.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::event_reader::{EventReader, ReadError};
use super::{Delta, DeltaStream, FinishReason, ProviderError, Turn};

/// What goes into a provider's error text from a response body, at the most.
const ERROR_BODY_LIMIT: usize = 300;

#[derive(Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    idle_timeout: Duration,
    max_event_bytes: usize,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("idle_timeout", &self.idle_timeout)
            .field("max_event_bytes", &self.max_event_bytes)
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
        max_event_bytes: usize,
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
            max_event_bytes,
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
        let state = Reading {
            bytes: Box::pin(bytes),
            reader: EventReader::new(self.max_event_bytes),
            events: VecDeque::new(),
            finish: None,
            over: false,
            endpoint: self.endpoint.clone(),
            idle: self.idle_timeout,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            if state.over {
                return None;
            }
            let next = state.next_delta().await;
            state.over = !matches!(next, Ok(Delta::Text(_)));
            Some((next, state))
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
        let (content, finish) = serde_json::from_str::<Completion>(&text)
            .ok()
            .and_then(|c| c.choices.into_iter().next())
            .and_then(|choice| Some((choice.message.content?, choice.finish_reason)))
            .ok_or_else(|| {
                ProviderError(format!(
                    "the LLM provider at {} answered with JSON that is not a chat completion",
                    self.endpoint
                ))
            })?;
        let mut deltas = Vec::new();
        if !content.is_empty() {
            deltas.push(Ok(Delta::Text(content)));
        }
        // A whole completion is finished by definition; only the reason can differ.
        let finish = finish_reason(finish.as_ref()).unwrap_or(FinishReason::Stop);
        deltas.push(Ok(Delta::End(finish)));
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

/// One streamed reply being read: the body, the events read from it but not handed on
/// yet, and the finish reason once a chunk gave one.
struct Reading<S> {
    bytes: Pin<Box<S>>,
    reader: EventReader,
    events: VecDeque<String>,
    finish: Option<FinishReason>,
    /// Set once the end or an error was yielded: nothing follows them.
    over: bool,
    endpoint: String,
    idle: Duration,
}

impl<S, B> Reading<S>
where
    S: Stream<Item = Result<B, reqwest::Error>>,
    B: AsRef<[u8]>,
{
    /// The next text, the end, or why there is neither.
    async fn next_delta(&mut self) -> Result<Delta, ProviderError> {
        let endpoint = &self.endpoint;
        loop {
            while let Some(data) = self.events.pop_front() {
                match parse_chunk(&data) {
                    Chunk::Done => {
                        return Ok(Delta::End(self.finish.unwrap_or(FinishReason::Stop)));
                    }
                    Chunk::Error(message) => {
                        return Err(ProviderError(format!(
                            "the LLM provider reported an error mid-stream: {message}"
                        )));
                    }
                    Chunk::Part { text, finish } => {
                        self.finish = strongest(self.finish, finish);
                        if !text.is_empty() {
                            return Ok(Delta::Text(text));
                        }
                    }
                }
            }
            // The silence is timed on the bytes, not on events, so a provider that is
            // sending is never reported silent.
            let next = tokio::time::timeout(self.idle, self.bytes.next()).await;
            let cut_off = match next {
                Ok(Some(Ok(piece))) => {
                    self.reader.feed(piece.as_ref(), &mut self.events).map_err(
                        |ReadError::EventTooLarge(cap)| {
                            ProviderError(format!(
                                "the LLM provider at {endpoint} sent an event larger than the \
                                 {} limit (max_event_bytes)",
                                describe_size(cap)
                            ))
                        },
                    )?;
                    continue;
                }
                Err(_) => format!(
                    "the LLM provider at {endpoint} sent no data for {} s",
                    self.idle.as_secs()
                ),
                Ok(None) => format!(
                    "the LLM provider at {endpoint} closed the stream before the reply was \
                     finished"
                ),
                Ok(Some(Err(e))) => format!(
                    "the connection to the LLM provider at {endpoint} broke: {}",
                    root_cause(&e)
                ),
            };
            // After a finish_reason only `[DONE]` or usage can follow: the reply is whole.
            return match self.finish {
                Some(reason) => Ok(Delta::End(reason)),
                None => Err(ProviderError(cut_off)),
            };
        }
    }
}

/// Of two finish reasons, the one to report: a cut anywhere makes the reply cut.
fn strongest(earlier: Option<FinishReason>, later: Option<FinishReason>) -> Option<FinishReason> {
    match (earlier, later) {
        (Some(FinishReason::Length), _) | (_, Some(FinishReason::Length)) => {
            Some(FinishReason::Length)
        }
        (earlier, later) => later.or(earlier),
    }
}

/// A byte count as a person would write it: `1 MiB`, `64 KiB`, `1000 bytes`.
fn describe_size(bytes: usize) -> String {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    match bytes {
        0 => "0 bytes".to_string(),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
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
    /// The chunk's text (empty for role-only, usage-only and reasoning chunks) and the
    /// `finish_reason` it gave, if any.
    Part {
        text: String,
        finish: Option<FinishReason>,
    },
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
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkDelta {
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
    #[serde(default)]
    finish_reason: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct CompletionMessage {
    #[serde(default)]
    content: Option<String>,
}

/// `"length"` is the token limit; any other reason (`stop`, `content_filter`,
/// `tool_calls`, or one this code does not know) ends the reply as finished. Null and
/// `""` (which some servers send on every chunk) are no reason.
fn finish_reason(value: Option<&serde_json::Value>) -> Option<FinishReason> {
    match value? {
        serde_json::Value::Null => None,
        serde_json::Value::String(reason) if reason.is_empty() => None,
        serde_json::Value::String(reason) if reason == "length" => Some(FinishReason::Length),
        _ => Some(FinishReason::Stop),
    }
}

fn parse_chunk(data: &str) -> Chunk {
    let data = data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    if data.is_empty() || data == "null" {
        return Chunk::Part {
            text: String::new(),
            finish: None,
        };
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
    let mut text = String::new();
    let mut finish = None;
    for choice in chunk.choices.unwrap_or_default() {
        if let Some(content) = choice.delta.and_then(|d| d.content) {
            text.push_str(&content);
        }
        // chatd asks for one choice; should a server send more, a cut one counts.
        finish = strongest(finish, finish_reason(choice.finish_reason.as_ref()));
    }
    Chunk::Part { text, finish }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Chunk {
        Chunk::Part {
            text: text.into(),
            finish: None,
        }
    }

    #[test]
    fn chunks_without_content_are_skipped() {
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
            text("")
        );
        assert_eq!(parse_chunk(r#"{"choices":[]}"#), text(""));
        assert_eq!(
            parse_chunk(r#"{"choices":null,"usage":{"total_tokens":3}}"#),
            text("")
        );
        assert_eq!(
            parse_chunk(r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#),
            text("")
        );
        assert_eq!(parse_chunk("null"), text(""));
    }

    #[test]
    fn content_done_finish_reasons_and_errors_are_recognised() {
        assert_eq!(
            parse_chunk(
                r#"{"choices":[{"delta":{"content":" sky"},"index":0,"finish_reason":null}]}"#
            ),
            text(" sky")
        );
        assert_eq!(parse_chunk("[DONE]"), Chunk::Done);
        assert_eq!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Chunk::Error("overloaded".into())
        );
        assert!(matches!(parse_chunk("{not json"), Chunk::Error(_)));
        for (reason, finish) in [
            ("\"stop\"", FinishReason::Stop),
            ("\"length\"", FinishReason::Length),
            ("\"content_filter\"", FinishReason::Stop),
            ("\"tool_calls\"", FinishReason::Stop),
            ("7", FinishReason::Stop),
        ] {
            let data = format!(
                r#"{{"choices":[{{"delta":{{"content":"!"}},"finish_reason":{reason}}}]}}"#
            );
            assert_eq!(
                parse_chunk(&data),
                Chunk::Part {
                    text: "!".into(),
                    finish: Some(finish)
                },
                "{reason}"
            );
        }
    }

    /// What the provider makes of an upstream body arriving in these pieces.
    fn read_bytes(
        pieces: Vec<Vec<u8>>,
        max_event_bytes: usize,
    ) -> Vec<Result<Delta, ProviderError>> {
        let provider = OpenAiProvider::new(
            "http://127.0.0.1:9/v1",
            "m".into(),
            None,
            Duration::from_secs(1),
            Duration::from_secs(60),
            max_event_bytes,
        )
        .unwrap();
        let pieces = pieces.into_iter().map(Ok::<_, reqwest::Error>);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(
            provider
                .deltas(futures_util::stream::iter(pieces))
                .collect(),
        )
    }

    fn read(pieces: &[&str], max_event_bytes: usize) -> Vec<Result<Delta, ProviderError>> {
        read_bytes(
            pieces.iter().map(|p| p.as_bytes().to_vec()).collect(),
            max_event_bytes,
        )
    }

    fn event(content: &str, finish_reason: &str) -> String {
        let chunk = json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}]});
        format!("data: {chunk}\n\n")
    }

    fn event_without_finish(content: &str) -> String {
        let chunk = json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
        format!("data: {chunk}\n\n")
    }

    fn texts(texts: &[&str]) -> Vec<Result<Delta, ProviderError>> {
        texts
            .iter()
            .map(|t| Ok(Delta::Text(t.to_string())))
            .collect()
    }

    #[test]
    fn a_reply_ends_at_done_or_at_a_finish_reason_and_fails_at_an_early_close() {
        let a = event_without_finish("a");
        let b = event_without_finish("b");
        let end = |reason| Ok(Delta::End(reason));

        let mut expected = texts(&["a", "b"]);
        expected.push(end(FinishReason::Stop));
        assert_eq!(read(&[&a, &b, "data: [DONE]\n\n"], 1 << 20), expected);

        // Older llama.cpp: a finish_reason, then the body closes without [DONE]; a
        // usage chunk or a last event cut off may come between.
        let stop = event("", "stop");
        let usage = "data: {\"choices\":[],\"usage\":{\"total_tokens\":9}}\n\n";
        assert_eq!(read(&[&a, &b, &stop], 1 << 20), expected);
        assert_eq!(read(&[&a, &stop, &b, usage], 1 << 20), expected);
        assert_eq!(read(&[&a, &b, &stop, "data: {cut"], 1 << 20), expected);
        // `""` is no reason: servers that send it on every chunk are not cut short.
        let no_reason = read(&[&event("a", ""), &event("b", "")], 1 << 20);
        assert_eq!(no_reason[..2], texts(&["a", "b"]));
        assert!(no_reason[2].is_err(), "{no_reason:?}");

        let mut cut = texts(&["a"]);
        cut.push(end(FinishReason::Length));
        assert_eq!(read(&[&a, &event("", "length")], 1 << 20), cut);
        let mut cut = texts(&["a", "b"]);
        cut.push(end(FinishReason::Length));
        assert_eq!(read(&[&a, &event("b", "length")], 1 << 20), cut);

        let closed = read(&[&a, &b], 1 << 20);
        assert_eq!(closed[..2], texts(&["a", "b"]));
        let Err(error) = &closed[2] else {
            panic!("{closed:?}")
        };
        assert_eq!(
            error.0,
            "the LLM provider at http://127.0.0.1:9/v1/chat/completions closed the stream \
             before the reply was finished"
        );
        assert_eq!(closed.len(), 3, "nothing follows an error");
        assert!(matches!(&read(&[], 1 << 20)[..], [Err(_)]));
    }

    #[test]
    fn an_event_past_the_cap_fails_the_reply() {
        let a = event_without_finish("a");
        let big = event_without_finish(&"x".repeat(2000));
        let cap = big.trim_end().len();
        let mut expected = texts(&["a", &"x".repeat(2000)]);
        expected.push(Ok(Delta::End(FinishReason::Stop)));
        assert_eq!(read(&[&a, &big, "data: [DONE]\n\n"], cap), expected);

        let over = event_without_finish(&"x".repeat(2001));
        let read_over = read(&[&a, &over[..1000], &over[1000..]], cap);
        assert_eq!(read_over[0], Ok(Delta::Text("a".into())));
        let Err(error) = &read_over[1] else {
            panic!("{read_over:?}")
        };
        assert!(
            error.0.ends_with(&format!(
                "sent an event larger than the {cap} bytes limit (max_event_bytes)"
            )),
            "{error}"
        );
        assert_eq!(read_over.len(), 2);
    }

    #[test]
    fn sizes_are_described_in_the_largest_whole_unit() {
        assert_eq!(describe_size(1 << 20), "1 MiB");
        assert_eq!(describe_size(16 << 20), "16 MiB");
        assert_eq!(describe_size(64 << 10), "64 KiB");
        assert_eq!(describe_size(1000), "1000 bytes");
    }

    proptest::proptest! {
        /// For any deltas, the upstream's SSE (split at any byte) read by the provider,
        /// normalised, framed as chatd frames them and parsed again by a conforming
        /// parser (eventsource-stream), gives back the deltas' text.
        #[test]
        fn any_deltas_survive_parsing_and_framing(
            deltas in proptest::collection::vec(
                proptest::string::string_regex("[a-z \\n\\r\\t:é😀中]{0,6}").unwrap(), 0..20),
            split in 1usize..50,
        ) {
            use eventsource_stream::Eventsource;
            let mut upstream = String::new();
            for delta in &deltas {
                upstream.push_str(&event_without_finish(delta));
            }
            upstream.push_str("data: [DONE]\n\n");
            let pieces = upstream.as_bytes().chunks(split).map(<[u8]>::to_vec).collect();
            let read = read_bytes(pieces, 1 << 20);
            proptest::prop_assert_eq!(read.last(), Some(&Ok(Delta::End(FinishReason::Stop))));
            let mut normalizer = common::sse::LineBreakNormalizer::default();
            let mut framed = String::new();
            let mut sent = String::new();
            for delta in read {
                let Ok(Delta::Text(delta)) = delta else { continue };
                let delta = normalizer.normalize(&delta);
                if !delta.is_empty() {
                    common::sse::push_data_event(&mut framed, &delta);
                    sent.push_str(&delta);
                }
            }
            let expected = deltas.concat().replace("\r\n", "\n").replace('\r', "\n");
            proptest::prop_assert_eq!(&sent, &expected);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
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
