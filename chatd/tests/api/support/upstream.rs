//! A fake OpenAI-compatible upstream on 127.0.0.1 that records what it was sent and
//! answers as each test tells it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warp::Filter;

use super::Daemon;

/// How the fake upstream answers `POST /v1/chat/completions`.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// Streams `tokens` as chunks, `delay` apart, then a chunk with this
    /// `finish_reason` if there is one, then `[DONE]` if `done`, and closes.
    Stream {
        tokens: Vec<String>,
        delay: Duration,
        finish_reason: Option<&'static str>,
        done: bool,
    },
    /// Streams `tokens`, then an `error` object, then closes.
    ErrorAfter {
        tokens: Vec<String>,
        message: String,
    },
    /// Streams `tokens`, then stays silent with the connection open.
    StallAfter { tokens: Vec<String> },
    /// Answers with a status, a JSON body and optional headers.
    Status {
        code: u16,
        body: Value,
        retry_after: Option<u32>,
    },
    /// Sends the raw chunk data lines given, each as one SSE event, then `[DONE]`.
    RawChunks(Vec<String>),
    /// Answers 200 with this content type and body, whatever they are.
    Body {
        content_type: &'static str,
        body: String,
    },
    /// Sends these bytes as they are, each piece `delay` after the one before, then closes.
    Raw {
        pieces: Vec<String>,
        delay: Duration,
    },
    /// Streams `tokens`, then starts an event and never ends its line: 64 KiB pieces
    /// without a line break until chatd hangs up (or 256 MiB, so the test is bounded).
    EndlessLineAfter { tokens: Vec<String> },
    /// Answers chatd's title requests (see [`is_title_request`]) as `title` says, each
    /// once `gate` gives it a permit if there is a gate, and every other request as
    /// `chat` says.
    Titling {
        chat: Box<Upstream>,
        title: Box<Upstream>,
        gate: Option<Arc<tokio::sync::Semaphore>>,
    },
    /// A reasoning model as the servers that report everything send it: every chunk
    /// names `model`; `reasoning` deltas (as `reasoning_content`, or as `reasoning`
    /// when `reasoning_field` says so), then `tokens` as content, a chunk with
    /// `finish_reason`, a usage chunk (when the request asked for it with
    /// `stream_options.include_usage`), then `[DONE]`; `delay` before each delta.
    Thinking {
        delay: Duration,
        model: String,
        reasoning_field: &'static str,
        reasoning: Vec<String>,
        tokens: Vec<String>,
        finish_reason: &'static str,
        prompt_tokens: i64,
        completion_tokens: i64,
    },
}

/// What the fake upstream does besides its chat completions.
#[derive(Debug, Clone, Default)]
pub struct Serving {
    /// Answers a request carrying `stream_options` with a 400 naming it, as older
    /// llama.cpp and vLLM builds do.
    pub refuse_stream_options: bool,
    /// Answers `GET /v1/models` with these ids; `None`: 404, as servers without it.
    pub models: Option<Vec<String>>,
}

impl Upstream {
    pub fn tokens(tokens: &[&str]) -> Upstream {
        Upstream::Stream {
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            delay: Duration::ZERO,
            finish_reason: Some("stop"),
            done: true,
        }
    }
}

/// What the fake upstream was sent: the `Authorization` header and the JSON body.
pub type Recorded = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A fake OpenAI-compatible server on 127.0.0.1 that records what it was sent.
pub struct FakeUpstream {
    pub base_url: String,
    pub requests: Recorded,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn chunk(content: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
}

/// Whether chatd sent this body to make a title: its system message asks for one.
pub fn is_title_request(body: &Value) -> bool {
    let first = &body["messages"][0];
    first["role"] == "system"
        && first["content"]
            .as_str()
            .is_some_and(|text| text.starts_with("Write a title"))
}

fn sse(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

impl FakeUpstream {
    pub async fn start(behaviour: Upstream) -> FakeUpstream {
        FakeUpstream::start_serving(behaviour, Serving::default()).await
    }

    pub async fn start_serving(behaviour: Upstream, serving: Serving) -> FakeUpstream {
        let requests: Recorded = Arc::default();
        let recorded = requests.clone();
        let refuse_stream_options = serving.refuse_stream_options;
        let chat = warp::post()
            .and(warp::path!("v1" / "chat" / "completions"))
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::json())
            .then(move |auth: Option<String>, body: Value| {
                let (chosen, gate): (&Upstream, _) = match &behaviour {
                    Upstream::Titling { title, gate, .. } if is_title_request(&body) => {
                        (&**title, gate.clone())
                    }
                    Upstream::Titling { chat, .. } => (&**chat, None),
                    other => (other, None),
                };
                let behaviour = chosen.clone();
                let asks_usage = body.get("stream_options").is_some();
                recorded.lock().expect("requests lock").push((auth, body));
                async move {
                    if let Some(gate) = gate {
                        gate.acquire().await.expect("the gate stays open").forget();
                    }
                    if refuse_stream_options && asks_usage {
                        let refusal = json!({"error": {"message": "Unrecognized request argument supplied: stream_options", "type": "invalid_request_error"}});
                        return respond(
                            Upstream::Status {
                                code: 400,
                                body: refusal,
                                retry_after: None,
                            },
                            false,
                        );
                    }
                    respond(behaviour, asks_usage)
                }
            });
        let models = serving.models.clone();
        let list = warp::get().and(warp::path!("v1" / "models")).map(move || {
            use warp::Reply;
            match &models {
                Some(ids) => {
                    let data: Vec<Value> = ids
                        .iter()
                        .map(|id| json!({"id": id, "object": "model", "owned_by": "test"}))
                        .collect();
                    warp::reply::json(&json!({"object": "list", "data": data})).into_response()
                }
                None => warp::reply::with_status(
                    warp::reply::json(&json!({"error": "not found"})),
                    warp::http::StatusCode::NOT_FOUND,
                )
                .into_response(),
            }
        });
        let route = chat.or(list);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(route)
                .incoming(listener)
                .graceful(async {
                    let _ = stopped.await;
                })
                .run(),
        );
        FakeUpstream {
            base_url: format!("http://{addr}/v1"),
            requests,
            stop: Some(stop),
        }
    }

