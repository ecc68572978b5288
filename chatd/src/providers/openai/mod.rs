//! A client for any OpenAI-compatible `POST {base}/chat/completions` with
//! `stream: true`, and its `GET {base}/models` (`models.rs`). Chunks are read by
//! `reading.rs` (one event bounded in size, read in linear time, every silence bounded)
//! and `chunks.rs` (text, reasoning, finish reason, model and usage).
//!
//! Token counts are asked for with `stream_options: {"include_usage": true}`. Some
//! servers refuse that field (older llama.cpp and vLLM builds, strict proxies): a
//! refusal that names it, or a plain 400/422 before the field was ever accepted, is
//! retried once without it, and when the retry is answered the provider is remembered
//! as one that refuses it, so later replies go without it and without the retry.

mod chunks;
mod models;
mod reading;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Delta, DeltaStream, Ending, FinishReason, ProviderError, ReplyRequest};

/// What goes into a provider's error text from a response body, at the most.
const ERROR_BODY_LIMIT: usize = 300;

/// Whether a provider takes `stream_options` (see the module's comment).
const USAGE_UNKNOWN: u8 = 0;
const USAGE_ACCEPTED: u8 = 1;
const USAGE_REFUSED: u8 = 2;

#[derive(Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    base_url: String,
    endpoint: String,
    /// `endpoint` parsed once: reqwest parses a URL given as text on every request,
    /// which was 6% of a reply task's CPU.
    endpoint_url: reqwest::Url,
    api_key: Option<String>,
    /// Sent with every request; may hold secrets, so never shown.
    headers: HeaderMap,
    /// What a 401 tells the user to fix: where this provider's key comes from.
    key_hint: String,
    idle_timeout: Duration,
    max_event_bytes: usize,
    /// `USAGE_*`, shared by the clones of this provider.
    usage_option: Arc<AtomicU8>,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("OpenAiProvider")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("headers (values redacted)", &header_names)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_event_bytes", &self.max_event_bytes)
            .finish()
    }
}

/// Idle keep-alive connections kept per upstream host, and for how long.
const UPSTREAM_IDLE_CONNECTIONS: usize = 32;
const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach one OpenAI-compatible server.
#[derive(Clone, Default)]
pub struct OpenAiSettings {
    pub base_url: String,
    pub api_key: Option<String>,
    /// Extra headers sent with every request (name, value).
    pub headers: Vec<(String, String)>,
    /// Where the key comes from, for the 401's advice, e.g. `OPENAI_API_KEY`.
    pub key_source: String,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_event_bytes: usize,
}

impl OpenAiProvider {
    pub fn new(settings: OpenAiSettings) -> Result<Self, String> {
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            // reqwest keeps every idle connection for 90 s by default, each with the
            // read buffer it grew to (up to ~400 kB for long chunks): after a burst of
            // 500 replies, 360 idle connections held 65 MB of chatd's memory. A few
            // dozen idle connections serve a steady load, as each finished reply's
            // connection is taken again by the next; the rest are closed.
            .pool_max_idle_per_host(UPSTREAM_IDLE_CONNECTIONS)
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let endpoint = format!("{base_url}/chat/completions");
        let endpoint_url = reqwest::Url::parse(&endpoint)
            .map_err(|e| format!("invalid OpenAI base URL {:?}: {e}", settings.base_url))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &settings.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a valid HTTP header name"))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header {name:?} is not valid in HTTP"))?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        Ok(OpenAiProvider {
            client,
            base_url,
            endpoint,
            endpoint_url,
            api_key: settings.api_key.filter(|key| !key.is_empty()),
            headers,
            key_hint: settings.key_source,
            idle_timeout: settings.idle_timeout,
            max_event_bytes: settings.max_event_bytes,
            usage_option: Arc::default(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A request to this provider, with its key and extra headers.
    fn request(
        &self,
        method: reqwest::Method,
        url: impl reqwest::IntoUrl,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, url)
            .headers(self.headers.clone());
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        request
    }

    fn body(request: &ReplyRequest, with_usage: bool) -> CompletionBody<'_> {
        CompletionBody {
            request,
            with_usage,
        }
    }

    async fn send(&self, body: &CompletionBody<'_>) -> Result<reqwest::Response, ProviderError> {
        let request = self
            .request(reqwest::Method::POST, self.endpoint_url.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(body);
        tokio::time::timeout(self.idle_timeout, request.send())
            .await
            .map_err(|_| self.silence_error())?
            .map_err(|e| self.send_error(&e))
    }

    pub async fn stream(&self, request: ReplyRequest) -> Result<DeltaStream, ProviderError> {
        let state = self.usage_option.load(Ordering::Relaxed);
        let with_usage = state != USAGE_REFUSED;
        let mut response = self.send(&Self::body(&request, with_usage)).await?;
        let status = response.status();
        if !status.is_success() {
            let refusal = Refusal::read(response).await;
            if with_usage && refusal.may_be_about_usage(state == USAGE_UNKNOWN) {
                response = self.send(&Self::body(&request, false)).await?;
                if !response.status().is_success() {
                    return Err(self.status_error(Refusal::read(response).await, &request.model));
                }
                tracing::info!(
                    "the LLM provider at {} refused stream_options; its replies go without \
                     token counts from now on",
                    self.endpoint
                );
                self.usage_option.store(USAGE_REFUSED, Ordering::Relaxed);
            } else {
                return Err(self.status_error(refusal, &request.model));
            }
        } else if with_usage && state == USAGE_UNKNOWN {
            self.usage_option.store(USAGE_ACCEPTED, Ordering::Relaxed);
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
        Ok(reading::deltas(
            response.bytes_stream(),
            self.endpoint.clone(),
            self.idle_timeout,
            self.max_event_bytes,
        ))
    }

    async fn whole_completion(
        &self,
        response: reqwest::Response,
    ) -> Result<DeltaStream, ProviderError> {
        let text = tokio::time::timeout(self.idle_timeout, response.text())
            .await
            .map_err(|_| self.silence_error())?
            .map_err(|e| self.send_error(&e))?;
        let mut part = chunks::parse_completion(&text).ok_or_else(|| {
            ProviderError(format!(
                "the LLM provider at {} answered with JSON that is not a chat completion",
                self.endpoint
            ))
        })?;
        // A whole completion is finished by definition; only the reason can differ.
        let ending = Ending {
            reason: part.finish.take().unwrap_or(FinishReason::Stop),
            said: part.said.take(),
        };
        let mut deltas = std::collections::VecDeque::new();
        reading::part_deltas(part, &mut None, &mut deltas);
        deltas.push_back(Delta::End(ending));
        Ok(futures_util::stream::iter(deltas.into_iter().map(Ok)).boxed())
    }

    fn silence_error(&self) -> ProviderError {
        ProviderError(format!(
            "the LLM provider at {} did not answer within {} s (timeout)",
            self.endpoint,
            self.idle_timeout.as_secs()
        ))
    }

    fn send_error(&self, error: &reqwest::Error) -> ProviderError {
        ProviderError(format!(
            "could not reach the LLM provider at {}: {}",
            self.endpoint,
            send_cause(error)
        ))
    }

    fn status_error(&self, refusal: Refusal, model: &str) -> ProviderError {
        let Refusal {
            status,
            retry_after,
            body,
        } = refusal;
        let message = provider_message(&body);
        let mut text = match status {
            401 => format!(
                "the LLM provider rejected the API key (HTTP 401): set {} to a valid key",
                self.key_hint
            ),
            403 => "the LLM provider refused access (HTTP 403)".to_string(),
            404 => format!(
                "the LLM provider has no such endpoint or model (HTTP 404) at {}, asked for \
                 model {model:?}",
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

/// A response that was not a success, read (its body bounded in time).
struct Refusal {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Refusal {
    async fn read(response: reqwest::Response) -> Refusal {
        let status = response.status().as_u16();
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
        Refusal {
            status,
            retry_after,
            body,
        }
    }

    /// Whether this may refuse `stream_options`: a client error (other than a refused
    /// key, a missing endpoint or a rate limit) that names it, or, while the provider
    /// has never taken the field, any 400 or 422 (servers that refuse unknown fields do
    /// not always say which).
    fn may_be_about_usage(&self, never_accepted: bool) -> bool {
        (400..500).contains(&self.status)
            && !matches!(self.status, 401 | 403 | 404 | 429)
            && (self.body.contains("stream_options")
                || (never_accepted && matches!(self.status, 400 | 422)))
    }
}

/// Why a request did not get an answer, in a few words.
fn send_cause(error: &reqwest::Error) -> String {
    if error.is_connect() {
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

#[cfg(test)]
mod tests;

/// A chat completion request's JSON, written straight from the reply request. Built as
/// a `serde_json::Value` first, every message of the history was copied twice more
/// before it was sent: 11% of a reply task's CPU with three short messages, more the
/// longer the conversation.
struct CompletionBody<'a> {
    request: &'a ReplyRequest,
    with_usage: bool,
}

impl CompletionBody<'_> {
    /// Whether chatd writes `name` itself, so a relayed field of that name is left out:
    /// chatd's model and messages always, its params and usage option when it has them.
    fn writes(&self, name: &str) -> bool {
        let params = &self.request.params;
        match name {
            "model" | "messages" | "stream" => true,
            "stream_options" => self.with_usage,
            "temperature" => params.temperature.is_some(),
            "top_p" => params.top_p.is_some(),
            "max_tokens" => params.max_tokens.is_some(),
            "seed" => params.seed.is_some(),
            _ => false,
        }
    }
}

impl serde::Serialize for CompletionBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let request = self.request;
        let params = &request.params;
        let mut body = serializer.serialize_map(None)?;
        body.serialize_entry("model", &request.model)?;
        body.serialize_entry("messages", &CompletionMessages(request))?;
        body.serialize_entry("stream", &true)?;
        if let Some(relayed) = &request.relayed {
            for (name, value) in &relayed.fields {
                if !self.writes(name) {
                    body.serialize_entry(name, value)?;
                }
            }
        }
        if self.with_usage {
            #[derive(serde::Serialize)]
            struct StreamOptions {
                include_usage: bool,
            }
            body.serialize_entry(
                "stream_options",
                &StreamOptions {
                    include_usage: true,
                },
            )?;
        }
        if let Some(temperature) = params.temperature {
            body.serialize_entry("temperature", &temperature)?;
        }
        if let Some(top_p) = params.top_p {
            body.serialize_entry("top_p", &top_p)?;
        }
        if let Some(max_tokens) = params.max_tokens {
            body.serialize_entry("max_tokens", &max_tokens)?;
        }
        if let Some(seed) = params.seed {
            body.serialize_entry("seed", &seed)?;
        }
        body.end()
    }
}

/// The request's `messages`: the stored history, or what the front door relayed in
/// place of (the end of) it.
struct CompletionMessages<'a>(&'a ReplyRequest);

impl serde::Serialize for CompletionMessages<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(serde::Serialize)]
        struct Stored<'a> {
            role: &'a str,
            content: &'a str,
        }
        let request = self.0;
        let (stored, relayed): (&[super::Turn], &[serde_json::Value]) = match &request.relayed {
            None => (&request.history, &[]),
            Some(relayed) if relayed.whole => (&[], &relayed.messages),
            Some(relayed) => {
                let kept = request.history.len().saturating_sub(relayed.messages.len());
                (&request.history[..kept], &relayed.messages)
            }
        };
        let mut messages = serializer.serialize_seq(Some(stored.len() + relayed.len()))?;
        for turn in stored {
            messages.serialize_element(&Stored {
                role: turn.role,
                content: &turn.content,
            })?;
        }
        for message in relayed {
            messages.serialize_element(message)?;
        }
        messages.end()
    }
}