    /// The JSON bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .expect("requests lock")
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.requests
            .lock()
            .expect("requests lock")
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }
}

/// The answer to one chat completion; `asks_usage`: the request had `stream_options`.
fn respond(behaviour: Upstream, asks_usage: bool) -> warp::reply::Response {
    use warp::Reply;
    if let Upstream::Status {
        code,
        body,
        retry_after,
    } = &behaviour
    {
        let mut response = warp::reply::with_status(
            warp::reply::json(body),
            warp::http::StatusCode::from_u16(*code).expect("status code"),
        )
        .into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().expect("header"));
        }
        return response;
    }
    if let Upstream::Body { content_type, body } = &behaviour {
        let mut response = warp::reply::Response::new(body.clone().into());
        response
            .headers_mut()
            .insert("content-type", content_type.parse().expect("header"));
        return response;
    }
    let (frames, mut receiver) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    tokio::spawn(async move {
        // A role-only chunk first, as real servers send.
        let role = json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}).to_string();
        if frames.send(Ok(sse(&role))).await.is_err() {
            return;
        }
        match behaviour {
            Upstream::Stream {
                tokens,
                delay,
                finish_reason,
                done,
            } => {
                for token in tokens {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if frames.send(Ok(sse(&chunk(&token)))).await.is_err() {
                        return;
                    }
                }
                if let Some(reason) = finish_reason {
                    let last =
                        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
                    let _ = frames.send(Ok(sse(&last.to_string()))).await;
                }
                if done {
                    let _ = frames.send(Ok(sse("[DONE]"))).await;
                }
            }
            Upstream::ErrorAfter { tokens, message } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                let error = json!({"error": {"message": message, "type": "server_error"}});
                let _ = frames.send(Ok(sse(&error.to_string()))).await;
            }
            Upstream::StallAfter { tokens } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                // Hold the connection open, silent, until chatd gives up on it.
                frames.closed().await;
            }
            Upstream::RawChunks(lines) => {
                for line in lines {
                    let _ = frames.send(Ok(sse(&line))).await;
                }
                let _ = frames.send(Ok(sse("[DONE]"))).await;
            }
            Upstream::Raw { pieces, delay } => {
                for piece in pieces {
                    tokio::time::sleep(delay).await;
                    if frames.send(Ok(Bytes::from(piece))).await.is_err() {
                        return;
                    }
                }
            }
            Upstream::EndlessLineAfter { tokens } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                let piece = Bytes::from(vec![b'x'; 64 << 10]);
                let _ = frames.send(Ok(Bytes::from_static(b"data: "))).await;
                for _ in 0..(256 << 20) / piece.len() {
                    if frames.send(Ok(piece.clone())).await.is_err() {
                        return;
                    }
                }
            }
            Upstream::Thinking {
                delay,
                model,
                reasoning_field,
                reasoning,
                tokens,
                finish_reason,
                prompt_tokens,
                completion_tokens,
            } => {
                let delta = |field: &str, text: &str| {
                    json!({"model": model, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {field: text}, "finish_reason": null}]})
                    .to_string()
                };
                let deltas = reasoning
                    .iter()
                    .map(|thought| delta(reasoning_field, thought))
                    .chain(tokens.iter().map(|token| delta("content", token)));
                for data in deltas {
                    tokio::time::sleep(delay).await;
                    if frames.send(Ok(sse(&data))).await.is_err() {
                        return;
                    }
                }
                let last = json!({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]});
                let _ = frames.send(Ok(sse(&last.to_string()))).await;
                if asks_usage {
                    let usage = json!({"model": model, "choices": [], "usage": {
                        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens}});
                    let _ = frames.send(Ok(sse(&usage.to_string()))).await;
                }
                let _ = frames.send(Ok(sse("[DONE]"))).await;
            }
            Upstream::Status { .. } | Upstream::Body { .. } | Upstream::Titling { .. } => {}
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    let mut response = warp::reply::stream(body).into_response();
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().expect("header"));
    response
}

/// chatd pointed at a fake upstream, with a short idle timeout.
pub async fn daemon_for(upstream: &FakeUpstream, extra: &[&str]) -> Daemon {
    let mut args = vec![
        "--provider",
        "openai",
        "--openai-base-url",
        upstream.base_url.as_str(),
        "--model",
        "fake-model",
        "--idle-timeout-secs",
        "2",
        "--connect-timeout-secs",
        "2",
    ];
    args.extend_from_slice(extra);
    Daemon::start_with(&args).await
}
